//! `POST /v1/responses` as OpenAI checks it: unknown parameters refused, `input` items checked by type
//! (roles and content part types of messages, `function_call_output` answering an earlier
//! `function_call` unless the conversation lives upstream via `previous_response_id`), function tools
//! need a name, `max_output_tokens` at least 16, `reasoning` only on reasoning models.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::{Checked, Refusal, type_of, unknown_key};

const PARAMS: &[&str] = &[
    "background",
    // Sent by Codex CLI (ids of its session and turn), accepted by OpenAI.
    "client_metadata",
    "conversation",
    "include",
    "input",
    "instructions",
    "max_output_tokens",
    "max_tool_calls",
    "metadata",
    "model",
    "parallel_tool_calls",
    "previous_response_id",
    "prompt",
    "prompt_cache_key",
    "prompt_cache_retention",
    "reasoning",
    "safety_identifier",
    "service_tier",
    "store",
    "stream",
    "stream_options",
    "temperature",
    "text",
    "tool_choice",
    "tools",
    "top_logprobs",
    "top_p",
    "truncation",
    "user",
];

const TOOL_TYPES: &[&str] = &[
    "function",
    "web_search",
    "web_search_preview",
    "file_search",
    "code_interpreter",
    "computer_use_preview",
    "image_generation",
    "mcp",
    "local_shell",
    "shell",
    "custom",
    "apply_patch",
    // A group of function tools (Codex CLI sends its sub-agent tools so).
    "namespace",
];

