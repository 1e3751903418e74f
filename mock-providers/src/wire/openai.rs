//! OpenAI chat completions (also xAI): JSON answers, `data:` chunks ending `[DONE]`, error bodies.

use serde_json::{Value, json};

use super::{Answer, Frame};

const CREATED: u64 = 1_700_000_000;

pub fn error_body(status: u16, message: Option<&str>, code: Option<&str>) -> Value {
    let (kind, default_code, default_message) = match status {
        401 => (
            "invalid_request_error",
            "invalid_api_key",
            "Incorrect API key provided: sk-mock-***********abcd. You can find your API key at https://platform.openai.com/account/api-keys.",
        ),
        403 => (
            "invalid_request_error",
            "unsupported_country_region_territory",
            "Country, region, or territory not supported",
        ),
        404 => (
            "invalid_request_error",
            "model_not_found",
            "The model does not exist or you do not have access to it.",
        ),
        429 => (
            "requests",
            "rate_limit_exceeded",
            "Rate limit reached for requests. Please try again later.",
        ),
        400..=499 => (
            "invalid_request_error",
            "invalid_request",
            "Invalid request.",
        ),
        _ => (
            "server_error",
            "server_error",
            "The server had an error while processing your request. Sorry about that!",
        ),
    };
    let code = code.unwrap_or(default_code);
    let kind = if code == "insufficient_quota" {
        "insufficient_quota"
    } else {
        kind
    };
    json!({"error": {"message": message.unwrap_or(default_message), "type": kind, "param": null, "code": code}})
}

fn usage(a: &Answer) -> Value {
    json!({
        "prompt_tokens": a.usage.input, "completion_tokens": a.usage.output,
        "total_tokens": a.usage.input + a.usage.output,
        "prompt_tokens_details": {"cached_tokens": a.usage.cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": a.usage.reasoning, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
    })
}

fn tool_call(a: &Answer) -> Option<Value> {
    a.tool_call.as_ref().map(|t| {
        json!({"id": "call_mock_1", "type": "function", "function": {"name": t.name, "arguments": t.arguments.to_string()}})
    })
}

fn finish(a: &Answer) -> &'static str {
    if a.tool_call.is_some() {
        "tool_calls"
    } else {
        "stop"
    }
}

pub fn chat_json(a: &Answer) -> Value {
    let mut message =
        json!({"role": "assistant", "content": a.text, "refusal": null, "annotations": []});
    if let Some(r) = &a.reasoning {
        message["reasoning_content"] = r.clone().into();
    }
    if let Some(t) = tool_call(a) {
        message["content"] = Value::Null;
        message["tool_calls"] = json!([t]);
    }
    json!({
        "id": "chatcmpl-mock", "object": "chat.completion", "created": CREATED, "model": a.model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish(a)}],
        "usage": usage(a), "service_tier": "default", "system_fingerprint": "fp_mock"
    })
}

pub fn chat_stream(a: &Answer, include_usage: bool) -> Vec<Frame> {
    let chunk = |delta: Value, finish: Value| {
        let mut c = json!({
            "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": CREATED, "model": a.model,
            "system_fingerprint": "fp_mock",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
        });
        if include_usage {
            c["usage"] = Value::Null;
        }
        Frame::data(c)
    };
    let mut frames = vec![chunk(
        json!({"role": "assistant", "content": "", "refusal": null}),
        Value::Null,
    )];
    if let Some(r) = &a.reasoning {
        frames.push(chunk(json!({"reasoning_content": r}), Value::Null));
    }
    if a.tool_call.is_none() {
        for p in a.pieces() {
            frames.push(chunk(json!({"content": p}), Value::Null));
        }
    }
    if let Some(t) = &a.tool_call {
        frames.push(chunk(json!({"tool_calls": [{"index": 0, "id": "call_mock_1", "type": "function", "function": {"name": t.name, "arguments": ""}}]}), Value::Null));
        let args = t.arguments.to_string();
        let (head, tail) = args.split_at(args.len() / 2);
        for part in [head, tail] {
            frames.push(chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": part}}]}),
                Value::Null,
            ));
        }
    }
    frames.push(chunk(json!({}), finish(a).into()));
    if include_usage {
        frames.push(Frame::data(json!({
            "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": CREATED, "model": a.model,
            "system_fingerprint": "fp_mock", "choices": [], "usage": usage(a)
        })));
    }
    frames.push(Frame::data("[DONE]"));
    frames
}

/// Deterministic vectors: 8 numbers from the text's bytes.
pub fn vector(text: &str) -> Vec<f64> {
    let mut v = vec![0.0f64; 8];
    for (i, b) in text.bytes().enumerate() {
        v[i % 8] += f64::from(b) / 1000.0;
    }
    v
}

pub fn embeddings(model: &str, input: &Value) -> Value {
    let texts: Vec<String> = match input {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string())
            })
            .collect(),
        _ => Vec::new(),
    };
    let tokens: usize = texts.iter().map(|t| t.split_whitespace().count()).sum();
    let data: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": vector(t)}))
        .collect();
    json!({"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
}

pub fn models(ids: &[&str], owner: &str) -> Value {
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": CREATED, "owned_by": owner}))
        .collect();
    json!({"object": "list", "data": data})
}
