//! Token counting without generation, as the real APIs answer it: Anthropic's
//! `POST /v1/messages/count_tokens` (`{"input_tokens": n}`) and Gemini's `models/{m}:countTokens`
//! (`{"totalTokens": n, ...}`). The mock's count is deterministic, so tests can predict it: one token per
//! whitespace-separated word of every text in the prompt (structural strings such as roles, block types
//! and ids are not counted), plus [`PER_TOOL`] per tool definition.

use serde_json::{Value, json};

pub const PER_TOOL: u64 = 10;

/// Keys whose string values are structure, not prompt text.
const STRUCTURAL: &[&str] = &[
    "role",
    "type",
    "id",
    "tool_use_id",
    "media_type",
    "mimeType",
];

/// Words in every text under `v`.
pub fn words(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.split_whitespace().count() as u64,
        Value::Array(items) => items.iter().map(words).sum(),
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| !STRUCTURAL.contains(&k.as_str()))
            .map(|(_, v)| words(v))
            .sum(),
        _ => 0,
    }
}

/// Anthropic's count_tokens: a messages request without `max_tokens` or `stream` (the real API refuses
/// both as extra inputs). `Err` is the 400 message.
pub fn anthropic(body: &Value) -> Result<Value, String> {
    for field in ["max_tokens", "stream"] {
        if body.get(field).is_some() {
            return Err(format!("{field}: Extra inputs are not permitted"));
        }
    }
    if !body.get("model").is_some_and(Value::is_string) {
        return Err("model: Field required".into());
    }
    let messages = match body.get("messages").and_then(Value::as_array) {
        Some(m) if !m.is_empty() => m,
        _ => return Err("messages: Field required".into()),
    };
    let tools = body
        .get("tools")
        .and_then(Value::as_array)
        .map_or(0, Vec::len) as u64;
    let system = body.get("system").map_or(0, words);
    let n = words(&Value::Array(messages.clone())) + system + tools * PER_TOOL;
    Ok(json!({"input_tokens": n}))
}

/// Gemini's countTokens: `contents` alone or a whole `generateContentRequest` naming the same model as the
/// path. `Err` is the 400 message.
pub fn google(path_model: &str, body: &Value) -> Result<Value, String> {
    let request = match (body.get("contents"), body.get("generateContentRequest")) {
        (Some(_), Some(_)) => {
            return Err("contents and generateContentRequest are mutually exclusive".into());
        }
        (Some(_), None) => body,
        (None, Some(r)) => {
            let expected = format!("models/{path_model}");
            if r.get("model").and_then(Value::as_str) != Some(expected.as_str()) {
                return Err(format!("generateContentRequest.model must be {expected}"));
            }
            r
        }
        (None, None) => return Err("contents or generateContentRequest is required".into()),
    };
    if request
        .get("contents")
        .and_then(Value::as_array)
        .is_none_or(|c| c.is_empty())
    {
        return Err("contents is not specified".into());
    }
    let tools: u64 = request
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("functionDeclarations").and_then(Value::as_array))
        .map(|d| d.len() as u64)
        .sum();
    let n = words(&request["contents"])
        + request.get("systemInstruction").map_or(0, words)
        + tools * PER_TOOL;
    Ok(json!({"totalTokens": n, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": n}]}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_predictable_and_shapes_checked() {
        let body = json!({"model": "m", "system": "be brief", "messages": [{"role": "user", "content": "one two three"}],
            "tools": [{"name": "t", "input_schema": {}}]});
        assert_eq!(anthropic(&body).unwrap()["input_tokens"], 2 + 3 + PER_TOOL);
        let mut with_max = body.clone();
        with_max["max_tokens"] = 5.into();
        assert!(anthropic(&with_max).is_err());
        let g = json!({"generateContentRequest": {"model": "models/g", "contents": [{"role": "user", "parts": [{"text": "a b"}]}]}});
        assert_eq!(google("g", &g).unwrap()["totalTokens"], 2);
        assert!(google("other", &g).is_err());
    }
}
