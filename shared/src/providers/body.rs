//! A caller's request body as it arrived: its top-level fields, each value kept as the caller's own JSON
//! text ([`RawValue`]), in the caller's order. What routing needs (`model`, `stream`, the gateway's
//! extension, `max_tokens`...) is read from single fields; a same-format passthrough writes the other fields'
//! text out as it came, so a 100 KB agent conversation is neither built into a `serde_json::Value` tree (an
//! allocation per string, number and object) nor walked again to serialise it. The whole tree is built on
//! first use, once, for the paths that read below the top level (translation to another provider's format,
//! prompt-cache breakpoints, token counting, idempotency).
//!
//! [`RequestBody::from_json`] checks the whole text as `serde_json::Value` parsing would (syntax, nesting
//! depth, number range, string escapes) without allocating, so a body it accepts always builds its tree.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A request body: a JSON object's top-level fields as raw text, or (to be refused by the caller) some
/// other JSON value. A provider's whole answer is kept the same way when it goes to the client in its own
/// format (`AnswerBody`).
#[derive(Clone)]
pub struct RequestBody {
    shape: Shape,
    /// The whole body as a tree, built on first use (and dropped by every change).
    tree: OnceLock<Value>,
}

#[derive(Clone)]
enum Shape {
    /// Field names and their values' text, in the caller's order, each name once (the last one written
    /// wins, as with `serde_json::Value`), and the item counts of the arrays among them.
    Object(Vec<(String, Box<RawValue>)>, Items),
    /// Valid JSON that is not an object.
    Other(Box<RawValue>),
}

impl RequestBody {
    /// Read a body: `Err` (with serde_json's own category: syntax, data or end of input) for anything
    /// `serde_json::from_slice::<Value>` refuses.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        // UTF-8 checked once for the whole text, not string by string in each pass below.
        let Ok(text) = std::str::from_utf8(bytes) else {
            // serde_json's own error for it (it refuses every text that is not UTF-8).
            serde_json::from_slice::<Top>(bytes)?;
            return Err(de::Error::custom("request body is not UTF-8"));
        };
        // Every check a `Value` parse makes, without building anything; it counts the top-level arrays'
        // items on the way.
        let Top(items) = serde_json::from_str::<Top>(text)?;
        let shape = match serde_json::from_str::<Fields>(text) {
            Ok(Fields(fields)) => Shape::Object(last_of_each(fields), items),
            Err(_) => Shape::Other(serde_json::from_str(text)?),
        };
        Ok(Self {
            shape,
            tree: OnceLock::new(),
        })
    }

    /// The body is a JSON object.
    pub fn is_object(&self) -> bool {
        matches!(self.shape, Shape::Object(..))
    }

    fn fields(&self) -> &[(String, Box<RawValue>)] {
        match &self.shape {
            Shape::Object(fields, _) => fields,
            Shape::Other(_) => &[],
        }
    }

    /// A top-level field's text, as the caller wrote it.
    pub fn raw(&self, field: &str) -> Option<&RawValue> {
        self.fields()
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, v)| &**v)
    }

    /// A top-level field, parsed (`None` when absent).
    pub fn get(&self, field: &str) -> Option<Value> {
        self.raw(field).map(parse)
    }

    /// A top-level field that is a JSON string.
    pub fn get_str(&self, field: &str) -> Option<String> {
        self.raw(field)
            .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
    }

    /// A top-level field that is a non-negative integer.
    pub fn get_u64(&self, field: &str) -> Option<u64> {
        self.raw(field)
            .and_then(|raw| serde_json::from_str::<u64>(raw.get()).ok())
    }

    /// The number of items of a top-level array field (`None` when absent or not an array): counted
    /// when the body was read, not read again.
    pub fn array_len(&self, field: &str) -> Option<usize> {
        match &self.shape {
            Shape::Object(_, items) => items.get(field),
            Shape::Other(_) => None,
        }
    }

    /// The top-level fields and their text, in the caller's order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        self.fields()
            .iter()
            .map(|(name, raw)| (name.as_str(), &**raw))
    }

    /// The top-level field names, in the caller's order.
    fn field_names(&self) -> impl Iterator<Item = &str> {
        self.fields().iter().map(|(name, _)| name.as_str())
    }

    /// Whether the body has this top-level field (even as `null`).
    pub fn contains(&self, field: &str) -> bool {
        self.raw(field).is_some()
    }

    /// Take a top-level field out of the body, parsed.
    pub fn remove(&mut self, field: &str) -> Option<Value> {
        let Shape::Object(fields, items) = &mut self.shape else {
            return None;
        };
        let at = fields.iter().position(|(name, _)| name == field)?;
        let (_, raw) = fields.remove(at);
        items.set(field, None);
        self.tree = OnceLock::new();
        Some(parse(&raw))
    }

    /// Set a top-level field (in place when present, else last). No effect on a body that is not an
    /// object.
    pub fn set(&mut self, field: &str, value: &Value) {
        let Shape::Object(fields, items) = &mut self.shape else {
            return;
        };
        let Ok(raw) = serde_json::value::to_raw_value(value) else {
            return;
        };
        items.set(field, value.as_array().map(Vec::len));
        match fields.iter_mut().find(|(name, _)| name == field) {
            Some((_, v)) => *v = raw,
            None => fields.push((field.to_owned(), raw)),
        }
        self.tree = OnceLock::new();
    }

    /// The whole body as a tree: built on the first call.
    pub fn tree(&self) -> &Value {
        self.tree.get_or_init(|| match &self.shape {
            Shape::Object(fields, _) => Value::Object(
                fields
                    .iter()
                    .map(|(name, raw)| (name.clone(), parse(raw)))
                    .collect::<Map<String, Value>>(),
            ),
            Shape::Other(raw) => parse(raw),
        })
    }

    /// Bytes of the body's JSON text as it is written out (its values as the caller wrote them).
    pub fn json_len(&self) -> usize {
        match &self.shape {
            Shape::Object(fields, _) => {
                let punctuation = 2 + fields.len().saturating_sub(1);
                fields
                    .iter()
                    .map(|(name, raw)| json_string_len(name) + 1 + raw.get().len())
                    .sum::<usize>()
                    + punctuation
            }
            Shape::Other(raw) => raw.get().len(),
        }
    }

    /// The body's JSON text (its values as the caller wrote them).
    pub fn to_json_string(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl From<Value> for RequestBody {
    /// A body built here (tests, a body assembled by the gateway).
    fn from(value: Value) -> Self {
        let text = serde_json::to_vec(&value).unwrap_or_default();
        Self::from_json(&text).unwrap_or_else(|_| Self {
            shape: Shape::Object(Vec::new(), Items::default()),
            tree: OnceLock::new(),
        })
    }
}

impl Serialize for RequestBody {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.shape {
            Shape::Other(raw) => raw.serialize(serializer),
            Shape::Object(fields, _) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (name, raw) in fields {
                    map.serialize_entry(name, raw)?;
                }
                map.end()
            }
        }
    }
}

