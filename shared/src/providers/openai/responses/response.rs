//! Responses API answer objects: the neutral reply written as a `response` object, its usage, and the
//! response envelope (the request's settings echoed back, as OpenAI does).

use serde_json::{Value, json};

use crate::providers::Usage;
use crate::providers::ir::{Finish, Reply, new_id};

/// Usage from a Responses `usage` object (absent fields count as zero).
pub(crate) fn usage(u: &Value) -> Usage {
    let n = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    Usage {
        input_tokens: n("/input_tokens"),
        output_tokens: n("/output_tokens"),
        cached_tokens: n("/input_tokens_details/cached_tokens"),
        reasoning_tokens: n("/output_tokens_details/reasoning_tokens"),
        cache_write_tokens: 0,
    }
}

pub(crate) fn usage_json(u: &Usage) -> Value {
    json!({
        "input_tokens": u.input_tokens,
        "input_tokens_details": {"cached_tokens": u.cached_tokens},
        "output_tokens": u.output_tokens,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "total_tokens": u.input_tokens + u.output_tokens,
    })
}

/// `completed`, or `incomplete` with its reason.
pub(crate) fn status(finish: Option<Finish>) -> (&'static str, Value) {
    match finish {
        Some(Finish::Length) => ("incomplete", json!({"reason": "max_output_tokens"})),
        Some(Finish::ContentFilter) => ("incomplete", json!({"reason": "content_filter"})),
        _ => ("completed", Value::Null),
    }
}

/// A `response` object with the request's settings echoed, no output yet and no usage.
pub(crate) fn envelope(request: &Value, id: &str, model: &str, created_at: i64) -> Value {
    let echo = |field: &str, default: Value| {
        request
            .get(field)
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or(default)
    };
    json!({
        "id": id,
        "object": "response",
        "created_at": created_at,
        "status": "in_progress",
        "background": false,
        "error": null,
        "incomplete_details": null,
        "instructions": echo("instructions", Value::Null),
        "max_output_tokens": echo("max_output_tokens", Value::Null),
        "metadata": echo("metadata", json!({})),
        "model": model,
        "output": [],
        "parallel_tool_calls": echo("parallel_tool_calls", true.into()),
        "previous_response_id": null,
        "reasoning": {"effort": request.pointer("/reasoning/effort").cloned().unwrap_or(Value::Null), "summary": null},
        "store": false,
        "temperature": echo("temperature", 1.0.into()),
        "text": echo("text", json!({"format": {"type": "text"}})),
        "tool_choice": echo("tool_choice", "auto".into()),
        "tools": echo("tools", json!([])),
        "top_p": echo("top_p", 1.0.into()),
        "truncation": echo("truncation", "disabled".into()),
        "usage": null,
        "user": null,
    })
}

pub(crate) fn reasoning_item(id: &str, text: &str, signature: Option<&str>) -> Value {
    let mut item =
        json!({"type": "reasoning", "id": id, "summary": [{"type": "summary_text", "text": text}]});
    if let Some(sig) = signature {
        item["encrypted_content"] = sig.into();
    }
    item
}

pub(crate) fn text_part(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

pub(crate) fn message_item(id: &str, text: &str, status: &str) -> Value {
    let content = if status == "in_progress" {
        json!([])
    } else {
        json!([text_part(text)])
    };
    json!({"type": "message", "id": id, "status": status, "role": "assistant", "content": content})
}

pub(crate) fn call_item(
    id: &str,
    call_id: &str,
    name: &str,
    arguments: &str,
    status: &str,
) -> Value {
    json!({"type": "function_call", "id": id, "call_id": call_id, "name": name, "arguments": arguments, "status": status})
}

/// Write a whole reply as a `response` object.
pub(crate) fn encode(reply: &Reply, model: &str, request: &Value) -> Value {
    let mut body = envelope(
        request,
        &new_id("resp_"),
        model,
        chrono::Utc::now().timestamp(),
    );
    let mut output = Vec::new();
    if !reply.reasoning.is_empty() || reply.reasoning_signature.is_some() {
        output.push(reasoning_item(
            &new_id("rs_"),
            &reply.reasoning,
            reply.reasoning_signature.as_deref(),
        ));
    }
    if !reply.text.is_empty() || reply.tool_calls.is_empty() {
        output.push(message_item(&new_id("msg_"), &reply.text, "completed"));
    }
    for call in &reply.tool_calls {
        output.push(call_item(
            &new_id("fc_"),
            &call.id,
            &call.name,
            &call.arguments,
            "completed",
        ));
    }
    let (status, incomplete) = status(Some(reply.finish));
    body["status"] = status.into();
    body["incomplete_details"] = incomplete;
    body["output"] = Value::Array(output);
    body["usage"] = usage_json(&reply.usage);
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ir::ToolCall;

    #[test]
    fn a_reply_becomes_output_items_with_usage() {
        let reply = Reply {
            id: "msg_1".into(),
            text: "hello".into(),
            reasoning: "think".into(),
            reasoning_signature: Some("sig".into()),
            tool_calls: vec![ToolCall {
                id: "c1".into(),
                name: "f".into(),
                arguments: "{\"a\":1}".into(),
            }],
            finish: Finish::ToolCalls,
            usage: Usage {
                input_tokens: 10,
                output_tokens: 5,
                cached_tokens: 2,
                reasoning_tokens: 3,
                cache_write_tokens: 0,
            },
        };
        let body = encode(
            &reply,
            "anthropic/claude",
            &json!({"instructions": "x", "tools": [{"type": "function", "name": "f"}]}),
        );
        assert_eq!(body["object"], "response");
        assert_eq!(body["status"], "completed");
        assert_eq!(body["instructions"], "x");
        let types: Vec<&str> = body["output"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["reasoning", "message", "function_call"]);
        assert_eq!(body["output"][0]["encrypted_content"], "sig");
        assert_eq!(body["output"][2]["call_id"], "c1");
        assert_eq!(body["usage"]["input_tokens_details"]["cached_tokens"], 2);
        assert_eq!(
            body["usage"]["output_tokens_details"]["reasoning_tokens"],
            3
        );
        assert_eq!(usage(&body["usage"]), reply.usage);
        let cut = Reply {
            finish: Finish::Length,
            tool_calls: vec![],
            ..reply
        };
        let body = encode(&cut, "m", &json!({}));
        assert_eq!(
            (
                body["status"].as_str(),
                body["incomplete_details"]["reason"].as_str()
            ),
            (Some("incomplete"), Some("max_output_tokens"))
        );
    }
}
