//! OpenAI chat-completions requests ↔ the neutral form.

use serde_json::{Map, Value, json};

use crate::providers::ProviderError;
use crate::providers::edited::Edited;
use crate::providers::ir::{
    ChatRequest, Effort, Image, Message, Part, Reasoning, ResponseFormat, Role, Tool, ToolChoice,
};

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

fn content_parts(content: &Value) -> Vec<Part> {
    match content {
        Value::String(s) if !s.is_empty() => vec![Part::Text(s.clone())],
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| match p.get("type").and_then(Value::as_str) {
                Some("text") => p
                    .get("text")
                    .and_then(Value::as_str)
                    .map(|t| Part::Text(t.into())),
                Some("image_url") => p
                    .pointer("/image_url/url")
                    .or_else(|| p.get("image_url"))
                    .and_then(Value::as_str)
                    .map(|u| Part::Image(Image::from_url(u))),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Append parts to the last message when it has the same role, else start a new one.
fn push(messages: &mut Vec<Message>, role: Role, parts: Vec<Part>) {
    if parts.is_empty() {
        return;
    }
    match messages.last_mut() {
        Some(last) if last.role == role => last.parts.extend(parts),
        _ => messages.push(Message { role, parts }),
    }
}

/// Parse an OpenAI chat-completions body.
pub(crate) fn parse(body: &Value) -> Result<ChatRequest, ProviderError> {
    let mut req = ChatRequest::default();
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| ProviderError::caller("messages must be an array"))?;
    for m in messages {
        let content = m.get("content").unwrap_or(&Value::Null);
        match m.get("role").and_then(Value::as_str) {
            Some("system" | "developer") => req.system.push(text_of(content)),
            Some("user") => push(&mut req.messages, Role::User, content_parts(content)),
            Some("assistant") => {
                let mut parts = Vec::new();
                if let Some(r) = m.get("reasoning_content").and_then(Value::as_str)
                    && !r.is_empty()
                {
                    parts.push(Part::Thinking {
                        text: r.into(),
                        signature: None,
                    });
                }
                parts.extend(content_parts(content));
                for call in m
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    parts.push(Part::ToolCall {
                        id: str_at(call, "/id"),
                        name: str_at(call, "/function/name"),
                        arguments: str_at(call, "/function/arguments"),
                    });
                }
                push(&mut req.messages, Role::Assistant, parts);
            }
            Some("tool" | "function") => push(
                &mut req.messages,
                Role::User,
                vec![Part::ToolResult {
                    id: str_at(m, "/tool_call_id"),
                    content: text_of(content),
                    is_error: false,
                    images: Vec::new(),
                }],
            ),
            other => {
                return Err(ProviderError::caller(format!(
                    "unknown message role {}",
                    other.unwrap_or("(none)")
                )));
            }
        }
    }
    for t in body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let f = t.get("function").unwrap_or(t);
        req.tools.push(Tool {
            name: str_at(f, "/name"),
            description: f
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            parameters: f
                .get("parameters")
                .cloned()
                .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
        });
    }
    req.tool_choice = match body.get("tool_choice") {
        Some(Value::String(s)) => match s.as_str() {
            "none" => Some(ToolChoice::None),
            "required" => Some(ToolChoice::Required),
            _ => Some(ToolChoice::Auto),
        },
        Some(v @ Value::Object(_)) => Some(ToolChoice::Named(str_at(v, "/function/name"))),
        _ => None,
    };
    req.parallel_tool_calls = body.get("parallel_tool_calls").and_then(Value::as_bool);
    req.response_format = match body
        .pointer("/response_format/type")
        .and_then(Value::as_str)
    {
        Some("json_object") => Some(ResponseFormat::JsonObject),
        Some("json_schema") => {
            let js = body
                .pointer("/response_format/json_schema")
                .unwrap_or(&Value::Null);
            Some(ResponseFormat::JsonSchema {
                name: js
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("response")
                    .into(),
                schema: js.get("schema").cloned().unwrap_or_else(|| json!({})),
                strict: js.get("strict").and_then(Value::as_bool).unwrap_or(false),
            })
        }
        _ => None,
    };
    req.reasoning = body
        .get("reasoning_effort")
        .and_then(Value::as_str)
        .and_then(Reasoning::parse_effort);
    req.stop = match body.get("stop") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    req.temperature = body.get("temperature").and_then(Value::as_f64);
    req.top_p = body.get("top_p").and_then(Value::as_f64);
    req.max_tokens = body
        .get("max_completion_tokens")
        .or_else(|| body.get("max_tokens"))
        .and_then(Value::as_u64);
    req.stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    req.include_usage = body
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    req.user = body.get("user").and_then(Value::as_str).map(str::to_owned);
    Ok(req)
}

