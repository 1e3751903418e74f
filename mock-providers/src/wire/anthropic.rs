//! Anthropic messages: JSON answers, the SSE event sequence, error bodies.

use serde_json::{Value, json};

use super::{Answer, Frame};

pub fn error_body(status: u16, message: Option<&str>, code: Option<&str>) -> Value {
    let (kind, default_message) = match status {
        400 => ("invalid_request_error", "messages: field required"),
        401 => ("authentication_error", "invalid x-api-key"),
        402 => (
            "billing_error",
            "Your credit balance is too low to access the Anthropic API.",
        ),
        403 => (
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        ),
        404 => (
            "not_found_error",
            "The requested resource could not be found.",
        ),
        413 => (
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
        ),
        429 => (
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
        ),
        529 => ("overloaded_error", "Overloaded"),
        500..=599 => ("api_error", "Internal server error"),
        _ => ("invalid_request_error", "Invalid request"),
    };
    json!({"type": "error", "error": {"type": code.unwrap_or(kind), "message": message.unwrap_or(default_message)}, "request_id": "req_mock"})
}

fn usage(a: &Answer) -> Value {
    json!({
        "input_tokens": a.usage.input.saturating_sub(a.usage.cached).saturating_sub(a.usage.cache_write),
        "cache_creation_input_tokens": a.usage.cache_write,
        "cache_read_input_tokens": a.usage.cached,
        "output_tokens": a.usage.output,
    })
}

fn stop_reason(a: &Answer) -> &'static str {
    if a.tool_call.is_some() {
        "tool_use"
    } else {
        "end_turn"
    }
}

pub fn chat_json(a: &Answer) -> Value {
    let mut content = Vec::new();
    if let Some(r) = &a.reasoning {
        content.push(json!({"type": "thinking", "thinking": r, "signature": "mock-signature"}));
    }
    content.push(json!({"type": "text", "text": a.text}));
    if let Some(t) = &a.tool_call {
        content.push(
            json!({"type": "tool_use", "id": "toolu_mock_1", "name": t.name, "input": t.arguments}),
        );
    }
    json!({
        "id": "msg_mock", "type": "message", "role": "assistant", "model": a.model, "content": content,
        "stop_reason": stop_reason(a), "stop_sequence": null, "usage": usage(a)
    })
}

pub fn chat_stream(a: &Answer) -> Vec<Frame> {
    let mut start_usage = usage(a);
    start_usage["output_tokens"] = 1.into();
    let mut frames = vec![
        Frame::named(
            "message_start",
            json!({"type": "message_start", "message": {
            "id": "msg_mock", "type": "message", "role": "assistant", "model": a.model, "content": [],
            "stop_reason": null, "stop_sequence": null, "usage": start_usage}}),
        ),
        Frame::named("ping", json!({"type": "ping"})),
    ];
    let mut index = 0;
    let mut block = |frames: &mut Vec<Frame>, start: Value, deltas: Vec<Value>| {
        frames.push(Frame::named(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": start}),
        ));
        for d in deltas {
            frames.push(Frame::named(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": d}),
            ));
        }
        frames.push(Frame::named(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    };
    if let Some(r) = &a.reasoning {
        block(
            &mut frames,
            json!({"type": "thinking", "thinking": ""}),
            vec![
                json!({"type": "thinking_delta", "thinking": r}),
                json!({"type": "signature_delta", "signature": "mock-signature"}),
            ],
        );
    }
    let texts = a
        .pieces()
        .into_iter()
        .map(|p| json!({"type": "text_delta", "text": p}))
        .collect();
    block(&mut frames, json!({"type": "text", "text": ""}), texts);
    if let Some(t) = &a.tool_call {
        let args = t.arguments.to_string();
        let (head, tail) = args.split_at(args.len() / 2);
        block(
            &mut frames,
            json!({"type": "tool_use", "id": "toolu_mock_1", "name": t.name, "input": {}}),
            vec![
                json!({"type": "input_json_delta", "partial_json": ""}),
                json!({"type": "input_json_delta", "partial_json": head}),
                json!({"type": "input_json_delta", "partial_json": tail}),
            ],
        );
    }
    frames.push(Frame::named("message_delta", json!({"type": "message_delta",
        "delta": {"stop_reason": stop_reason(a), "stop_sequence": null}, "usage": {"output_tokens": a.usage.output}})));
    frames.push(Frame::named(
        "message_stop",
        json!({"type": "message_stop"}),
    ));
    frames
}

pub fn models(ids: &[&str]) -> Value {
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({"type": "model", "id": id, "display_name": id, "created_at": "2025-09-29T00:00:00Z"}))
        .collect();
    json!({"data": data, "has_more": false, "first_id": ids.first(), "last_id": ids.last()})
}
