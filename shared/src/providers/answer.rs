//! A whole answer's body as it goes to the client. An answer in the client's own format (the same
//! provider format, or embeddings) keeps the provider's text: its top-level fields as the provider wrote
//! them ([`RequestBody`]), and the few the gateway rewrites (`model`, and `usage`, which carries the cost)
//! held apart as trees and written in their place, so the answer is neither built into a
//! `serde_json::Value` tree nor walked again to be written out, and `usage` is parsed once. A translated
//! answer is a tree built here.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use super::body::RequestBody;

#[derive(Debug, Clone)]
pub enum AnswerBody {
    /// The provider's answer, as it wrote it but for the rewritten fields.
    Passed(Passed),
    /// Built here (a translation, or an answer assembled from several calls).
    Built(Value),
}

/// A provider's answer and the top-level fields the gateway rewrites.
#[derive(Debug, Clone)]
pub struct Passed {
    body: RequestBody,
    /// Rewritten fields, written where the provider's stood (or last, when it had none).
    edits: Vec<(&'static str, Value)>,
}

impl Passed {
    fn edit(&self, field: &str) -> Option<&Value> {
        self.edits.iter().find(|(f, _)| *f == field).map(|(_, v)| v)
    }
}

impl AnswerBody {
    /// The provider's answer, as it wrote it.
    pub fn passed(body: RequestBody) -> Self {
        Self::Passed(Passed {
            body,
            edits: Vec::new(),
        })
    }

    /// A top-level field, to change in place (`None` when absent). A passed answer's field is parsed on
    /// the first call and written from the tree from then on.
    pub fn field_mut(&mut self, field: &'static str) -> Option<&mut Value> {
        match self {
            Self::Passed(p) => {
                let at = match p.edits.iter().position(|(f, _)| *f == field) {
                    Some(at) => at,
                    None => {
                        let value = p.body.get(field)?;
                        p.edits.push((field, value));
                        p.edits.len() - 1
                    }
                };
                Some(&mut p.edits[at].1)
            }
            Self::Built(tree) => tree.get_mut(field),
        }
    }

    /// Set a top-level field (in place when present, else last). No effect unless the body is an object.
    pub fn set(&mut self, field: &'static str, value: Value) {
        match self {
            Self::Passed(p) if p.body.is_object() => {
                match p.edits.iter_mut().find(|(f, _)| *f == field) {
                    Some((_, v)) => *v = value,
                    None => p.edits.push((field, value)),
                }
            }
            Self::Passed(_) => {}
            Self::Built(Value::Object(fields)) => {
                fields.insert(field.to_owned(), value);
            }
            Self::Built(_) => {}
        }
    }

    /// The whole body as a tree (built, for a passed answer).
    pub fn to_value(&self) -> Value {
        match self {
            Self::Passed(p) => {
                let mut tree = p.body.tree().clone();
                if let Value::Object(fields) = &mut tree {
                    for (field, value) in &p.edits {
                        fields.insert((*field).to_owned(), value.clone());
                    }
                }
                tree
            }
            Self::Built(tree) => tree.clone(),
        }
    }

    /// The body's JSON text, as the client receives it.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The body's JSON text as bytes, written once into a buffer of about its size (not grown from a
    /// small one as it is written).
    pub fn to_json_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        let size = match self {
            // The rewritten fields (`model`, `usage` with its `cost`) are short.
            Self::Passed(p) => p.body.json_len() + 64 * p.edits.len(),
            Self::Built(_) => 1024,
        };
        let mut bytes = Vec::with_capacity(size);
        serde_json::to_writer(&mut bytes, self)?;
        Ok(bytes)
    }
}

impl From<Value> for AnswerBody {
    fn from(tree: Value) -> Self {
        Self::Built(tree)
    }
}

impl Serialize for AnswerBody {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Built(tree) => tree.serialize(serializer),
            Self::Passed(p) if p.edits.is_empty() || !p.body.is_object() => {
                p.body.serialize(serializer)
            }
            Self::Passed(p) => {
                let mut map = serializer.serialize_map(None)?;
                for (name, raw) in p.body.entries() {
                    match p.edit(name) {
                        Some(value) => map.serialize_entry(name, value)?,
                        None => map.serialize_entry(name, raw)?,
                    }
                }
                for (field, value) in &p.edits {
                    if !p.body.contains(field) {
                        map.serialize_entry(field, value)?;
                    }
                }
                map.end()
            }
        }
    }
}

/// Equal when they read as the same JSON.
impl PartialEq for AnswerBody {
    fn eq(&self, other: &Self) -> bool {
        self.to_value() == other.to_value()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn passed(text: &str) -> AnswerBody {
        AnswerBody::passed(RequestBody::from_json(text.as_bytes()).unwrap())
    }

    #[test]
    fn a_passed_answer_is_written_as_the_provider_wrote_it_but_for_its_edits() {
        // Spacing, number forms, key order and escapes as the provider wrote them.
        let text = r#"{"id":"c1","model":"gpt-4.1-mini-2025","n":1.50,"s":"\u00e9","usage":{"prompt_tokens":3},"z":[ 1,2 ]}"#;
        let mut body = passed(text);
        assert_eq!(body.to_json_string(), text);
        assert_eq!(body.to_json_bytes().unwrap(), text.as_bytes());
        body.set("model", json!("openai/gpt-4.1-mini"));
        body.field_mut("usage").unwrap()["cost"] = json!(0.25);
        body.set("system_fingerprint", json!("fp"));
        // Only the rewritten fields are written anew (`usage` as serde_json writes a map: keys sorted), in
        // the provider's order; a new one goes last.
        assert_eq!(
            body.to_json_string(),
            r#"{"id":"c1","model":"openai/gpt-4.1-mini","n":1.50,"s":"\u00e9","usage":{"cost":0.25,"prompt_tokens":3},"z":[ 1,2 ],"system_fingerprint":"fp"}"#
        );
        assert_eq!(body.field_mut("usage").unwrap()["cost"], json!(0.25));
        assert_eq!(body.to_value()["usage"]["cost"], json!(0.25));
        assert_eq!(body.to_value()["model"], json!("openai/gpt-4.1-mini"));
        assert!(body.field_mut("absent").is_none());
    }

    #[test]
    fn passed_and_built_compare_as_json_and_a_non_object_takes_no_edit() {
        let text = r#"{"a": 1, "b": [true]}"#;
        assert_eq!(passed(text), AnswerBody::from(json!({"b": [true], "a": 1})));
        let mut list = passed("[1,2]");
        list.set("model", json!("m"));
        assert_eq!(list.to_json_string(), "[1,2]");
        let mut built = AnswerBody::from(json!(null));
        built.set("model", json!("m"));
        assert_eq!(built, AnswerBody::from(json!(null)));
    }
}