pub(crate) fn str_at(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Which OpenAI-compatible API the body is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavour {
    OpenAi,
    Xai,
}

/// Whether `model` accepts `reasoning_effort`.
pub(crate) fn supports_effort(flavour: Flavour, model: &str) -> bool {
    match flavour {
        Flavour::OpenAi => ["o1", "o3", "o4", "gpt-5"]
            .iter()
            .any(|p| model.starts_with(p)),
        // grok-4 reasons always and rejects the parameter; grok-3-mini takes low|high.
        Flavour::Xai => model.starts_with("grok-3-mini"),
    }
}

/// The `reasoning_effort` a model takes for `r` (`None`: the model takes none). Requesty's mapping for
/// OpenAI: `none`/`min` → `low` (the least o-series models do; GPT-5.1 and later take `none` itself),
/// `max`/`xhigh` → `high`, `minimal` → `minimal` on GPT-5 (else `low`); a budget became its effort when
/// parsed. xAI's `grok-3-mini` takes `low` or `high`.
pub(crate) fn effort_for(flavour: Flavour, model: &str, r: Reasoning) -> Option<&'static str> {
    if !supports_effort(flavour, model) {
        return None;
    }
    let gpt5 = model.starts_with("gpt-5");
    let takes_none = model.starts_with("gpt-5.") && !model.starts_with("gpt-5.0");
    Some(match (flavour, r.effort) {
        (Flavour::Xai, Effort::None | Effort::Minimal | Effort::Low) => "low",
        (Flavour::Xai, _) => "high",
        (Flavour::OpenAi, Effort::None) if takes_none => "none",
        (Flavour::OpenAi, Effort::None) => "low",
        (Flavour::OpenAi, Effort::Minimal) if gpt5 => "minimal",
        (Flavour::OpenAi, Effort::Minimal | Effort::Low) => "low",
        (Flavour::OpenAi, Effort::Medium) => "medium",
        (Flavour::OpenAi, Effort::High | Effort::Max) => "high",
    })
}

/// A same-format (passthrough) body's `reasoning_effort`, in Requesty's values, made one the model takes:
/// mapped by [`effort_for`], or removed for a model without it. A value that is not a valid effort is left
/// for the provider to refuse (the router refuses it first).
pub(crate) fn normalise_effort(body: &mut Edited<'_>, model: &str, flavour: Flavour) {
    let Some(r) = body
        .get("reasoning_effort")
        .and_then(|v| v.as_str().and_then(Reasoning::parse_effort))
    else {
        return;
    };
    match effort_for(flavour, model, r) {
        Some(effort) => body.set("reasoning_effort", effort),
        None => body.remove("reasoning_effort"),
    }
}

