//! A request body as it goes upstream: the caller's own JSON object with a few top-level fields set or
//! removed (`model`, `stream`, `stream_options`, `reasoning_effort`...), serialised straight from the
//! caller's body. For a same-format passthrough that is the caller's text ([`RequestBody`]): every field
//! but the edited ones is written out as it came, never built into a tree.
//!
//! A change below the top level (Anthropic's automatic cache breakpoints) takes [`Edited::value_mut`],
//! which builds (or copies) the whole body then, and only then.

use std::borrow::Cow;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use super::body::RequestBody;

/// A body and its top-level edits (`None`: removed), applied when serialised.
#[derive(Debug, Clone)]
pub struct Edited<'a> {
    base: Base<'a>,
    edits: Vec<(&'static str, Option<Value>)>,
}

#[derive(Debug, Clone)]
enum Base<'a> {
    /// The caller's body, as its text.
    Raw(&'a RequestBody),
    /// A tree: built here (a translation), or the caller's body once changed below the top level.
    Tree(Cow<'a, Value>),
}

impl<'a> Edited<'a> {
    /// The caller's body, borrowed.
    pub fn of(base: &'a RequestBody) -> Self {
        Self {
            base: Base::Raw(base),
            edits: Vec::new(),
        }
    }

    /// A body built here (a translation).
    pub fn owned(base: Value) -> Edited<'static> {
        Edited {
            base: Base::Tree(Cow::Owned(base)),
            edits: Vec::new(),
        }
    }

    fn edit(&self, field: &str) -> Option<&Option<Value>> {
        self.edits.iter().find(|(f, _)| *f == field).map(|(_, v)| v)
    }

    fn is_object(&self) -> bool {
        match &self.base {
            Base::Raw(body) => body.is_object(),
            Base::Tree(tree) => tree.is_object(),
        }
    }

    /// The body as the caller sent it (or as translated), without the top-level edits.
    pub fn unedited(&self) -> &Value {
        match &self.base {
            Base::Raw(body) => body.tree(),
            Base::Tree(tree) => tree,
        }
    }

    /// The field as it will be sent.
    pub fn get(&self, field: &str) -> Option<Cow<'_, Value>> {
        match self.edit(field) {
            Some(edited) => edited.as_ref().map(Cow::Borrowed),
            None => match &self.base {
                Base::Raw(body) => body.get(field).map(Cow::Owned),
                Base::Tree(tree) => tree.get(field).map(Cow::Borrowed),
            },
        }
    }

    fn put(&mut self, field: &'static str, value: Option<Value>) {
        if !self.is_object() {
            return;
        }
        match self.edits.iter_mut().find(|(f, _)| *f == field) {
            Some((_, v)) => *v = value,
            None => self.edits.push((field, value)),
        }
    }

    /// Send `field` as `value` (a body that is not an object is sent as it is).
    pub fn set(&mut self, field: &'static str, value: impl Into<Value>) {
        self.put(field, Some(value.into()));
    }

    /// Send the body without `field`.
    pub fn remove(&mut self, field: &'static str) {
        self.put(field, None);
    }

    /// The whole body to change below the top level: built (or copied) now, with the edits applied.
    pub fn value_mut(&mut self) -> &mut Value {
        if let Base::Raw(body) = self.base {
            self.base = Base::Tree(Cow::Owned(body.tree().clone()));
        }
        let Base::Tree(tree) = &mut self.base else {
            unreachable!("made a tree just above")
        };
        let body = tree.to_mut();
        if let Some(obj) = body.as_object_mut() {
            for (field, value) in self.edits.drain(..) {
                match value {
                    Some(v) => obj.insert(field.to_owned(), v),
                    None => obj.remove(field),
                };
            }
        }
        body
    }

    fn serialize_fields<'f, S: Serializer, V: Serialize + ?Sized + 'f>(
        &self,
        serializer: S,
        fields: impl Iterator<Item = (&'f str, &'f V)>,
        has: impl Fn(&str) -> bool,
    ) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (field, value) in fields {
            match self.edit(field) {
                None => map.serialize_entry(field, value)?,
                Some(Some(edited)) => map.serialize_entry(field, edited)?,
                Some(None) => {}
            }
        }
        for (field, value) in &self.edits {
            if let (Some(v), false) = (value, has(field)) {
                map.serialize_entry(field, v)?;
            }
        }
        map.end()
    }
}

impl Serialize for Edited<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.base {
            Base::Raw(body) if body.is_object() => {
                self.serialize_fields(serializer, body.entries(), |f| body.contains(f))
            }
            Base::Raw(body) => body.serialize(serializer),
            Base::Tree(tree) => match tree.as_object() {
                Some(obj) => self.serialize_fields(
                    serializer,
                    obj.iter().map(|(k, v)| (k.as_str(), v)),
                    |f| obj.contains_key(f),
                ),
                None => tree.serialize(serializer),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sent(e: &Edited<'_>) -> Value {
        serde_json::from_slice(&serde_json::to_vec(e).unwrap()).unwrap()
    }

    #[test]
    fn sends_the_body_with_its_edits_and_leaves_the_callers_body_alone() {
        let body = json!({"model": "policy/p", "messages": [{"role": "user", "content": "hi"}], "stop": ["x"], "stream": false});
        let raw = RequestBody::from(body.clone());
        let mut e = Edited::of(&raw);
        e.set("model", "gpt-4o");
        e.set("stream", true);
        e.set("stream_options", json!({"include_usage": true}));
        e.remove("stop");
        e.remove("absent");
        e.set("model", "gpt-4o-mini");
        assert_eq!(e.get("model").as_deref(), Some(&json!("gpt-4o-mini")));
        assert_eq!(e.get("stop"), None);
        assert_eq!(e.get("messages").as_deref(), body.get("messages"));
        let expected = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": true, "stream_options": {"include_usage": true}});
        assert_eq!(sent(&e), expected);
        // The serialised text names each field once.
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(text.matches("\"model\"").count(), 1);
        assert_eq!(text.matches("\"stream\"").count(), 1);
        assert_eq!(body["model"], "policy/p");
        assert_eq!(e.unedited(), &body);
        // A deep change sees the same body.
        let mut deep = e.clone();
        deep.value_mut()["messages"][0]["content"] = json!("changed");
        let mut changed = expected.clone();
        changed["messages"][0]["content"] = json!("changed");
        assert_eq!(sent(&deep), changed);
        assert_eq!(sent(&e), expected);
    }

    #[test]
    fn the_callers_text_goes_as_it_came_but_for_the_edits() {
        let text = r#"{"model":"policy/p","temperature":1.50,"messages":[{"role":"user","content":"caf\u00e9"}],"stop":"x"}"#;
        let raw = RequestBody::from_json(text.as_bytes()).unwrap();
        let mut e = Edited::of(&raw);
        e.set("model", "gpt-4o");
        e.remove("stop");
        e.set("stream", true);
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"model":"gpt-4o","temperature":1.50,"messages":[{"role":"user","content":"caf\u00e9"}],"stream":true}"#
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_goes_as_it_is() {
        let body = json!([1, 2]);
        let raw = RequestBody::from(body.clone());
        let mut e = Edited::of(&raw);
        e.set("model", "m");
        assert_eq!(sent(&e), body);
        assert_eq!(e.get("model"), None);
    }
}
