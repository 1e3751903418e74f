//! A whole answer's body as it goes to the client. An answer in the client's own format (the same
//! provider format, or embeddings) keeps the provider's text: its top-level fields as the provider wrote
//! them ([`RequestBody`]), with only `model` and the gateway's `usage` (which carries the cost) rewritten,
//! so it is neither built into a `serde_json::Value` tree nor walked again to be written out. A translated
//! answer is a tree built here.

use serde::ser::{Serialize, Serializer};
use serde_json::Value;

use super::body::RequestBody;

#[derive(Debug, Clone)]
pub enum AnswerBody {
    /// The provider's answer, its top-level fields as it wrote them.
    Passed(RequestBody),
    /// Built here (a translation, or an answer assembled from several calls).
    Built(Value),
}

impl AnswerBody {
    /// A top-level field, parsed (`None` when absent).
    pub fn get(&self, field: &str) -> Option<Value> {
        match self {
            Self::Passed(body) => body.get(field),
            Self::Built(tree) => tree.get(field).cloned(),
        }
    }

    /// Set a top-level field (in place when present, else last). No effect unless the body is an object.
    pub fn set(&mut self, field: &str, value: Value) {
        match self {
            Self::Passed(body) => body.set(field, &value),
            Self::Built(Value::Object(fields)) => {
                fields.insert(field.to_owned(), value);
            }
            Self::Built(_) => {}
        }
    }

    /// The whole body as a tree (built, for a passed answer).
    pub fn to_value(&self) -> Value {
        match self {
            Self::Passed(body) => body.tree().clone(),
            Self::Built(tree) => tree.clone(),
        }
    }

    /// The body's JSON text, as the client receives it.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
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
            Self::Passed(body) => body.serialize(serializer),
            Self::Built(tree) => tree.serialize(serializer),
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
        AnswerBody::Passed(RequestBody::from_json(text.as_bytes()).unwrap())
    }

    #[test]
    fn a_passed_answer_is_written_as_the_provider_wrote_it_but_for_its_edits() {
        // Spacing, number forms, key order and escapes as the provider wrote them.
        let text = r#"{"id":"c1","model":"gpt-4.1-mini-2025","n":1.50,"s":"\u00e9","usage":{"prompt_tokens":3},"z":[ 1,2 ]}"#;
        let mut body = passed(text);
        assert_eq!(body.to_json_string(), text);
        body.set("model", json!("openai/gpt-4.1-mini"));
        let mut usage = body.get("usage").unwrap();
        usage["cost"] = json!(0.25);
        body.set("usage", usage);
        // Only the rewritten fields are written anew (`usage` as serde_json writes a map: keys sorted).
        assert_eq!(
            body.to_json_string(),
            r#"{"id":"c1","model":"openai/gpt-4.1-mini","n":1.50,"s":"\u00e9","usage":{"cost":0.25,"prompt_tokens":3},"z":[ 1,2 ]}"#
        );
        assert_eq!(body.to_value()["usage"]["cost"], json!(0.25));
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