impl fmt::Debug for RequestBody {
    /// The field names and the size only: a body holds the caller's conversation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody")
            .field("fields", &self.field_names().collect::<Vec<_>>())
            .field("bytes", &self.json_len())
            .finish()
    }
}

/// A value that passed [`Checked`] parses; `Null` is only a fallback that cannot be reached.
fn parse(raw: &RawValue) -> Value {
    serde_json::from_str(raw.get()).unwrap_or(Value::Null)
}

/// Bytes of `s` written as a JSON string: counted as serde_json writes it, nothing allocated (a body's
/// length is asked for on every request, by the spend estimate).
fn json_string_len(s: &str) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, s) {
        Ok(()) => count.0,
        Err(_) => s.len() + 2,
    }
}

/// Keep each name once, with its last value where the first one stood (as `serde_json::Value` keeps the
/// last value of a repeated name).
fn last_of_each(fields: Vec<(String, Box<RawValue>)>) -> Vec<(String, Box<RawValue>)> {
    // A body of a few dozen fields (every request and answer in practice): compared in place, without
    // hashing or copying each name.
    if fields.len() <= 32 {
        let mut kept: Vec<(String, Box<RawValue>)> = Vec::with_capacity(fields.len());
        for (name, raw) in fields {
            match kept.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = raw,
                None => kept.push((name, raw)),
            }
        }
        return kept;
    }
    let mut at: std::collections::HashMap<String, usize> =
        std::collections::HashMap::with_capacity(fields.len());
    let mut kept: Vec<(String, Box<RawValue>)> = Vec::with_capacity(fields.len());
    for (name, raw) in fields {
        match at.get(&name) {
            Some(&i) => kept[i].1 = raw,
            None => {
                at.insert(name.clone(), kept.len());
                kept.push((name, raw));
            }
        }
    }
    kept
}