/// The text parts, in order.
fn texts(parts: &[Part]) -> Vec<&str> {
    parts
        .iter()
        .filter_map(|p| match p {
            Part::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// Most stop sequences chat completions accepts.
pub(crate) const MAX_STOP: usize = 4;

/// Emit an OpenAI-compatible body for `model`.
pub(crate) fn emit(req: &ChatRequest, model: &str, flavour: Flavour) -> Value {
    let mut out = Map::new();
    out.insert("model".into(), model.into());
    let mut messages = Vec::new();
    let system = req.system.join("\n\n");
    if !system.is_empty() {
        messages.push(json!({"role": "system", "content": system}));
    }
    for m in &req.messages {
        match m.role {
            Role::System => {
                let text = texts(&m.parts).join("\n\n");
                if !text.is_empty() {
                    messages.push(json!({"role": "system", "content": text}));
                }
            }
            Role::User => {
                let mut content = Vec::new();
                // Tool messages carry text only: images a tool returned follow them in a user message.
                let mut tool_images = Vec::new();
                for p in &m.parts {
                    match p {
                        Part::ToolResult {
                            id,
                            content: c,
                            is_error,
                            images,
                        } => {
                            // Chat completions has no error flag on a tool result: say it in the text.
                            let c = if *is_error {
                                format!("Error: {c}")
                            } else {
                                c.clone()
                            };
                            messages
                                .push(json!({"role": "tool", "tool_call_id": id, "content": c}));
                            tool_images.extend(images.iter().map(
                                |img| json!({"type": "image_url", "image_url": {"url": img.to_url()}}),
                            ));
                        }
                        Part::Text(t) if !t.is_empty() => {
                            content.push(json!({"type": "text", "text": t}))
                        }
                        Part::Image(img) => content
                            .push(json!({"type": "image_url", "image_url": {"url": img.to_url()}})),
                        _ => {}
                    }
                }
                if !tool_images.is_empty() {
                    messages.push(json!({"role": "user", "content": tool_images}));
                }
                if content.len() == 1 && content[0]["type"] == "text" {
                    messages.push(json!({"role": "user", "content": content[0]["text"]}));
                } else if !content.is_empty() {
                    messages.push(json!({"role": "user", "content": content}));
                }
            }
            Role::Assistant => {
                let text: String = texts(&m.parts).concat();
                let calls: Vec<Value> = m
                    .parts
                    .iter()
                    .filter_map(|p| match p {
                        Part::ToolCall {
                            id,
                            name,
                            arguments,
                        } => Some(json!({
                            "id": id, "type": "function",
                            "function": {"name": name, "arguments": arguments}
                        })),
                        _ => None,
                    })
                    .collect();
                if text.is_empty() && calls.is_empty() {
                    continue; // e.g. reasoning only: chat completions takes no reasoning as input
                }
                let mut msg = json!({"role": "assistant", "content": if text.is_empty() { Value::Null } else { text.into() }});
                if !calls.is_empty() {
                    msg["tool_calls"] = calls.into();
                }
                messages.push(msg);
            }
        }
    }
    out.insert("messages".into(), messages.into());
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut f = json!({"name": t.name, "parameters": t.parameters});
                if let Some(d) = &t.description {
                    f["description"] = d.clone().into();
                }
                json!({"type": "function", "function": f})
            })
            .collect();
        out.insert("tools".into(), tools.into());
    }
    if let Some(tc) = &req.tool_choice {
        let v = match tc {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::None => json!("none"),
            ToolChoice::Required => json!("required"),
            ToolChoice::Named(n) => json!({"type": "function", "function": {"name": n}}),
        };
        out.insert("tool_choice".into(), v);
    }
    if let Some(p) = req.parallel_tool_calls
        && !req.tools.is_empty()
    {
        out.insert("parallel_tool_calls".into(), p.into());
    }
    match &req.response_format {
        Some(ResponseFormat::JsonObject) => {
            out.insert("response_format".into(), json!({"type": "json_object"}));
        }
        Some(ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        }) => {
            out.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": strict}}),
            );
        }
        None => {}
    }
    if let Some(effort) = req.reasoning.and_then(|r| effort_for(flavour, model, r)) {
        out.insert("reasoning_effort".into(), effort.into());
    }
    if !req.stop.is_empty() {
        let stop: Vec<&String> = req.stop.iter().take(MAX_STOP).collect();
        out.insert("stop".into(), json!(stop));
    }
    if let Some(t) = req.temperature {
        out.insert("temperature".into(), t.into());
    }
    if let Some(t) = req.top_p {
        out.insert("top_p".into(), t.into());
    }
    if let Some(m) = req.max_tokens {
        out.insert("max_completion_tokens".into(), m.into());
    }
    if req.stream {
        out.insert("stream".into(), true.into());
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
    if let Some(u) = &req.user {
        out.insert("user".into(), u.clone().into());
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented chat-completions example with tools, an image and a tool result.
    fn sample() -> Value {
        json!({
            "model": "gpt-4.1",
            "messages": [
                {"role": "developer", "content": "You are terse."},
                {"role": "user", "content": [
                    {"type": "text", "text": "What's the weather in Boston, and what is in this image?"},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/AA=="}}
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_abc123", "type": "function", "function": {"name": "get_current_weather", "arguments": "{\"location\":\"Boston, MA\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_abc123", "content": "{\"temp\":22}"}
            ],
            "tools": [{"type": "function", "function": {
                "name": "get_current_weather", "description": "Get the current weather in a given location",
                "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}
            }}],
            "tool_choice": {"type": "function", "function": {"name": "get_current_weather"}},
            "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}, "strict": true}},
            "reasoning_effort": "medium",
            "stop": "END",
            "temperature": 0.2,
            "max_tokens": 300,
            "stream": true,
            "stream_options": {"include_usage": true},
            "user": "u-1"
        })
    }

    #[test]
    fn parses_every_field() {
        let r = parse(&sample()).unwrap();
        assert_eq!(r.system, vec!["You are terse."]);
        assert_eq!(r.messages.len(), 3);
        assert!(
            matches!(&r.messages[0].parts[1], Part::Image(Image::Base64 { media_type, .. }) if media_type == "image/jpeg")
        );
        assert!(
            matches!(&r.messages[1].parts[0], Part::ToolCall { id, .. } if id == "call_abc123")
        );
        assert!(
            matches!(&r.messages[2].parts[0], Part::ToolResult { id, .. } if id == "call_abc123")
        );
        assert_eq!(
            r.tool_choice,
            Some(ToolChoice::Named("get_current_weather".into()))
        );
        assert!(matches!(
            r.response_format,
            Some(ResponseFormat::JsonSchema { strict: true, .. })
        ));
        assert_eq!(r.reasoning.unwrap().effort, Effort::Medium);
        assert_eq!(r.stop, vec!["END"]);
        assert_eq!(
            (r.max_tokens, r.stream, r.include_usage),
            (Some(300), true, true)
        );
        assert_eq!(r.user.as_deref(), Some("u-1"));
    }

    #[test]
    fn emits_what_it_parses() {
        let r = parse(&sample()).unwrap();
        let out = emit(&r, "o4-mini", Flavour::OpenAi);
        assert_eq!(
            out["messages"][0],
            json!({"role": "system", "content": "You are terse."})
        );
        assert_eq!(out["messages"][2]["tool_calls"][0]["id"], "call_abc123");
        assert_eq!(out["messages"][3]["role"], "tool");
        assert_eq!(out["reasoning_effort"], "medium");
        assert_eq!(out["max_completion_tokens"], 300);
        assert_eq!(out["stream_options"]["include_usage"], true);
        assert_eq!(parse(&out).unwrap().messages, r.messages);
        // Models without reasoning_effort do not get it.
        assert!(
            emit(&r, "gpt-4.1", Flavour::OpenAi)
                .get("reasoning_effort")
                .is_none()
        );
        assert!(
            emit(&r, "grok-4", Flavour::Xai)
                .get("reasoning_effort")
                .is_none()
        );
        assert_eq!(
            emit(&r, "grok-3-mini", Flavour::Xai)["reasoning_effort"],
            "high"
        );
    }

    #[test]
    fn rejects_unknown_roles() {
        let e = parse(&json!({"messages": [{"role": "wizard", "content": "x"}]})).unwrap_err();
        assert_eq!(e.class, crate::providers::ErrorClass::CallerError);
    }
}
