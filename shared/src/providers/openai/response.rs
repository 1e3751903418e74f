//! OpenAI chat-completions answers ↔ the neutral form, and OpenAI usage objects.

use serde_json::{Value, json};

use super::request::str_at;
use crate::providers::ir::{Finish, Reply, ToolCall, new_id};
use crate::providers::{ProviderError, Usage};

/// Usage from an OpenAI `usage` object (absent fields count as zero).
pub(crate) fn usage(u: &Value) -> Usage {
    // Field by field, not `Value::pointer`, which copies each part of its path (twice) to unescape it:
    // this runs for every answer and every usage chunk.
    let n = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    let prompt = u.get("prompt_tokens_details").unwrap_or(&Value::Null);
    let completion = u.get("completion_tokens_details").unwrap_or(&Value::Null);
    Usage {
        input_tokens: n(u, "prompt_tokens"),
        output_tokens: n(u, "completion_tokens"),
        cached_tokens: n(prompt, "cached_tokens"),
        reasoning_tokens: n(completion, "reasoning_tokens"),
        // Not OpenAI's own (its cache is implicit and free to write): the gateway's report of an
        // Anthropic answer's cache writes, as OpenRouter and others write it, read back on a round trip.
        cache_write_tokens: n(prompt, "cache_write_tokens"),
    }
}

pub(crate) fn usage_json(u: &Usage) -> Value {
    json!({
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.input_tokens.saturating_add(u.output_tokens),
        "prompt_tokens_details": details(u),
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens}
    })
}

/// `prompt_tokens_details`: cached tokens, and cache writes when there were any.
fn details(u: &Usage) -> Value {
    let mut d = json!({"cached_tokens": u.cached_tokens});
    if u.cache_write_tokens > 0 {
        d["cache_write_tokens"] = u.cache_write_tokens.into();
    }
    d
}

/// Parse an OpenAI(-compatible) chat completion.
pub(crate) fn parse(body: &Value) -> Result<Reply, ProviderError> {
    let choice = body
        .pointer("/choices/0")
        .ok_or_else(|| ProviderError::server("the answer has no choices"))?;
    let msg = choice.get("message").unwrap_or(&Value::Null);
    let tool_calls = msg
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| ToolCall {
            id: str_at(c, "/id"),
            name: str_at(c, "/function/name"),
            arguments: str_at(c, "/function/arguments"),
        })
        .collect::<Vec<_>>();
    let mut text = str_at(msg, "/content");
    if text.is_empty() {
        text = str_at(msg, "/refusal");
    }
    Ok(Reply {
        id: body
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| new_id("chatcmpl-")),
        text,
        reasoning: str_at(msg, "/reasoning_content"),
        reasoning_signature: None,
        finish: Finish::from_openai(
            choice
                .get("finish_reason")
                .and_then(Value::as_str)
                .unwrap_or("stop"),
        ),
        tool_calls,
        usage: usage(body.get("usage").unwrap_or(&Value::Null)),
    })
}

/// Write a reply as an OpenAI chat completion.
pub(crate) fn encode(reply: &Reply, model: &str) -> Value {
    let mut message = json!({
        "role": "assistant",
        "content": if reply.text.is_empty() && !reply.tool_calls.is_empty() { Value::Null } else { reply.text.clone().into() },
        "refusal": null,
    });
    if !reply.reasoning.is_empty() {
        message["reasoning_content"] = reply.reasoning.clone().into();
    }
    if !reply.tool_calls.is_empty() {
        message["tool_calls"] = reply
            .tool_calls
            .iter()
            .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
            .collect::<Vec<_>>()
            .into();
    }
    json!({
        "id": reply.id,
        "object": "chat.completion",
        "created": chrono::Utc::now().timestamp(),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": reply.finish.openai()}],
        "usage": usage_json(&reply.usage),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented chat completion answer, with cached and reasoning token details.
    fn documented() -> Value {
        json!({
            "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
            "object": "chat.completion",
            "created": 1741570283,
            "model": "gpt-4o-2024-08-06",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "The image shows a wooden boardwalk.", "refusal": null, "annotations": []}, "logprobs": null, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163,
                "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 10, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
            "service_tier": "default",
            "system_fingerprint": "fp_fc9f1d7035"
        })
    }

    #[test]
    fn reads_cache_writes_and_takes_missing_details_as_zero() {
        let u = usage(
            &json!({"prompt_tokens": 5, "prompt_tokens_details": {"cache_write_tokens": 3},
            "completion_tokens_details": null}),
        );
        assert_eq!(
            (
                u.input_tokens,
                u.cache_write_tokens,
                u.cached_tokens,
                u.reasoning_tokens
            ),
            (5, 3, 0, 0)
        );
        assert_eq!(usage(&Value::Null), Usage::default());
    }

    #[test]
    fn parses_the_documented_answer() {
        let r = parse(&documented()).unwrap();
        assert_eq!(r.text, "The image shows a wooden boardwalk.");
        assert_eq!(r.finish, Finish::Stop);
        assert_eq!(
            r.usage,
            Usage {
                input_tokens: 1117,
                output_tokens: 46,
                cached_tokens: 1024,
                reasoning_tokens: 10,
                cache_write_tokens: 0,
            }
        );
    }

    #[test]
    fn tool_calls_round_trip() {
        let body = json!({"id": "x", "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null, "reasoning_content": "hmm",
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3}});
        let r = parse(&body).unwrap();
        assert_eq!(r.finish, Finish::ToolCalls);
        assert_eq!(r.reasoning, "hmm");
        let out = encode(&r, "xai/grok-3-mini");
        assert_eq!(out["model"], "xai/grok-3-mini");
        assert_eq!(out["choices"][0]["message"]["content"], Value::Null);
        assert_eq!(
            out["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
            "{\"a\":1}"
        );
        assert_eq!(out["usage"]["total_tokens"], 8);
        assert_eq!(parse(&out).unwrap().tool_calls, r.tool_calls);
    }
}
