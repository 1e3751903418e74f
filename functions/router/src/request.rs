//! The caller's request body: its model, whether it streams, and the gateway's own metadata, which is
//! stripped before anything is forwarded.

use byok_shared::Result;
use byok_shared::error::Error;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The extension object clients send through their SDK's extra-body option: `{"byok": {...}}`.
pub const EXTENSION: &str = "byok";

/// Fields that would name an upstream; never accepted (provider URLs are operator configuration).
const UPSTREAM_FIELDS: [&str; 6] = [
    "api_base",
    "base_url",
    "api_url",
    "endpoint",
    "host",
    "upstream_url",
];

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    #[serde(default)]
    pub tags: Vec<String>,
    pub user_id: Option<String>,
    pub trace_id: Option<String>,
    #[serde(default)]
    pub extra: Map<String, Value>,
}

pub struct Parsed {
    /// As the caller wrote it: `<provider>/<model>` or `policy/<name>`.
    pub model: String,
    pub stream: bool,
    pub metadata: Metadata,
    /// The body to forward: the extension removed.
    pub body: Value,
}

const MAX_ID_LEN: usize = 256;
/// Most messages (chat) or inputs (embeddings) one request may carry; OpenAI's embeddings cap is 2048.
pub const MAX_ITEMS: usize = 2048;

pub fn parse(mut body: Value) -> Result<Parsed> {
    let obj = body
        .as_object_mut()
        .ok_or_else(|| Error::bad_request("request body must be a JSON object"))?;
    if let Some(field) = UPSTREAM_FIELDS.iter().find(|f| obj.contains_key(**f)) {
        return Err(Error::invalid(
            *field,
            format!("{field} is not accepted: provider URLs are set by the gateway's operator"),
        ));
    }
    let model = match obj.get("model") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        _ => {
            return Err(Error::invalid(
                "model",
                "model is required: <provider>/<model> or policy/<name>",
            ));
        }
    };
    for field in ["messages", "input"] {
        if obj
            .get(field)
            .and_then(Value::as_array)
            .is_some_and(|items| items.len() > MAX_ITEMS)
        {
            return Err(Error::invalid(
                field,
                format!("{field} may hold at most {MAX_ITEMS} items"),
            ));
        }
    }
    let stream = match obj.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(Error::invalid("stream", "stream must be a boolean")),
    };
    let mut metadata: Metadata = match obj.remove(EXTENSION) {
        None | Some(Value::Null) => Metadata::default(),
        Some(v) => serde_json::from_value(v)
            .map_err(|e| Error::invalid(EXTENSION, format!("{EXTENSION}: {e}")))?,
    };
    if metadata.user_id.is_none() {
        // OpenAI's `user`, Anthropic's `metadata.user_id`.
        metadata.user_id = obj
            .get("user")
            .and_then(Value::as_str)
            .or_else(|| {
                obj.get("metadata")
                    .and_then(|m| m.get("user_id"))
                    .and_then(Value::as_str)
            })
            .map(str::to_owned);
    }
    for (name, value) in [
        ("user_id", &metadata.user_id),
        ("trace_id", &metadata.trace_id),
    ] {
        if value
            .as_ref()
            .is_some_and(|v| v.len() > MAX_ID_LEN || v.chars().any(char::is_control))
        {
            return Err(Error::invalid(
                format!("{EXTENSION}.{name}"),
                format!("{name} must be at most {MAX_ID_LEN} printable characters"),
            ));
        }
    }
    Ok(Parsed {
        model,
        stream,
        metadata,
        body,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn strips_the_extension_and_reads_ids() {
        let p = parse(json!({"model": "policy/main", "stream": true, "user": "u1",
            "byok": {"trace_id": "t1", "tags": ["a"]}, "messages": []}))
        .unwrap();
        assert_eq!((p.model.as_str(), p.stream), ("policy/main", true));
        assert_eq!(p.metadata.user_id.as_deref(), Some("u1"));
        assert_eq!(p.metadata.trace_id.as_deref(), Some("t1"));
        assert!(p.body.get("byok").is_none());
        assert_eq!(p.body["user"], "u1", "the provider's own fields stay");
    }

    #[test]
    fn refuses_upstream_overrides_and_bad_fields() {
        for field in UPSTREAM_FIELDS {
            let e = parse(json!({"model": "openai/gpt-4.1", field: "http://attacker"}))
                .err()
                .unwrap();
            assert_eq!(e.param.as_deref(), Some(field));
        }
        assert_eq!(
            parse(json!({"messages": []}))
                .err()
                .unwrap()
                .param
                .as_deref(),
            Some("model")
        );
        assert_eq!(
            parse(json!({"model": "x/y", "stream": "yes"}))
                .err()
                .unwrap()
                .param
                .as_deref(),
            Some("stream")
        );
        assert_eq!(
            parse(json!({"model": "x/y", "byok": {"colour": 1}}))
                .err()
                .unwrap()
                .param
                .as_deref(),
            Some("byok")
        );
        assert!(parse(json!([1])).is_err());
        let many = vec![json!({"role": "user", "content": "x"}); MAX_ITEMS + 1];
        let e = parse(json!({"model": "x/y", "messages": many}))
            .err()
            .unwrap();
        assert_eq!(e.param.as_deref(), Some("messages"));
    }
}
