//! `POST /v1/chat/completions` as OpenAI (and xAI) check it: unknown parameters and roles are refused with
//! OpenAI's 400 bodies, message fields are checked per role, a `tool` message must answer a tool call of
//! the assistant message before it, and `reasoning_effort` is refused on models without reasoning.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::{Checked, Refusal, type_of, unknown_key};

const PARAMS: &[&str] = &[
    "model",
    "messages",
    "audio",
    "frequency_penalty",
    "function_call",
    "functions",
    "logit_bias",
    "logprobs",
    "max_completion_tokens",
    "max_tokens",
    "metadata",
    "modalities",
    "n",
    "parallel_tool_calls",
    "prediction",
    "presence_penalty",
    "prompt_cache_key",
    "reasoning_effort",
    "response_format",
    "safety_identifier",
    "seed",
    "service_tier",
    "stop",
    "store",
    "stream",
    "stream_options",
    "temperature",
    "tool_choice",
    "tools",
    "top_logprobs",
    "top_p",
    "user",
    "verbosity",
    "web_search_options",
];
/// xAI's additions to the OpenAI parameters.
const XAI_PARAMS: &[&str] = &["search_parameters", "deferred"];

fn error(message: String, param: Option<String>, code: Option<&str>) -> Refusal {
    Refusal {
        status: 400,
        body: json!({"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}),
    }
}

/// Whether the model takes `reasoning_effort` (o-series and gpt-5 at OpenAI; grok-3-mini at xAI).
fn reasons(xai: bool, model: &str) -> bool {
    if xai {
        model.starts_with("grok-3-mini")
    } else {
        ["o1", "o3", "o4", "gpt-5"]
            .iter()
            .any(|p| model.starts_with(p))
    }
}

pub fn check_chat(body: &Value, xai: bool) -> Checked {
    let Some(obj) = body.as_object() else {
        return Err(error(
            "We could not parse the JSON body of your request.".into(),
            None,
            None,
        ));
    };
    for key in obj.keys() {
        if !(PARAMS.contains(&key.as_str()) || (xai && XAI_PARAMS.contains(&key.as_str()))) {
            return Err(error(
                format!("Unrecognized request argument supplied: {key}"),
                None,
                None,
            ));
        }
    }
    let model = obj.get("model").and_then(Value::as_str).unwrap_or_default();
    if obj.contains_key("reasoning_effort") && !reasons(xai, model) {
        return Err(error(
            "Unsupported parameter: 'reasoning_effort' is not supported with this model.".into(),
            Some("reasoning_effort".into()),
            Some("unsupported_parameter"),
        ));
    }
    let valid = if xai {
        // grok-3-mini: low or high only.
        matches!(
            obj.get("reasoning_effort").and_then(Value::as_str),
            Some("low" | "high")
        )
    } else {
        matches!(
            obj.get("reasoning_effort").and_then(Value::as_str),
            Some("none" | "minimal" | "low" | "medium" | "high" | "xhigh")
        )
    };
    if let Some(e) = obj.get("reasoning_effort")
        && !valid
    {
        return Err(error(
            format!(
                "Invalid value: {e}. Supported values are: 'none', 'minimal', 'low', 'medium', 'high', and 'xhigh'."
            ),
            Some("reasoning_effort".into()),
            Some("invalid_value"),
        ));
    }
    let messages = obj
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            error(
                "Missing required parameter: 'messages'.".into(),
                Some("messages".into()),
                Some("missing_required_parameter"),
            )
        })?;
    if let Some(tools) = obj.get("tools").and_then(Value::as_array) {
        for (i, t) in tools.iter().enumerate() {
            let f = t.get("function").and_then(Value::as_object);
            let ok = type_of(t) == Some("function")
                && f.is_some_and(|f| {
                    unknown_key(f, &["name", "description", "parameters", "strict"]).is_none()
                        && f.get("name").is_some_and(Value::is_string)
                });
            if !ok {
                return Err(error(
                    format!(
                        "Invalid 'tools[{i}]': a function tool needs type 'function' and function.name, with only name, description, parameters and strict."
                    ),
                    Some(format!("tools[{i}]")),
                    Some("invalid_value"),
                ));
            }
        }
    }
    let mut open_calls: HashSet<String> = HashSet::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        let allowed: &[&str] = match role {
            "system" | "developer" | "user" => &["role", "content", "name"],
            "assistant" => &[
                "role",
                "content",
                "name",
                "tool_calls",
                "refusal",
                "audio",
                "function_call",
            ],
            "tool" => &["role", "content", "tool_call_id"],
            "function" => &["role", "content", "name"],
            other => {
                return Err(error(
                    format!(
                        "Invalid value: '{other}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'."
                    ),
                    Some(format!("messages[{i}].role")),
                    Some("invalid_value"),
                ));
            }
        };
        let Some(mobj) = m.as_object() else {
            return Err(error(
                format!("Invalid type for 'messages[{i}]': expected an object."),
                Some(format!("messages[{i}]")),
                Some("invalid_type"),
            ));
        };
        if let Some(k) = unknown_key(mobj, allowed) {
            return Err(error(
                format!("Unrecognized request argument supplied: messages[{i}].{k}"),
                Some(format!("messages[{i}].{k}")),
                None,
            ));
        }
        if let Some(Value::Array(parts)) = m.get("content") {
            let kinds: &[&str] = match role {
                "user" => &["text", "image_url", "input_audio", "file"],
                "assistant" => &["text", "refusal"],
                _ => &["text"],
            };
            for (j, p) in parts.iter().enumerate() {
                let kind = type_of(p).unwrap_or_default();
                if !kinds.contains(&kind) {
                    return Err(error(
                        format!(
                            "Invalid value: '{kind}'. Supported values are: {}.",
                            kinds
                                .iter()
                                .map(|k| format!("'{k}'"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        Some(format!("messages[{i}].content[{j}].type")),
                        Some("invalid_value"),
                    ));
                }
            }
        }
        match role {
            "assistant" => {
                open_calls = m
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.get("id").and_then(Value::as_str).map(str::to_owned))
                    .collect();
            }
            "tool" => {
                let id = m
                    .get("tool_call_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !open_calls.contains(id) {
                    return Err(error(
                        "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.".into(),
                        Some(format!("messages.[{i}].role")),
                        None,
                    ));
                }
            }
            _ => open_calls.clear(),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_unknown_roles_fields_and_orphan_tool_messages() {
        let e = check_chat(
            &json!({"model": "gpt-4.1", "messages": [{"role": "wizard", "content": "x"}]}),
            false,
        )
        .unwrap_err();
        assert_eq!(e.body["error"]["param"], "messages[0].role");
        assert_eq!(e.body["error"]["code"], "invalid_value");
        let e = check_chat(
            &json!({"model": "gpt-4.1", "messages": [], "thinking": {}}),
            false,
        )
        .unwrap_err();
        assert_eq!(
            e.body["error"]["message"],
            "Unrecognized request argument supplied: thinking"
        );
        let e = check_chat(
            &json!({"model": "gpt-4.1", "messages": [], "reasoning_effort": "low"}),
            false,
        )
        .unwrap_err();
        assert_eq!(e.body["error"]["param"], "reasoning_effort");
        assert!(
            check_chat(
                &json!({"model": "o3", "messages": [], "reasoning_effort": "low"}),
                false
            )
            .is_ok()
        );
        let orphan = json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "c1", "content": "1"}]});
        assert!(check_chat(&orphan, false).is_err());
        let ok = json!({"model": "gpt-4.1", "messages": [{"role": "assistant", "content": null,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "1"}]});
        assert!(check_chat(&ok, false).is_ok());
        let reasoning_in_history = json!({"model": "gpt-4.1", "messages": [{"role": "assistant", "content": "x", "reasoning_content": "r"}]});
        assert!(check_chat(&reasoning_in_history, false).is_err());
    }
}
