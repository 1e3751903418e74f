//! Anthropic messages requests ↔ the neutral form.

use serde_json::{Map, Value, json};

use crate::providers::ProviderError;
use crate::providers::ir::{
    ChatRequest, Image, Message, Part, Reasoning, ResponseFormat, Role, Tool, ToolChoice,
};
use crate::providers::openai::request::str_at;

/// `max_tokens` is required by Anthropic; this is used when the caller gave none.
pub(crate) const DEFAULT_MAX_TOKENS: u64 = 4096;

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

fn block_to_part(b: &Value) -> Option<Part> {
    match b.get("type").and_then(Value::as_str)? {
        "text" => Some(Part::Text(str_at(b, "/text"))),
        "image" => {
            let src = b.get("source")?;
            Some(Part::Image(match src.get("type").and_then(Value::as_str) {
                Some("base64") => Image::Base64 {
                    media_type: str_at(src, "/media_type"),
                    data: str_at(src, "/data"),
                },
                _ => Image::Url(str_at(src, "/url")),
            }))
        }
        "tool_use" => Some(Part::ToolCall {
            id: str_at(b, "/id"),
            name: str_at(b, "/name"),
            arguments: b
                .get("input")
                .cloned()
                .unwrap_or_else(|| json!({}))
                .to_string(),
        }),
        "tool_result" => Some(Part::ToolResult {
            id: str_at(b, "/tool_use_id"),
            content: text_of(b.get("content").unwrap_or(&Value::Null)),
            is_error: b.get("is_error").and_then(Value::as_bool).unwrap_or(false),
        }),
        "thinking" => Some(Part::Thinking {
            text: str_at(b, "/thinking"),
            signature: b
                .get("signature")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }),
        _ => None,
    }
}

