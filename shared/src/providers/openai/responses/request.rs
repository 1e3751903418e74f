//! OpenAI Responses requests (`POST /v1/responses`) → the neutral form, for providers that do not speak
//! the Responses API. What only OpenAI can honour (state it keeps, its built-in tools) is named by
//! [`stateful_field`] so the router can refuse it before a route leaves OpenAI.

use serde_json::{Value, json};

use crate::providers::ProviderError;
use crate::providers::ir::{
    ChatRequest, Effort, Image, Message, Part, Reasoning, ResponseFormat, Role, Tool, ToolChoice,
};

use super::super::request::str_at;

/// Every top-level parameter of `POST /v1/responses` (OpenAI's API reference).
pub const PARAMS: &[&str] = &[
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

/// The first field of a Responses request that needs OpenAI itself: state OpenAI keeps between calls
/// (`previous_response_id`, `conversation`, `store: true`, `background`, a stored `prompt`, an
/// `item_reference` input) or a tool OpenAI runs (anything but `function`). `None` when the request is
/// self-contained and can be translated for any provider.
pub fn stateful_field(body: &Value) -> Option<&'static str> {
    let set = |field: &str| body.get(field).is_some_and(|v| !v.is_null());
    if set("previous_response_id") {
        return Some("previous_response_id");
    }
    if set("conversation") {
        return Some("conversation");
    }
    if set("prompt") {
        return Some("prompt");
    }
    if body.get("store").and_then(Value::as_bool) == Some(true) {
        return Some("store");
    }
    if body.get("background").and_then(Value::as_bool) == Some(true) {
        return Some("background");
    }
    let items = body.get("input").and_then(Value::as_array);
    if items
        .into_iter()
        .flatten()
        .any(|i| i.get("type").and_then(Value::as_str) == Some("item_reference"))
    {
        return Some("input");
    }
    let tools = body.get("tools").and_then(Value::as_array);
    if tools
        .into_iter()
        .flatten()
        .any(|t| t.get("type").and_then(Value::as_str) != Some("function"))
    {
        return Some("tools");
    }
    None
}

fn invalid(message: impl Into<String>) -> ProviderError {
    ProviderError::caller(message)
}

/// Parse a Responses body into the neutral form.
pub(crate) fn parse(body: &Value) -> Result<ChatRequest, ProviderError> {
    let obj = body
        .as_object()
        .ok_or_else(|| invalid("the request body must be a JSON object"))?;
    if let Some(key) = obj.keys().find(|k| !PARAMS.contains(&k.as_str())) {
        return Err(invalid(format!(
            "Unrecognized request argument supplied: {key}"
        )));
    }
    if let Some(field) = stateful_field(body) {
        return Err(invalid(format!(
            "{field} needs OpenAI's stored state or built-in tools and cannot be sent to another provider"
        )));
    }
    let mut req = ChatRequest::default();
    match body.get("instructions") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            if !s.is_empty() {
                req.system.push(s.clone());
            }
        }
        Some(_) => return Err(invalid("instructions must be a string")),
    }
    match body.get("input") {
        Some(Value::String(s)) => req.messages.push(Message {
            role: Role::User,
            parts: vec![Part::Text(s.clone())],
        }),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                add_item(&mut req, item).map_err(|e| invalid(format!("input[{i}]: {e}")))?;
            }
        }
        None | Some(Value::Null) => return Err(invalid("input is required")),
        Some(_) => return Err(invalid("input must be a string or an array of items")),
    }
    for (i, t) in body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = t.get("name").and_then(Value::as_str).unwrap_or_default();
        if name.is_empty() {
            return Err(invalid(format!("tools[{i}].name is required")));
        }
        req.tools.push(Tool {
            name: name.to_owned(),
            description: t
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            parameters: t
                .get("parameters")
                .filter(|p| !p.is_null())
                .cloned()
                .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
        });
    }
    req.tool_choice = match body.get("tool_choice") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(match s.as_str() {
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            "auto" => ToolChoice::Auto,
            other => return Err(invalid(format!("unknown tool_choice {other:?}"))),
        }),
        Some(v) => match v.get("type").and_then(Value::as_str) {
            Some("function") => Some(ToolChoice::Named(str_at(v, "/name"))),
            Some("allowed_tools") => Some(match v.get("mode").and_then(Value::as_str) {
                Some("required") => ToolChoice::Required,
                _ => ToolChoice::Auto,
            }),
            _ => return Err(invalid("tool_choice names a tool only OpenAI runs")),
        },
    };
    req.parallel_tool_calls = body.get("parallel_tool_calls").and_then(Value::as_bool);
    req.response_format = match body.pointer("/text/format") {
        None | Some(Value::Null) => None,
        Some(f) => match f.get("type").and_then(Value::as_str) {
            Some("text") => None,
            Some("json_object") => Some(ResponseFormat::JsonObject),
            Some("json_schema") => Some(ResponseFormat::JsonSchema {
                name: f
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("response")
                    .to_owned(),
                schema: f.get("schema").cloned().unwrap_or_else(|| json!({})),
                strict: f.get("strict").and_then(Value::as_bool).unwrap_or(false),
            }),
            _ => {
                return Err(invalid(
                    "text.format.type must be text, json_object or json_schema",
                ));
            }
        },
    };
    req.reasoning = match body.pointer("/reasoning/effort") {
        None | Some(Value::Null) => None,
        Some(Value::String(e)) => match e.as_str() {
            "none" => None,
            "xhigh" => Some(Reasoning::from_effort(Effort::High)),
            other => Some(Reasoning::from_effort(Effort::parse(other).ok_or_else(|| {
                invalid(format!(
                    "reasoning.effort must be none, minimal, low, medium, high or xhigh, not {other:?}"
                ))
            })?)),
        },
        Some(_) => return Err(invalid("reasoning.effort must be a string")),
    };
    let number = |field: &str| -> Result<Option<f64>, ProviderError> {
        match body.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| invalid(format!("{field} must be a number"))),
        }
    };
    req.temperature = number("temperature")?;
    req.top_p = number("top_p")?;
    req.max_tokens = match body.get("max_output_tokens") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|n| *n > 0)
                .ok_or_else(|| invalid("max_output_tokens must be a positive integer"))?,
        ),
    };
    req.user = ["safety_identifier", "user"]
        .iter()
        .find_map(|f| body.get(*f).and_then(Value::as_str))
        .map(str::to_owned);
    Ok(req)
}