fn error(message: String, param: Option<String>, code: Option<&str>) -> Refusal {
    Refusal {
        status: 400,
        body: json!({"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}),
    }
}

fn reasons(model: &str) -> bool {
    ["o1", "o3", "o4", "gpt-5", "codex"]
        .iter()
        .any(|p| model.starts_with(p))
}

pub fn check_responses(body: &Value) -> Checked {
    let Some(obj) = body.as_object() else {
        return Err(error(
            "We could not parse the JSON body of your request.".into(),
            None,
            None,
        ));
    };
    if let Some(k) = unknown_key(obj, PARAMS) {
        return Err(error(
            format!("Unknown parameter: '{k}'."),
            Some(k.to_owned()),
            Some("unknown_parameter"),
        ));
    }
    let model = obj.get("model").and_then(Value::as_str).unwrap_or_default();
    if model.is_empty() {
        return Err(error(
            "Missing required parameter: 'model'.".into(),
            Some("model".into()),
            Some("missing_required_parameter"),
        ));
    }
    if let Some(n) = obj.get("max_output_tokens").filter(|v| !v.is_null())
        && n.as_u64().is_none_or(|n| n < 16)
    {
        return Err(error(
            format!(
                "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got {n} instead."
            ),
            Some("max_output_tokens".into()),
            Some("integer_below_min_value"),
        ));
    }
    if obj
        .get("reasoning")
        .and_then(|r| r.get("effort"))
        .is_some_and(|e| !e.is_null())
        && !reasons(model)
    {
        return Err(error(
            "Unsupported parameter: 'reasoning.effort' is not supported with this model.".into(),
            Some("reasoning.effort".into()),
            Some("unsupported_parameter"),
        ));
    }
    for (i, t) in obj
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let kind = type_of(t).unwrap_or_default();
        if !TOOL_TYPES.contains(&kind) {
            return Err(error(
                format!(
                    "Invalid value: '{kind}'. Supported values are: {}.",
                    TOOL_TYPES.join(", ")
                ),
                Some(format!("tools[{i}].type")),
                Some("invalid_value"),
            ));
        }
        if kind == "function" {
            let f = t.as_object().expect("an object has a type");
            if let Some(k) =
                unknown_key(f, &["type", "name", "description", "parameters", "strict"])
            {
                return Err(error(
                    format!("Unknown parameter: 'tools[{i}].{k}'."),
                    Some(format!("tools[{i}].{k}")),
                    Some("unknown_parameter"),
                ));
            }
            if !f.get("name").is_some_and(Value::is_string) {
                return Err(error(
                    format!("Missing required parameter: 'tools[{i}].name'."),
                    Some(format!("tools[{i}].name")),
                    Some("missing_required_parameter"),
                ));
            }
        }
    }
    let upstream_history = obj
        .get("previous_response_id")
        .is_some_and(|v| !v.is_null())
        || obj.get("conversation").is_some_and(|v| !v.is_null());
    match obj.get("input") {
        Some(Value::String(_)) => Ok(()),
        Some(Value::Array(items)) => check_items(items, upstream_history),
        None if obj.contains_key("prompt") || upstream_history => Ok(()),
        _ => Err(error(
            "Missing required parameter: 'input'.".into(),
            Some("input".into()),
            Some("missing_required_parameter"),
        )),
    }
}

fn check_items(items: &[Value], upstream_history: bool) -> Checked {
    let mut calls: HashSet<String> = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let kind = type_of(item).unwrap_or("message");
        match kind {
            "message" => {
                let role = item.get("role").and_then(Value::as_str).unwrap_or_default();
                let kinds: &[&str] = match role {
                    "user" | "system" | "developer" => &["input_text", "input_image", "input_file"],
                    "assistant" => &["output_text", "refusal"],
                    other => {
                        return Err(error(
                            format!(
                                "Invalid value: '{other}'. Supported values are: 'assistant', 'system', 'developer', and 'user'."
                            ),
                            Some(format!("input[{i}].role")),
                            Some("invalid_value"),
                        ));
                    }
                };
                match item.get("content") {
                    Some(Value::String(_)) => {}
                    Some(Value::Array(parts)) => {
                        for (j, p) in parts.iter().enumerate() {
                            let t = type_of(p).unwrap_or_default();
                            if !kinds.contains(&t) {
                                return Err(error(
                                    format!(
                                        "Invalid value: '{t}'. Supported values are: {}.",
                                        kinds.join(", ")
                                    ),
                                    Some(format!("input[{i}].content[{j}].type")),
                                    Some("invalid_value"),
                                ));
                            }
                        }
                    }
                    _ => {
                        return Err(error(
                            format!("Missing required parameter: 'input[{i}].content'."),
                            Some(format!("input[{i}].content")),
                            Some("missing_required_parameter"),
                        ));
                    }
                }
            }
            "function_call" => {
                let ok = ["call_id", "name", "arguments"]
                    .iter()
                    .all(|f| item.get(*f).is_some_and(Value::is_string));
                if !ok {
                    return Err(error(
                        format!(
                            "Invalid 'input[{i}]': a function_call needs call_id, name and arguments (a string)."
                        ),
                        Some(format!("input[{i}]")),
                        Some("invalid_value"),
                    ));
                }
                calls.insert(item["call_id"].as_str().unwrap_or_default().to_owned());
            }
            "function_call_output" => {
                let id = item
                    .get("call_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !upstream_history && !calls.contains(id) {
                    return Err(error(
                        format!("No tool call found for function call output with call_id {id}."),
                        Some("input".into()),
                        None,
                    ));
                }
                if !item
                    .get("output")
                    .is_some_and(|o| o.is_string() || o.is_array())
                {
                    return Err(error(
                        format!("Missing required parameter: 'input[{i}].output'."),
                        Some(format!("input[{i}].output")),
                        Some("missing_required_parameter"),
                    ));
                }
            }
            "reasoning"
            | "item_reference"
            | "custom_tool_call"
            | "custom_tool_call_output"
            | "local_shell_call"
            | "local_shell_call_output"
            | "web_search_call" => {}
            other => {
                return Err(error(
                    format!("Invalid value: '{other}'."),
                    Some(format!("input[{i}].type")),
                    Some("invalid_value"),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_openai_refuses() {
        let ok = json!({"model": "gpt-4.1", "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "x"}]},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "1"}]});
        assert!(check_responses(&ok).is_ok());
        for (bad, param) in [
            (
                json!({"model": "gpt-4.1", "input": "x", "messages": []}),
                "messages",
            ),
            (
                json!({"model": "gpt-4.1", "input": "x", "max_output_tokens": 5}),
                "max_output_tokens",
            ),
            (
                json!({"model": "gpt-4.1", "input": "x", "reasoning": {"effort": "low"}}),
                "reasoning.effort",
            ),
            (
                json!({"model": "gpt-4.1", "input": [{"role": "tool", "content": "x"}]}),
                "input[0].role",
            ),
            (
                json!({"model": "gpt-4.1", "input": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]}),
                "input[0].content[0].type",
            ),
            (
                json!({"model": "gpt-4.1", "input": [{"type": "function_call_output", "call_id": "c9", "output": "1"}]}),
                "input",
            ),
            (
                json!({"model": "gpt-4.1", "input": "x", "tools": [{"type": "function", "function": {"name": "f"}}]}),
                "tools[0].function",
            ),
        ] {
            assert_eq!(
                check_responses(&bad).unwrap_err().body["error"]["param"],
                param,
                "{bad}"
            );
        }
        assert!(
            check_responses(&json!({"model": "o3", "input": "x", "reasoning": {"effort": "low"}}))
                .is_ok()
        );
        assert!(check_responses(&json!({"model": "gpt-4.1", "previous_response_id": "r", "input": [{"type": "function_call_output", "call_id": "c9", "output": "1"}]})).is_ok());
    }
}