/// A top-level object's fields as raw text.
struct Fields(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    fields.push(entry);
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// The item counts of a body's top-level arrays, by field name.
#[derive(Clone, Default)]
struct Items(Vec<(String, usize)>);

impl Items {
    fn get(&self, field: &str) -> Option<usize> {
        self.0
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, n)| *n)
    }

    /// The field's count is now `items` (`None`: not an array, or gone).
    fn set(&mut self, field: &str, items: Option<usize>) {
        self.0.retain(|(name, _)| name != field);
        if let Some(n) = items {
            self.0.push((field.to_owned(), n));
        }
    }
}

/// A whole body checked as [`Checked`] checks it, with its top-level arrays' items counted (a repeated
/// name counts as its last value, as `serde_json::Value` keeps it).
struct Top(Items);

impl<'de> serde::Deserialize<'de> for Top {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Scalars(|| Top(Items::default()), TopVisitor))
    }
}

struct TopVisitor;

impl TopVisitor {
    fn visit_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Top, A::Error> {
        let mut items = Items::default();
        while let Some(Name(name)) = map.next_key()? {
            let Counted(n) = map.next_value()?;
            items.set(&name, n);
        }
        Ok(Top(items))
    }
}

/// A field name, borrowed from the body's text unless it has escapes (copied only then: most names are
/// not arrays, and their count is not kept).
struct Name<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, name: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(name)))
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(name.to_owned())))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// A value checked as [`Checked`] checks it; `Some(items)` when it is an array.
struct Counted(Option<usize>);

impl<'de> serde::Deserialize<'de> for Counted {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Scalars(|| Counted(None), CountedVisitor))
    }
}

struct CountedVisitor;

/// A visitor that checks every scalar as [`Checked`] does and hands arrays and objects to `C`.
struct Scalars<F, C>(F, C);

/// What a [`Scalars`] visitor does with arrays and objects.
trait Containers<T> {
    fn seq<'de, A: SeqAccess<'de>>(seq: A) -> Result<T, A::Error>;
    fn map<'de, A: MapAccess<'de>>(map: A) -> Result<T, A::Error>;
}

impl Containers<Top> for TopVisitor {
    fn seq<'de, A: SeqAccess<'de>>(seq: A) -> Result<Top, A::Error> {
        CheckedVisitor::seq(seq).map(|_| Top(Items::default()))
    }
    fn map<'de, A: MapAccess<'de>>(map: A) -> Result<Top, A::Error> {
        TopVisitor::visit_map(map)
    }
}

impl Containers<Counted> for CountedVisitor {
    fn seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Counted, A::Error> {
        let mut n = 0;
        while seq.next_element::<Checked>()?.is_some() {
            n += 1;
        }
        Ok(Counted(Some(n)))
    }
    fn map<'de, A: MapAccess<'de>>(map: A) -> Result<Counted, A::Error> {
        CheckedVisitor::map(map).map(|_| Counted(None))
    }
}

impl<'de, T, F: FnOnce() -> T, C: Containers<T>> Visitor<'de> for Scalars<F, C> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<T, E> {
        Ok((self.0)())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<T, E> {
        Ok((self.0)())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<T, E> {
        Ok((self.0)())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<T, E> {
        Ok((self.0)())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<T, E> {
        Ok((self.0)())
    }
    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok((self.0)())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
        C::seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        C::map(map)
    }
}

/// Any JSON value, visited as `serde_json::Value` parsing visits it (so with the same recursion limit and
/// number and string checks), keeping nothing.
struct Checked;

impl<'de> serde::Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Scalars(|| Checked, CheckedVisitor))
    }
}

/// Arrays and objects visited item by item, keeping nothing.
struct CheckedVisitor;

impl Containers<Checked> for CheckedVisitor {
    fn seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Checked, A::Error> {
        while map.next_entry::<IgnoredKey, Checked>()?.is_some() {}
        Ok(Checked)
    }
}

/// An object key, checked as a string (escapes included) and dropped.
struct IgnoredKey;

