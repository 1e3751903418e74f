//! Anthropic messages requests ↔ the neutral form.

use serde_json::{Map, Value, json};

use crate::providers::ProviderError;
use crate::providers::ir::{
    ChatRequest, Effort, Image, MAX_BUDGET, Message, Part, Reasoning, ResponseFormat, Role, Tool,
    ToolChoice,
};
use crate::providers::openai::request::str_at;

/// `max_tokens` is required by Anthropic; this is used when the caller gave none.
pub(crate) const DEFAULT_MAX_TOKENS: u64 = 4096;

/// The text of a `tool_result` content (a string, or blocks whose text blocks are joined by a newline).
fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn image_of(b: &Value) -> Option<Image> {
    let src = b.get("source")?;
    match src.get("type").and_then(Value::as_str) {
        Some("base64") => Some(Image::Base64 {
            media_type: str_at(src, "/media_type"),
            data: str_at(src, "/data"),
        }),
        Some("url") => Some(Image::Url(str_at(src, "/url"))),
        // `file` sources name an upload at Anthropic; no other provider can read them.
        _ => None,
    }
}

/// Images among a `tool_result`'s content blocks.
fn images_of(content: &Value) -> Vec<Image> {
    content
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("image"))
        .filter_map(image_of)
        .collect()
}

