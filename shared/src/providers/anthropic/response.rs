//! Anthropic messages answers ↔ the neutral form, and Anthropic usage objects.

use serde_json::{Value, json};

use crate::providers::ir::{Finish, Reply, ToolCall, new_id};
use crate::providers::openai::request::str_at;
use crate::providers::{ProviderError, Usage};

/// Usage from an Anthropic `usage` object: cache reads and writes are folded into the input count.
pub(crate) fn usage(u: &Value) -> Usage {
    let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    let cached = n("cache_read_input_tokens");
    let written = n("cache_creation_input_tokens");
    Usage {
        input_tokens: n("input_tokens")
            .saturating_add(cached)
            .saturating_add(written),
        output_tokens: n("output_tokens"),
        cached_tokens: cached,
        reasoning_tokens: 0,
        cache_write_tokens: written,
    }
}

pub(crate) fn usage_json(u: &Usage) -> Value {
    json!({
        "input_tokens": u.input_tokens.saturating_sub(u.cached_tokens).saturating_sub(u.cache_write_tokens),
        "output_tokens": u.output_tokens,
        "cache_creation_input_tokens": u.cache_write_tokens,
        "cache_read_input_tokens": u.cached_tokens,
    })
}

/// Parse an Anthropic message.
pub(crate) fn parse(body: &Value) -> Result<Reply, ProviderError> {
    let blocks = body
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| ProviderError::server("the answer has no content"))?;
    let mut reply = Reply {
        id: body
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| new_id("msg_")),
        text: String::new(),
        reasoning: String::new(),
        reasoning_signature: None,
        tool_calls: Vec::new(),
        finish: Finish::from_anthropic(
            body.get("stop_reason")
                .and_then(Value::as_str)
                .unwrap_or("end_turn"),
        ),
        usage: usage(body.get("usage").unwrap_or(&Value::Null)),
    };
    for b in blocks {
        match b.get("type").and_then(Value::as_str) {
            Some("text") => reply.text.push_str(&str_at(b, "/text")),
            Some("thinking") => {
                reply.reasoning.push_str(&str_at(b, "/thinking"));
                reply.reasoning_signature = b
                    .get("signature")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
            Some("tool_use") => reply.tool_calls.push(ToolCall {
                id: str_at(b, "/id"),
                name: str_at(b, "/name"),
                arguments: b
                    .get("input")
                    .cloned()
                    .unwrap_or_else(|| json!({}))
                    .to_string(),
            }),
            _ => {}
        }
    }
    Ok(reply)
}

/// Write a reply as an Anthropic message.
pub(crate) fn encode(reply: &Reply, model: &str) -> Value {
    let mut content = Vec::new();
    if !reply.reasoning.is_empty() {
        content.push(json!({"type": "thinking", "thinking": reply.reasoning, "signature": reply.reasoning_signature.clone().unwrap_or_default()}));
    }
    if !reply.text.is_empty() || reply.tool_calls.is_empty() {
        content.push(json!({"type": "text", "text": reply.text}));
    }
    for c in &reply.tool_calls {
        let input = serde_json::from_str::<Value>(&c.arguments)
            .ok()
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({}));
        content.push(json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}));
    }
    let id = if reply.id.starts_with("msg_") {
        reply.id.clone()
    } else {
        format!("msg_{}", reply.id)
    };
    json!({
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reply.finish.anthropic(),
        "stop_sequence": null,
        "usage": usage_json(&reply.usage),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::openai;

    /// The documented tool-use answer, with prompt caching usage.
    fn documented() -> Value {
        json!({
            "id": "msg_01Aq9w938a90dw8q",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5-20250929",
            "content": [
                {"type": "thinking", "thinking": "I should call the tool.", "signature": "EqQB"},
                {"type": "text", "text": "I'll check the weather."},
                {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"location": "San Francisco, CA", "unit": "celsius"}}
            ],
            "stop_reason": "tool_use",
            "stop_sequence": null,
            "usage": {"input_tokens": 100, "cache_creation_input_tokens": 20, "cache_read_input_tokens": 1000, "output_tokens": 50}
        })
    }

    #[test]
    fn parses_the_documented_answer() {
        let r = parse(&documented()).unwrap();
        assert_eq!(r.finish, Finish::ToolCalls);
        assert_eq!(r.text, "I'll check the weather.");
        assert_eq!(r.reasoning_signature.as_deref(), Some("EqQB"));
        assert_eq!(
            r.usage,
            Usage {
                input_tokens: 1120,
                output_tokens: 50,
                cached_tokens: 1000,
                reasoning_tokens: 0,
                cache_write_tokens: 20,
            }
        );
        assert_eq!(
            serde_json::from_str::<Value>(&r.tool_calls[0].arguments).unwrap()["unit"],
            "celsius"
        );
    }

    #[test]
    fn translates_to_openai_and_back() {
        let r = parse(&documented()).unwrap();
        let o = openai::response::encode(&r, "anthropic/claude-sonnet-4-5");
        assert_eq!(o["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(
            o["choices"][0]["message"]["reasoning_content"],
            "I should call the tool."
        );
        assert_eq!(o["usage"]["prompt_tokens"], 1120);
        assert_eq!(o["usage"]["prompt_tokens_details"]["cached_tokens"], 1000);
        let back = encode(&openai::response::parse(&o).unwrap(), "m");
        assert_eq!(back["content"][2]["input"]["location"], "San Francisco, CA");
        assert_eq!(back["stop_reason"], "tool_use");
        assert_eq!(
            o["usage"]["prompt_tokens_details"]["cache_write_tokens"],
            20
        );
        assert_eq!(back["usage"]["input_tokens"], 100);
        assert_eq!(back["usage"]["cache_read_input_tokens"], 1000);
        assert_eq!(back["usage"]["cache_creation_input_tokens"], 20);
    }
}