impl<'de> serde::Deserialize<'de> for IgnoredKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IgnoredKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<IgnoredKey, E> {
                Ok(IgnoredKey)
            }
        }
        deserializer.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(text: &str) -> RequestBody {
        RequestBody::from_json(text.as_bytes()).unwrap()
    }

    #[test]
    fn keeps_each_fields_text_and_order_and_writes_it_back() {
        let text = r#"{"model":"policy/p","messages":[{"role":"user","content":"h\u00e9 \"x\""}],"temperature":1.50,"stream":true}"#;
        let b = body(text);
        assert_eq!(b.to_json_string(), text, "byte for byte, the caller's text");
        assert_eq!(b.json_len(), text.len());
        assert_eq!(
            b.field_names().collect::<Vec<_>>(),
            ["model", "messages", "temperature", "stream"]
        );
        assert_eq!(b.get_str("model").as_deref(), Some("policy/p"));
        assert_eq!(b.get("stream"), Some(json!(true)));
        assert_eq!(b.array_len("messages"), Some(1));
        assert_eq!(b.array_len("model"), None);
        assert_eq!(b.tree(), &serde_json::from_str::<Value>(text).unwrap());
    }

    #[test]
    fn changes_are_seen_by_the_text_and_the_tree() {
        let mut b = body(r#"{"model":"a","byok":{"tags":["t"]},"n":1}"#);
        assert_eq!(b.tree()["model"], "a");
        b.set("model", &json!("openai/gpt-4o"));
        b.set("added", &json!([1]));
        assert_eq!(b.remove("byok"), Some(json!({"tags": ["t"]})));
        assert_eq!(b.remove("absent"), None);
        assert_eq!(
            b.to_json_string(),
            r#"{"model":"openai/gpt-4o","n":1,"added":[1]}"#
        );
        assert_eq!(
            b.tree(),
            &json!({"model": "openai/gpt-4o", "n": 1, "added": [1]})
        );
        assert_eq!(b.array_len("added"), Some(1));
        b.set("added", &json!("no longer an array"));
        assert_eq!(b.array_len("added"), None);
        b.set("added", &json!([1]));
        assert_eq!(b.json_len(), b.to_json_string().len());
    }

    #[test]
    fn a_repeated_name_keeps_its_last_value_as_value_parsing_does() {
        let text = r#"{"a":1,"b":[2],"a":[3,3],"c":{"a":[0]},"b":4}"#;
        let b = body(text);
        assert_eq!((b.array_len("a"), b.array_len("b")), (Some(2), None));
        assert_eq!(b.to_json_string(), r#"{"a":[3,3],"b":4,"c":{"a":[0]}}"#);
        assert_eq!(b.tree(), &serde_json::from_str::<Value>(text).unwrap());
    }

    #[test]
    fn refuses_what_value_parsing_refuses_with_the_same_category() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        let cases: [&[u8]; 10] = [
            b"{\"a\":1",
            b"{\"a\":1}x",
            b"{\"a\":1e400}",
            b"{\"a\":\"\\ud800x\"}",
            b"{\"a\":\"tab\there\"}",
            b"{\"a\":\"\xff\"}",
            b"{\"a\xfe\":1}",
            b"{\"\\q\":1}",
            deep.as_bytes(),
            b"",
        ];
        for text in cases {
            let shown = String::from_utf8_lossy(text);
            let want = serde_json::from_slice::<Value>(text).unwrap_err();
            let got = RequestBody::from_json(text)
                .err()
                .unwrap_or_else(|| panic!("accepted {shown:.40}"));
            assert_eq!(got.classify(), want.classify(), "{shown:.40}");
        }
    }

    #[test]
    fn a_body_that_is_not_an_object_is_kept_as_it_is() {
        for text in ["[1,2]", "\"x\"", "3", "null"] {
            let b = body(text);
            assert!(!b.is_object());
            assert_eq!(b.to_json_string(), text);
            assert_eq!(b.raw("model").map(RawValue::get), None);
            assert_eq!(b.tree(), &serde_json::from_str::<Value>(text).unwrap());
        }
        assert!(body("{}").is_object());
    }

    #[test]
    fn debug_shows_names_and_size_not_content() {
        let b = body(r#"{"messages":[{"content":"secret-ish text"}]}"#);
        let shown = format!("{b:?}");
        assert!(
            shown.contains("messages") && !shown.contains("secret-ish"),
            "{shown}"
        );
    }

    #[test]
    fn built_from_a_value() {
        let v = json!({"model": "m", "input": ["a", "b"]});
        let b = RequestBody::from(v.clone());
        assert_eq!(b.tree(), &v);
        assert_eq!(b.array_len("input"), Some(2));
    }
}