/// Parse an Anthropic messages body.
pub(crate) fn parse(body: &Value) -> Result<ChatRequest, ProviderError> {
    let mut req = ChatRequest::default();
    match body.get("system") {
        Some(Value::String(s)) => req.system.push(s.clone()),
        Some(Value::Array(blocks)) => req.system.extend(
            blocks
                .iter()
                .filter_map(|b| b.get("text").and_then(Value::as_str).map(str::to_owned)),
        ),
        _ => {}
    }
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| ProviderError::caller("messages must be an array"))?;
    for m in messages {
        let role = match m.get("role").and_then(Value::as_str) {
            Some("user") => Role::User,
            Some("assistant") => Role::Assistant,
            other => {
                return Err(ProviderError::caller(format!(
                    "unknown message role {}",
                    other.unwrap_or("(none)")
                )));
            }
        };
        let parts = match m.get("content") {
            Some(Value::String(s)) => vec![Part::Text(s.clone())],
            Some(Value::Array(blocks)) => blocks.iter().filter_map(block_to_part).collect(),
            _ => Vec::new(),
        };
        match req.messages.last_mut() {
            Some(last) if last.role == role => last.parts.extend(parts),
            _ => req.messages.push(Message { role, parts }),
        }
    }
    for t in body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        // Server tools (web search etc.) have no input_schema and no equivalent elsewhere.
        let Some(schema) = t.get("input_schema") else {
            continue;
        };
        req.tools.push(Tool {
            name: str_at(t, "/name"),
            description: t
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            parameters: schema.clone(),
        });
    }
    if let Some(tc) = body.get("tool_choice") {
        req.tool_choice = match tc.get("type").and_then(Value::as_str) {
            Some("any") => Some(ToolChoice::Required),
            Some("none") => Some(ToolChoice::None),
            Some("tool") => Some(ToolChoice::Named(str_at(tc, "/name"))),
            _ => Some(ToolChoice::Auto),
        };
        if tc.get("disable_parallel_tool_use").and_then(Value::as_bool) == Some(true) {
            req.parallel_tool_calls = Some(false);
        }
    }
    if body.pointer("/thinking/type").and_then(Value::as_str) == Some("enabled") {
        let budget = body
            .pointer("/thinking/budget_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(1024);
        req.reasoning = Some(Reasoning::from_budget(budget));
    }
    req.stop = body
        .get("stop_sequences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    req.temperature = body.get("temperature").and_then(Value::as_f64);
    req.top_p = body.get("top_p").and_then(Value::as_f64);
    req.max_tokens = body.get("max_tokens").and_then(Value::as_u64);
    req.stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    req.user = body
        .pointer("/metadata/user_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(req)
}

fn image_block(img: &Image) -> Value {
    match img {
        Image::Base64 { media_type, data } => {
            json!({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}})
        }
        Image::Url(url) => json!({"type": "image", "source": {"type": "url", "url": url}}),
    }
}

fn part_to_block(p: &Part) -> Option<Value> {
    Some(match p {
        Part::Text(t) if t.is_empty() => return None,
        Part::Text(t) => json!({"type": "text", "text": t}),
        Part::Image(img) => image_block(img),
        Part::ToolCall {
            id,
            name,
            arguments,
        } => json!({
            "type": "tool_use", "id": id, "name": name,
            "input": serde_json::from_str::<Value>(arguments).ok().filter(Value::is_object).unwrap_or_else(|| json!({}))
        }),
        Part::ToolResult {
            id,
            content,
            is_error,
        } => {
            let mut b = json!({"type": "tool_result", "tool_use_id": id, "content": content});
            if *is_error {
                b["is_error"] = true.into();
            }
            b
        }
        // Anthropic only accepts thinking it signed itself.
        Part::Thinking {
            text,
            signature: Some(sig),
        } => {
            json!({"type": "thinking", "thinking": text, "signature": sig})
        }
        Part::Thinking { .. } => return None,
    })
}

/// Emit an Anthropic messages body for `model`.
pub(crate) fn emit(req: &ChatRequest, model: &str) -> Value {
    let mut out = Map::new();
    out.insert("model".into(), model.into());
    let mut system = req.system.join("\n\n");
    // Anthropic has no response_format: ask for JSON in the system prompt.
    match &req.response_format {
        Some(ResponseFormat::JsonObject) => {
            system.push_str("\n\nRespond with a single JSON object and nothing else.")
        }
        Some(ResponseFormat::JsonSchema { schema, .. }) => system.push_str(&format!(
            "\n\nRespond with a single JSON object that matches this JSON Schema, and nothing else:\n{schema}"
        )),
        None => {}
    }
    let system = system.trim();
    if !system.is_empty() {
        out.insert("system".into(), system.into());
    }
    let messages: Vec<Value> = req
        .messages
        .iter()
        .map(|m| {
            let mut blocks: Vec<Value> = m.parts.iter().filter_map(part_to_block).collect();
            // Tool results must lead a user turn; thinking must lead an assistant turn.
            blocks.sort_by_key(|b| !matches!(b["type"].as_str(), Some("tool_result" | "thinking")));
            let role = if m.role == Role::User {
                "user"
            } else {
                "assistant"
            };
            json!({"role": role, "content": blocks})
        })
        .collect();
    out.insert("messages".into(), messages.into());
    let mut max_tokens = req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
    if let Some(r) = req.reasoning {
        let budget = r.budget_tokens.max(1024);
        max_tokens = max_tokens.max(budget + 1024);
        out.insert(
            "thinking".into(),
            json!({"type": "enabled", "budget_tokens": budget}),
        );
    } else {
        if let Some(t) = req.temperature {
            out.insert("temperature".into(), t.clamp(0.0, 1.0).into());
        }
        if let Some(p) = req.top_p {
            out.insert("top_p".into(), p.into());
        }
    }
    out.insert("max_tokens".into(), max_tokens.into());
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut v = json!({"name": t.name, "input_schema": t.parameters});
                if let Some(d) = &t.description {
                    v["description"] = d.clone().into();
                }
                v
            })
            .collect();
        out.insert("tools".into(), tools.into());
    }
    let mut choice = match &req.tool_choice {
        Some(ToolChoice::Auto) => Some(json!({"type": "auto"})),
        Some(ToolChoice::None) => Some(json!({"type": "none"})),
        Some(ToolChoice::Required) => Some(json!({"type": "any"})),
        Some(ToolChoice::Named(n)) => Some(json!({"type": "tool", "name": n})),
        None => None,
    };
    if req.parallel_tool_calls == Some(false) && !req.tools.is_empty() {
        let c = choice.get_or_insert_with(|| json!({"type": "auto"}));
        if c["type"] != "none" {
            c["disable_parallel_tool_use"] = true.into();
        }
    }
    if let Some(c) = choice.filter(|_| !req.tools.is_empty()) {
        out.insert("tool_choice".into(), c);
    }
    if !req.stop.is_empty() {
        out.insert("stop_sequences".into(), req.stop.clone().into());
    }
    if req.stream {
        out.insert("stream".into(), true.into());
    }
    if let Some(u) = &req.user {
        out.insert("metadata".into(), json!({"user_id": u}));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ir::Effort;
    use crate::providers::openai;

    /// The documented tool-use conversation, with a thinking block and an image.
    fn sample() -> Value {
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 1024,
            "system": [{"type": "text", "text": "You are a weather bot."}],
            "thinking": {"type": "enabled", "budget_tokens": 2000},
            "tools": [{"name": "get_weather", "description": "Get the current weather in a given location",
                "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}},
                {"type": "web_search_20250305", "name": "web_search"}],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
            "stop_sequences": ["END"],
            "metadata": {"user_id": "u-1"},
            "messages": [
                {"role": "user", "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
                    {"type": "text", "text": "What's the weather like in San Francisco?"}]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "Use the tool.", "signature": "sig=="},
                    {"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"location": "San Francisco, CA"}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01A", "content": [{"type": "text", "text": "15 degrees"}]}]}
            ]
        })
    }

    #[test]
    fn parses_every_field() {
        let r = parse(&sample()).unwrap();
        assert_eq!(r.system, vec!["You are a weather bot."]);
        assert_eq!(r.tools.len(), 1, "server tools are skipped");
        assert_eq!(r.tool_choice, Some(ToolChoice::Required));
        assert_eq!(r.parallel_tool_calls, Some(false));
        assert_eq!(r.reasoning.unwrap().budget_tokens, 2000);
        assert_eq!(r.user.as_deref(), Some("u-1"));
        assert!(
            matches!(&r.messages[2].parts[0], Part::ToolResult { content, .. } if content == "15 degrees")
        );
    }

    #[test]
    fn round_trips_and_translates_to_openai() {
        let r = parse(&sample()).unwrap();
        let out = emit(&r, "claude-sonnet-4-5");
        assert_eq!(
            out["thinking"],
            json!({"type": "enabled", "budget_tokens": 2000})
        );
        assert_eq!(out["max_tokens"], 3024);
        assert_eq!(
            out["tool_choice"],
            json!({"type": "any", "disable_parallel_tool_use": true})
        );
        assert_eq!(out["messages"][1]["content"][0]["type"], "thinking");
        assert_eq!(parse(&out).unwrap().messages, r.messages);
        let o = openai::request::emit(&r, "o3", openai::request::Flavour::OpenAi);
        assert_eq!(o["messages"][0]["role"], "system");
        assert_eq!(
            o["messages"][1]["content"][0]["image_url"]["url"],
            "data:image/png;base64,iVBO"
        );
        assert_eq!(
            o["messages"][2]["tool_calls"][0]["function"]["arguments"],
            "{\"location\":\"San Francisco, CA\"}"
        );
        assert_eq!(
            o["messages"][3],
            json!({"role": "tool", "tool_call_id": "toolu_01A", "content": "15 degrees"})
        );
        assert_eq!(o["tool_choice"], "required");
        assert_eq!(o["parallel_tool_calls"], false);
        assert_eq!(o["reasoning_effort"], Effort::Low.as_str());
        assert_eq!(o["stop"], json!(["END"]));
    }

    #[test]
    fn openai_request_becomes_a_valid_anthropic_one() {
        let body = json!({"model": "x", "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "42"},
            {"role": "user", "content": "thanks"}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "response_format": {"type": "json_object"}, "temperature": 1.7, "reasoning_effort": "high"});
        let r = openai::request::parse(&body).unwrap();
        let out = emit(&r, "claude-haiku-4-5");
        assert!(
            out["system"]
                .as_str()
                .unwrap()
                .starts_with("Be brief.\n\nRespond with a single JSON object")
        );
        assert_eq!(out["messages"][2]["content"][0]["type"], "tool_result");
        assert_eq!(
            out["messages"][2]["content"][1],
            json!({"type": "text", "text": "thanks"})
        );
        assert_eq!(out["thinking"]["budget_tokens"], 24576);
        assert!(
            out.get("temperature").is_none(),
            "thinking forbids temperature"
        );
        assert_eq!(out["max_tokens"], 24576 + 1024);
    }
}