/// Append parts to the last message when it has the same role, else start a new one.
fn push(req: &mut ChatRequest, role: Role, parts: Vec<Part>) {
    if parts.is_empty() {
        return;
    }
    match req.messages.last_mut() {
        Some(last) if last.role == role => last.parts.extend(parts),
        _ => req.messages.push(Message { role, parts }),
    }
}

fn add_item(req: &mut ChatRequest, item: &Value) -> Result<(), String> {
    let kind = item.get("type").and_then(Value::as_str);
    match kind {
        None | Some("message") => add_message(req, item),
        Some("function_call") => {
            let call_id = str_at(item, "/call_id");
            if call_id.is_empty() {
                return Err("a function_call needs its call_id".into());
            }
            push(
                req,
                Role::Assistant,
                vec![Part::ToolCall {
                    id: call_id,
                    name: str_at(item, "/name"),
                    arguments: str_at(item, "/arguments"),
                }],
            );
            Ok(())
        }
        Some("function_call_output") => {
            let call_id = str_at(item, "/call_id");
            if call_id.is_empty() {
                return Err("a function_call_output needs its call_id".into());
            }
            let (content, images) = match item.get("output") {
                Some(Value::String(s)) => (s.clone(), Vec::new()),
                Some(Value::Array(parts)) => {
                    let mut texts = Vec::new();
                    let mut images = Vec::new();
                    for p in parts {
                        match input_part(p)? {
                            Part::Text(t) => texts.push(t),
                            Part::Image(i) => images.push(i),
                            _ => {}
                        }
                    }
                    (texts.join("\n"), images)
                }
                _ => return Err("function_call_output.output must be a string or an array".into()),
            };
            push(
                req,
                Role::User,
                vec![Part::ToolResult {
                    id: call_id,
                    content,
                    is_error: false,
                    images,
                }],
            );
            Ok(())
        }
        Some("reasoning") => {
            let text = ["summary", "content"]
                .iter()
                .filter_map(|f| item.get(*f).and_then(Value::as_array))
                .flatten()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n");
            let signature = item
                .get("encrypted_content")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if !text.is_empty() || signature.is_some() {
                push(
                    req,
                    Role::Assistant,
                    vec![Part::Thinking { text, signature }],
                );
            }
            Ok(())
        }
        Some(other) => Err(format!(
            "items of type {other} need OpenAI itself and cannot be sent to another provider"
        )),
    }
}