/// One content block in neutral form. Blocks with no equivalent elsewhere (`redacted_thinking`, documents,
/// server tool results) are dropped; `cache_control` and citations are dropped with them.
fn block_to_part(b: &Value) -> Option<Part> {
    match b.get("type").and_then(Value::as_str)? {
        "text" => Some(Part::Text(str_at(b, "/text"))),
        "image" => image_of(b).map(Part::Image),
        "tool_use" => Some(Part::ToolCall {
            id: str_at(b, "/id"),
            name: str_at(b, "/name"),
            arguments: b
                .get("input")
                .cloned()
                .unwrap_or_else(|| json!({}))
                .to_string(),
        }),
        "tool_result" => {
            let content = b.get("content").unwrap_or(&Value::Null);
            Some(Part::ToolResult {
                id: str_at(b, "/tool_use_id"),
                content: text_of(content),
                is_error: b.get("is_error").and_then(Value::as_bool).unwrap_or(false),
                images: images_of(content),
            })
        }
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

/// Claude Code's attribution line for Anthropic's billing, sent as a system block; not an instruction, and
/// meaningless to any other provider.
const BILLING_HEADER: &str = "x-anthropic-billing-header:";

/// Text blocks of a system prompt or `system`-role message (`cache_control` dropped).
fn system_texts(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) if !s.is_empty() => vec![s.clone()],
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .filter(|t| !t.is_empty() && !t.starts_with(BILLING_HEADER))
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The end user behind `metadata.user_id`. Claude Code sends a JSON object as a string
/// (`{"device_id":…,"account_uuid":…,"session_id":…}`): the account, else the device, names the user (the
/// session id would split one user into many). Anything else is used as it is.
pub(crate) fn user_of(raw: &str) -> String {
    if raw.trim_start().starts_with('{')
        && let Ok(Value::Object(o)) = serde_json::from_str::<Value>(raw)
    {
        let field = |k: &str| {
            o.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        if let Some(id) = field("account_uuid").or_else(|| field("device_id")) {
            return id;
        }
    }
    raw.to_owned()
}

/// The reasoning asked for: `thinking` (`enabled` with a budget, or `adaptive`) and
/// `output_config.effort`. Adaptive thinking without an effort is Anthropic's default effort, `high`.
fn reasoning_of(body: &Value) -> Option<Reasoning> {
    let effort = body
        .pointer("/output_config/effort")
        .and_then(Value::as_str)
        .and_then(Reasoning::from_anthropic_effort);
    match body.pointer("/thinking/type").and_then(Value::as_str) {
        Some("enabled") => Some(Reasoning::from_budget(
            body.pointer("/thinking/budget_tokens")
                .and_then(Value::as_u64)
                .unwrap_or(1024),
        )),
        Some("adaptive") => effort.or(Some(Reasoning::from_effort(Effort::High))),
        Some("disabled") => None,
        _ => effort,
    }
}

/// Parse an Anthropic messages body. Fields the neutral form has no place for (`context_management`,
/// `cache_control`, `top_k`, `service_tier`, `container`, `mcp_servers`, …) are dropped here, so they never
/// reach another provider.
pub(crate) fn parse(body: &Value) -> Result<ChatRequest, ProviderError> {
    let mut req = ChatRequest {
        system: system_texts(body.get("system").unwrap_or(&Value::Null)),
        ..ChatRequest::default()
    };
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| ProviderError::caller("messages must be an array"))?;
    for m in messages {
        let role = match m.get("role").and_then(Value::as_str) {
            Some("user") => Role::User,
            Some("assistant") => Role::Assistant,
            Some("system") => Role::System,
            other => {
                return Err(ProviderError::caller(format!(
                    "unknown message role {}",
                    other.unwrap_or("(none)")
                )));
            }
        };
        let parts = match (role, m.get("content")) {
            (Role::System, Some(c)) => system_texts(c).into_iter().map(Part::Text).collect(),
            (_, Some(Value::String(s))) => vec![Part::Text(s.clone())],
            (_, Some(Value::Array(blocks))) => blocks.iter().filter_map(block_to_part).collect(),
            _ => Vec::new(),
        };
        if parts.is_empty() {
            continue;
        }
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
    req.reasoning = reasoning_of(body);
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
        .filter(|u| !u.is_empty())
        .map(user_of);
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
            images,
        } => {
            let content = if images.is_empty() {
                Value::from(content.as_str())
            } else {
                let mut blocks = Vec::new();
                if !content.is_empty() {
                    blocks.push(json!({"type": "text", "text": content}));
                }
                blocks.extend(images.iter().map(image_block));
                blocks.into()
            };
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
    // Anthropic-format callers never reach here (they pass through); system-role messages from other
    // formats join the system prompt.
    let mid: Vec<String> = req
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .flat_map(|m| m.parts.iter())
        .filter_map(|p| match p {
            Part::Text(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    let mut system = req
        .system
        .iter()
        .chain(mid.iter())
        .cloned()
        .collect::<Vec<_>>()
        .join("\n\n");
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
        .filter(|m| m.role != Role::System)
        .filter_map(|m| {
            let mut blocks: Vec<Value> = m.parts.iter().filter_map(part_to_block).collect();
            // Tool results must lead a user turn; thinking must lead an assistant turn.
            blocks.sort_by_key(|b| !matches!(b["type"].as_str(), Some("tool_result" | "thinking")));
            let role = if m.role == Role::User {
                "user"
            } else {
                "assistant"
            };
            // A turn left empty (e.g. only unsigned reasoning) would be refused.
            (!blocks.is_empty()).then(|| json!({"role": role, "content": blocks}))
        })
        .collect();
    out.insert("messages".into(), messages.into());
    let mut max_tokens = req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
    // `none` asks for no thinking; any other level or budget becomes a budget Anthropic takes (at least
    // 1024, at most `MAX_BUDGET`, below `max_tokens`).
    if let Some(r) = req.reasoning.filter(|r| r.effort != Effort::None) {
        let budget = r.budget_tokens.clamp(1024, MAX_BUDGET);
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

    /// What Claude Code 2.1 sends for a model it does not know (captured from the real client).
    fn claude_code() -> Value {
        serde_json::from_str(include_str!(
            "../../../tests/fixtures/claude_code_request.json"
        ))
        .unwrap()
    }

    fn assert_no_anthropic_only_fields(v: &Value) {
        let wire = v.to_string();
        for field in [
            "cache_control",
            "context_management",
            "output_config",
            "defer_loading",
            "\"thinking\"",
            BILLING_HEADER,
        ] {
            assert!(
                !wire.contains(field),
                "{field} leaked: {}",
                &wire[..wire.len().min(300)]
            );
        }
    }

    #[test]
    fn claude_code_request_parses() {
        let r = parse(&claude_code()).unwrap();
        assert_eq!(
            r.system.len(),
            2,
            "the system block array, cache_control and billing line dropped"
        );
        assert_eq!(
            r.messages.iter().map(|m| m.role).collect::<Vec<_>>(),
            [Role::User, Role::System]
        );
        assert_eq!(r.tools.len(), 12);
        assert_eq!(r.reasoning, Some(Reasoning::from_effort(Effort::High)));
        assert_eq!(
            r.user.as_deref(),
            Some("ff0853fccec208bb9a29663e7ce40a747f1ab70db65df79b7edc3a2f176bbc01")
        );
        assert!(r.stream);
        assert_eq!(r.max_tokens, Some(32000));
    }

    #[test]
    fn claude_code_request_to_openai_and_xai() {
        let r = parse(&claude_code()).unwrap();
        let o = openai::request::emit(&r, "gpt-4.1", openai::request::Flavour::OpenAi);
        assert_no_anthropic_only_fields(&o);
        let roles: Vec<&str> = o["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(
            roles,
            ["system", "user", "system"],
            "the mid-conversation system message stays in place"
        );
        assert!(o.get("reasoning_effort").is_none(), "gpt-4.1 takes none");
        assert_eq!(o["tools"].as_array().unwrap().len(), 12);
        assert_eq!(o["user"].as_str().unwrap().len(), 64);
        let o3 = openai::request::emit(&r, "o3", openai::request::Flavour::OpenAi);
        assert_eq!(o3["reasoning_effort"], "high");
        let x = openai::request::emit(&r, "grok-3-mini", openai::request::Flavour::Xai);
        assert_eq!(x["reasoning_effort"], "high");
        assert_no_anthropic_only_fields(&x);
    }

    #[test]
    fn claude_code_request_to_gemini() {
        let r = parse(&claude_code()).unwrap();
        let g = crate::providers::google::request::emit(&r);
        assert_no_anthropic_only_fields(&g);
        let wire = g.to_string();
        for keyword in ["$schema", "additionalProperties", "exclusiveMinimum"] {
            assert!(
                !wire.contains(keyword),
                "{keyword} is not in Gemini's Schema"
            );
        }
        assert_eq!(
            g["contents"].as_array().unwrap().len(),
            1,
            "only the user turn"
        );
        assert_eq!(g["contents"][0]["role"], "user");
        let system = g["systemInstruction"]["parts"][0]["text"].as_str().unwrap();
        assert!(
            system.starts_with("You are a Claude agent"),
            "{}",
            &system[..80]
        );
        assert!(
            system.contains("# Environment"),
            "the system-role message joined the instruction"
        );
        let decls = g["tools"][0]["functionDeclarations"].as_array().unwrap();
        assert_eq!(decls.len(), 12);
        let placeholder = decls
            .iter()
            .find(|d| d["name"] == "DeferredToolPlaceholder")
            .unwrap();
        assert!(
            placeholder.get("parameters").is_none(),
            "no properties, no parameters"
        );
        assert_eq!(
            g["generationConfig"]["thinkingConfig"]["thinkingBudget"],
            24576
        );
        assert_eq!(g["generationConfig"]["maxOutputTokens"], 32000);
    }

    #[test]
    fn effort_and_budgets_map_both_ways() {
        let with = |extra: Value| {
            let mut b = json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
            b.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            parse(&b).unwrap().reasoning
        };
        assert_eq!(with(json!({})), None);
        assert_eq!(with(json!({"thinking": {"type": "disabled"}})), None);
        assert_eq!(
            with(json!({"thinking": {"type": "adaptive"}}))
                .unwrap()
                .effort,
            Effort::High
        );
        for (effort, want) in [
            ("low", Effort::Low),
            ("medium", Effort::Medium),
            ("high", Effort::High),
            ("xhigh", Effort::High),
            ("max", Effort::High),
        ] {
            let r = with(
                json!({"thinking": {"type": "adaptive"}, "output_config": {"effort": effort}}),
            )
            .unwrap();
            assert_eq!(r.effort, want, "{effort}");
        }
        assert_eq!(
            with(json!({"output_config": {"effort": "low"}}))
                .unwrap()
                .effort,
            Effort::Low,
            "effort alone still sets the reasoning level"
        );
        let r = with(json!({"thinking": {"type": "enabled", "budget_tokens": 10000}})).unwrap();
        assert_eq!((r.effort, r.budget_tokens), (Effort::Medium, 10000));
        let g = crate::providers::google::request::emit(&ChatRequest {
            reasoning: Some(r),
            ..ChatRequest::default()
        });
        assert_eq!(
            g["generationConfig"]["thinkingConfig"]["thinkingBudget"],
            10000
        );
    }

    #[test]
    fn tool_results_with_errors_and_images() {
        let body = json!({"model": "m", "max_tokens": 100, "tools": [{"name": "shot", "input_schema": {"type": "object", "properties": {"url": {"type": "string"}}}}],
            "messages": [
                {"role": "user", "content": "take a screenshot"},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "ok", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "EmwKAhgB"},
                    {"type": "tool_use", "id": "toolu_1", "name": "shot", "input": {"url": "x"}},
                    {"type": "tool_use", "id": "toolu_2", "name": "shot", "input": {"url": "y"}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": [
                        {"type": "text", "text": "captured", "cache_control": {"type": "ephemeral"}},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}]},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": true, "content": "timeout"},
                    {"type": "text", "text": "and?"}]}]});
        let r = parse(&body).unwrap();
        let o = openai::request::emit(&r, "gpt-4.1", openai::request::Flavour::OpenAi);
        let msgs = o["messages"].as_array().unwrap();
        assert_eq!(msgs[1]["role"], "assistant");
        assert!(
            msgs[1].get("reasoning_content").is_none(),
            "no reasoning input to chat completions"
        );
        assert_eq!(
            msgs[2],
            json!({"role": "tool", "tool_call_id": "toolu_1", "content": "captured"})
        );
        assert_eq!(
            msgs[3],
            json!({"role": "tool", "tool_call_id": "toolu_2", "content": "Error: timeout"})
        );
        assert_eq!(
            msgs[4],
            json!({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}}]})
        );
        assert_eq!(msgs[5], json!({"role": "user", "content": "and?"}));
        let g = crate::providers::google::request::emit(&r);
        let model_turn = &g["contents"][1];
        assert_eq!(
            model_turn["parts"].as_array().unwrap().len(),
            2,
            "thinking dropped, two calls"
        );
        let user_parts = g["contents"][2]["parts"].as_array().unwrap();
        assert_eq!(
            user_parts[0]["functionResponse"],
            json!({"name": "shot", "response": {"result": "captured"}})
        );
        assert_eq!(
            user_parts[1]["functionResponse"],
            json!({"name": "shot", "response": {"error": "timeout"}})
        );
        assert_eq!(user_parts[2]["text"], "and?");
        assert_eq!(user_parts[3]["inlineData"]["mimeType"], "image/png");
        // Back to Anthropic (e.g. a fallback step): images stay in the tool result, the error flag too.
        let a = emit(&r, "claude-haiku-4-5");
        let results = a["messages"][2]["content"].as_array().unwrap();
        assert_eq!(results[0]["content"][1]["source"]["data"], "iVBO");
        assert_eq!(results[1]["is_error"], true);
        assert_eq!(a["messages"][1]["content"][0]["type"], "thinking");
    }

    #[test]
    fn urls_stops_and_users() {
        let body = json!({"model": "m", "max_tokens": 100, "stop_sequences": ["a", "b", "c", "d", "e", "f"],
            "metadata": {"user_id": "plain-user"},
            "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
                {"type": "image", "source": {"type": "file", "file_id": "file_1"}}]}]});
        let r = parse(&body).unwrap();
        assert_eq!(r.user.as_deref(), Some("plain-user"));
        assert_eq!(
            r.messages[0].parts,
            vec![Part::Image(Image::Url("https://x/y.png".into()))]
        );
        let o = openai::request::emit(&r, "gpt-4.1", openai::request::Flavour::OpenAi);
        assert_eq!(o["stop"].as_array().unwrap().len(), 4);
        assert_eq!(
            o["messages"][0]["content"][0]["image_url"]["url"],
            "https://x/y.png"
        );
        let g = crate::providers::google::request::emit(&r);
        assert_eq!(
            g["generationConfig"]["stopSequences"]
                .as_array()
                .unwrap()
                .len(),
            5
        );
        assert_eq!(
            user_of(r#"{"device_id":"d1","account_uuid":"","session_id":"s"}"#),
            "d1"
        );
        assert_eq!(
            user_of(r#"{"device_id":"d1","account_uuid":"acc","session_id":"s"}"#),
            "acc"
        );
        assert_eq!(user_of("{not json"), "{not json");
    }
}
