//! OpenAI Responses API (`POST /v1/responses`): the `response` object, and its SSE events (named, each
//! with a `sequence_number`, ending with `response.completed`; no `[DONE]`).

use serde_json::{Value, json};

use super::{Answer, Frame};

const CREATED: u64 = 1_700_000_000;

fn usage(a: &Answer) -> Value {
    json!({
        "input_tokens": a.usage.input, "input_tokens_details": {"cached_tokens": a.usage.cached},
        "output_tokens": a.usage.output, "output_tokens_details": {"reasoning_tokens": a.usage.reasoning},
        "total_tokens": a.usage.input + a.usage.output
    })
}

fn envelope(a: &Answer, status: &str) -> Value {
    json!({
        "id": "resp_mock", "object": "response", "created_at": CREATED, "status": status,
        "background": false, "error": null, "incomplete_details": null, "instructions": null,
        "max_output_tokens": null, "model": a.model, "output": [], "parallel_tool_calls": true,
        "previous_response_id": null, "reasoning": {"effort": null, "summary": null}, "store": true,
        "temperature": 1.0, "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [],
        "top_p": 1.0, "truncation": "disabled", "usage": null, "user": null, "metadata": {}
    })
}

fn reasoning_item(r: &str) -> Value {
    json!({"type": "reasoning", "id": "rs_mock", "summary": [{"type": "summary_text", "text": r}]})
}

fn message_item(text: &str, status: &str) -> Value {
    let content = if status == "completed" {
        json!([{"type": "output_text", "text": text, "annotations": [], "logprobs": []}])
    } else {
        json!([])
    };
    json!({"type": "message", "id": "msg_mock", "status": status, "role": "assistant", "content": content})
}

fn call_item(a: &Answer, arguments: &str, status: &str) -> Option<Value> {
    a.tool_call.as_ref().map(|t| {
        json!({"type": "function_call", "id": "fc_mock", "call_id": "call_mock_1", "name": t.name,
            "arguments": arguments, "status": status})
    })
}

fn output(a: &Answer) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(r) = &a.reasoning {
        out.push(reasoning_item(r));
    }
    match &a.tool_call {
        Some(t) => out.extend(call_item(a, &t.arguments.to_string(), "completed")),
        None => out.push(message_item(&a.text, "completed")),
    }
    out
}

pub fn responses_json(a: &Answer) -> Value {
    let mut r = envelope(a, "completed");
    r["output"] = Value::Array(output(a));
    r["usage"] = usage(a);
    r
}

pub fn responses_stream(a: &Answer) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut seq = 0u64;
    let mut push = |kind: &'static str, mut data: Value| {
        data["type"] = kind.into();
        data["sequence_number"] = seq.into();
        seq += 1;
        frames.push(Frame::named(kind, data));
    };
    push(
        "response.created",
        json!({"response": envelope(a, "in_progress")}),
    );
    push(
        "response.in_progress",
        json!({"response": envelope(a, "in_progress")}),
    );
    let mut index = 0;
    if let Some(r) = &a.reasoning {
        let at = json!({"item_id": "rs_mock", "output_index": index, "summary_index": 0});
        push(
            "response.output_item.added",
            json!({"output_index": index, "item": {"type": "reasoning", "id": "rs_mock", "summary": []}}),
        );
        let mut part = at.clone();
        part["part"] = json!({"type": "summary_text", "text": ""});
        push("response.reasoning_summary_part.added", part);
        let mut delta = at.clone();
        delta["delta"] = r.clone().into();
        push("response.reasoning_summary_text.delta", delta);
        let mut done = at.clone();
        done["text"] = r.clone().into();
        push("response.reasoning_summary_text.done", done);
        let mut part = at;
        part["part"] = json!({"type": "summary_text", "text": r});
        push("response.reasoning_summary_part.done", part);
        push(
            "response.output_item.done",
            json!({"output_index": index, "item": reasoning_item(r)}),
        );
        index += 1;
    }
    match &a.tool_call {
        Some(t) => {
            let args = t.arguments.to_string();
            push(
                "response.output_item.added",
                json!({"output_index": index, "item": call_item(a, "", "in_progress")}),
            );
            let (head, tail) = args.split_at(args.len() / 2);
            for piece in [head, tail] {
                push(
                    "response.function_call_arguments.delta",
                    json!({"item_id": "fc_mock", "output_index": index, "delta": piece}),
                );
            }
            push(
                "response.function_call_arguments.done",
                json!({"item_id": "fc_mock", "output_index": index, "name": t.name, "arguments": args}),
            );
            push(
                "response.output_item.done",
                json!({"output_index": index, "item": call_item(a, &args, "completed")}),
            );
        }
        None => {
            let at = json!({"item_id": "msg_mock", "output_index": index, "content_index": 0});
            push(
                "response.output_item.added",
                json!({"output_index": index, "item": message_item("", "in_progress")}),
            );
            let mut part = at.clone();
            part["part"] =
                json!({"type": "output_text", "text": "", "annotations": [], "logprobs": []});
            push("response.content_part.added", part);
            for p in a.pieces() {
                let mut d = at.clone();
                d["delta"] = p.into();
                d["logprobs"] = json!([]);
                push("response.output_text.delta", d);
            }
            let mut done = at.clone();
            done["text"] = a.text.clone().into();
            done["logprobs"] = json!([]);
            push("response.output_text.done", done);
            let mut part = at;
            part["part"] =
                json!({"type": "output_text", "text": a.text, "annotations": [], "logprobs": []});
            push("response.content_part.done", part);
            push(
                "response.output_item.done",
                json!({"output_index": index, "item": message_item(&a.text, "completed")}),
            );
        }
    }
    let mut done = envelope(a, "completed");
    done["output"] = Value::Array(output(a));
    done["usage"] = usage(a);
    push("response.completed", json!({"response": done}));
    frames
}