fn add_message(req: &mut ChatRequest, item: &Value) -> Result<(), String> {
    let role = item.get("role").and_then(Value::as_str).unwrap_or_default();
    let parts = match item.get("content") {
        Some(Value::String(s)) => vec![Part::Text(s.clone())],
        Some(Value::Array(parts)) => parts.iter().map(input_part).collect::<Result<_, _>>()?,
        _ => return Err("a message's content must be a string or an array of parts".into()),
    };
    match role {
        "user" => push(req, Role::User, parts),
        "assistant" => push(req, Role::Assistant, parts),
        "system" | "developer" => {
            let text = parts
                .iter()
                .filter_map(|p| match p {
                    Part::Text(t) => Some(t.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n");
            if req.messages.is_empty() {
                req.system.push(text);
            } else {
                push(req, Role::System, vec![Part::Text(text)]);
            }
        }
        other => return Err(format!("unknown message role {other:?}")),
    }
    Ok(())
}

/// One content part of an input message or a function output.
fn input_part(p: &Value) -> Result<Part, String> {
    match p.get("type").and_then(Value::as_str) {
        Some("input_text" | "output_text" | "text") => Ok(Part::Text(str_at(p, "/text"))),
        Some("refusal") => Ok(Part::Text(str_at(p, "/refusal"))),
        Some("input_image") => match p.get("image_url").and_then(Value::as_str) {
            Some(url) => Ok(Part::Image(Image::from_url(url))),
            None => {
                Err("input_image needs an image_url (file_id refers to OpenAI's file store)".into())
            }
        },
        Some(other) => Err(format!(
            "content parts of type {other} cannot be sent to another provider"
        )),
        None => Err("a content part needs a type".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_input_is_one_user_message() {
        let r = parse(
            &json!({"model": "m", "input": "hi", "instructions": "be brief",
            "max_output_tokens": 50, "temperature": 0.2, "reasoning": {"effort": "low"}}),
        )
        .unwrap();
        assert_eq!(r.system, ["be brief"]);
        assert_eq!(
            r.messages,
            [Message {
                role: Role::User,
                parts: vec![Part::Text("hi".into())]
            }]
        );
        assert_eq!((r.max_tokens, r.temperature), (Some(50), Some(0.2)));
        assert_eq!(r.reasoning.unwrap().effort, Effort::Low);
    }

    #[test]
    fn items_become_messages_tool_calls_and_results() {
        let r = parse(&json!({"model": "m", "input": [
            {"role": "developer", "content": "rules"},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "look"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "hmm"}], "encrypted_content": "sig"},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "42"},
            {"role": "system", "content": "later rule"}
        ], "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
           "tool_choice": {"type": "function", "name": "f"},
           "text": {"format": {"type": "json_schema", "name": "n", "schema": {"type": "object"}, "strict": true}}}))
        .unwrap();
        assert_eq!(r.system, ["rules"]);
        assert_eq!(r.messages.len(), 4);
        assert_eq!(
            r.messages[1].parts[0],
            Part::Thinking {
                text: "hmm".into(),
                signature: Some("sig".into())
            }
        );
        assert!(matches!(&r.messages[1].parts[1], Part::ToolCall { id, .. } if id == "c1"));
        assert!(
            matches!(&r.messages[2].parts[0], Part::ToolResult { id, content, .. } if id == "c1" && content == "42")
        );
        assert_eq!(r.messages[3].role, Role::System);
        assert_eq!(r.tool_choice, Some(ToolChoice::Named("f".into())));
        assert!(matches!(
            r.response_format,
            Some(ResponseFormat::JsonSchema { strict: true, .. })
        ));
    }

    #[test]
    fn state_and_builtin_tools_are_named_and_refused() {
        for (body, field) in [
            (
                json!({"input": "x", "previous_response_id": "resp_1"}),
                "previous_response_id",
            ),
            (json!({"input": "x", "store": true}), "store"),
            (
                json!({"input": "x", "conversation": "conv_1"}),
                "conversation",
            ),
            (
                json!({"input": "x", "tools": [{"type": "web_search"}]}),
                "tools",
            ),
            (
                json!({"input": [{"type": "item_reference", "id": "msg_1"}]}),
                "input",
            ),
        ] {
            assert_eq!(stateful_field(&body), Some(field), "{body}");
            assert!(parse(&body).is_err());
        }
        assert_eq!(stateful_field(&json!({"input": "x", "store": false})), None);
        assert!(parse(&json!({"input": "x", "colour": 1})).is_err());
        assert!(parse(&json!({"input": [{"role": "tool", "content": "x"}]})).is_err());
        assert!(parse(&json!({"model": "m"})).is_err());
    }
}
