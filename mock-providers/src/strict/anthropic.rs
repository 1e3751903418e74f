//! `POST /v1/messages` as the Anthropic API checks it: unknown fields are refused with
//! `"<path>: Extra inputs are not permitted"`, beta fields too unless `anthropic-beta` names their beta,
//! roles are `user`/`assistant` (`system` only under its beta), content blocks are known types with known
//! fields, and every `tool_result` answers a `tool_use` of the message before it.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::{Checked, Refusal, type_of, unknown_key};
use crate::wire::anthropic::error_body;

/// Body fields that need a beta, and the beta (a prefix of the dated name) that allows them. These are the
/// betas Claude Code names when it sends the field.
pub const BETA_FIELDS: &[(&str, &str)] = &[
    ("context_management", "context-management-"),
    ("output_config", "effort-"),
    ("mcp_servers", "mcp-client-"),
    ("output_format", "structured-outputs-"),
];
/// `thinking.type = "adaptive"` is sent with the effort beta.
pub const ADAPTIVE_THINKING_BETA: &str = "effort-";
/// A `system`-role entry inside `messages`.
pub const SYSTEM_MESSAGE_BETA: &str = "mid-conversation-tool-changes-";
/// `defer_loading` and `input_examples` on a tool (tool search).
pub const DEFER_LOADING_BETA: &str = "advanced-tool-use-";

const TOP_LEVEL: &[&str] = &[
    "model",
    "messages",
    "max_tokens",
    "system",
    "metadata",
    "stop_sequences",
    "stream",
    "temperature",
    "top_k",
    "top_p",
    "tools",
    "tool_choice",
    "thinking",
    "service_tier",
    "container",
];

fn refuse(message: impl Into<String>) -> Refusal {
    Refusal {
        status: 400,
        body: error_body(400, Some(&message.into()), None),
    }
}

fn extra(path: &str) -> Refusal {
    refuse(format!("{path}: Extra inputs are not permitted"))
}

/// The betas an `anthropic-beta` header names.
pub fn betas(header: Option<&str>) -> Vec<String> {
    header
        .unwrap_or_default()
        .split(',')
        .map(|b| b.trim().to_owned())
        .filter(|b| !b.is_empty())
        .collect()
}

struct Ctx<'a> {
    betas: &'a [String],
}

impl Ctx<'_> {
    fn has(&self, prefix: &str) -> bool {
        self.betas.iter().any(|b| b.starts_with(prefix))
    }
}

/// Check a messages body (also `count_tokens`, which takes the same fields but `max_tokens`, `stream`…).
pub fn check_messages(body: &Value, beta_header: Option<&str>) -> Checked {
    check(body, beta_header, true)
}

/// Check a `count_tokens` body.
pub fn check_count_tokens(body: &Value, beta_header: Option<&str>) -> Checked {
    check(body, beta_header, false)
}

fn check(body: &Value, beta_header: Option<&str>, messages_endpoint: bool) -> Checked {
    let betas = betas(beta_header);
    let ctx = Ctx { betas: &betas };
    let obj = body
        .as_object()
        .ok_or_else(|| refuse("The request body is not valid JSON."))?;
    for key in obj.keys() {
        let known = TOP_LEVEL.contains(&key.as_str());
        let beta = BETA_FIELDS
            .iter()
            .find(|(field, _)| field == key)
            .is_some_and(|(_, beta)| ctx.has(beta));
        let only_messages = matches!(key.as_str(), "max_tokens" | "stream" | "stop_sequences");
        if !(known || beta) || (only_messages && !messages_endpoint) {
            return Err(extra(key));
        }
    }
    for required in ["model", "messages"] {
        if !obj.contains_key(required) {
            return Err(refuse(format!("{required}: Field required")));
        }
    }
    if messages_endpoint && !obj.get("max_tokens").is_some_and(Value::is_u64) {
        return Err(refuse("max_tokens: Field required"));
    }
    if let Some(system) = obj.get("system") {
        check_system(system)?;
    }
    let marks = cache_marks(body);
    if marks > MAX_CACHE_MARKS {
        return Err(refuse(format!(
            "A maximum of {MAX_CACHE_MARKS} blocks with cache_control may be provided. Found {marks}."
        )));
    }
    if let Some(m) = obj.get("metadata") {
        let m = m
            .as_object()
            .ok_or_else(|| refuse("metadata: Input should be an object"))?;
        if let Some(k) = unknown_key(m, &["user_id"]) {
            return Err(extra(&format!("metadata.{k}")));
        }
    }
    if let Some(t) = obj.get("thinking") {
        check_thinking(&ctx, t, obj.get("max_tokens").and_then(Value::as_u64))?;
    }
    if let Some(oc) = obj.get("output_config").and_then(Value::as_object) {
        if let Some(k) = unknown_key(oc, &["effort", "format"]) {
            return Err(extra(&format!("output_config.{k}")));
        }
        if let Some(e) = oc.get("effort")
            && !matches!(
                e.as_str(),
                Some("low" | "medium" | "high" | "xhigh" | "max")
            )
        {
            return Err(refuse(
                "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'",
            ));
        }
    }
    if let Some(tools) = obj.get("tools") {
        check_tools(&ctx, tools)?;
    }
    if let Some(tc) = obj.get("tool_choice") {
        check_tool_choice(tc)?;
    }
    let messages = obj
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| refuse("messages: Input should be a valid list"))?;
    check_messages_list(&ctx, messages)
}

/// Anthropic's limit of blocks with `cache_control` in one request.
pub const MAX_CACHE_MARKS: usize = 4;

/// Blocks marked `cache_control` in tools, system and message content.
fn cache_marks(body: &Value) -> usize {
    let marked = |v: &Value| usize::from(v.get("cache_control").is_some_and(|c| !c.is_null()));
    let all = |v: Option<&Value>| {
        v.and_then(Value::as_array)
            .map_or(0, |a| a.iter().map(marked).sum::<usize>())
    };
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .map_or(0, |ms| ms.iter().map(|m| all(m.get("content"))).sum());
    all(body.get("tools")) + all(body.get("system")) + messages
}

fn check_cache_control(path: &str, cc: &Value) -> Checked {
    let obj = cc
        .as_object()
        .ok_or_else(|| refuse(format!("{path}: Input should be an object")))?;
    if let Some(k) = unknown_key(obj, &["type", "ttl"]) {
        return Err(extra(&format!("{path}.{k}")));
    }
    if type_of(cc) != Some("ephemeral") {
        return Err(refuse(format!("{path}.type: Input should be 'ephemeral'")));
    }
    Ok(())
}

fn check_text_block(path: &str, b: &Map<String, Value>) -> Checked {
    if let Some(k) = unknown_key(b, &["type", "text", "cache_control", "citations"]) {
        return Err(extra(&format!("{path}.text.{k}")));
    }
    if !b.get("text").is_some_and(Value::is_string) {
        return Err(refuse(format!("{path}.text.text: Field required")));
    }
    if let Some(cc) = b.get("cache_control") {
        check_cache_control(&format!("{path}.text.cache_control"), cc)?;
    }
    Ok(())
}

fn check_system(system: &Value) -> Checked {
    match system {
        Value::String(_) => Ok(()),
        Value::Array(blocks) => {
            for (i, b) in blocks.iter().enumerate() {
                let path = format!("system.{i}");
                let obj = b
                    .as_object()
                    .ok_or_else(|| refuse(format!("{path}: Input should be an object")))?;
                if type_of(b) != Some("text") {
                    return Err(refuse(format!("{path}.type: Input should be 'text'")));
                }
                check_text_block(&path, obj)?;
            }
            Ok(())
        }
        _ => Err(refuse(
            "system: Input should be a valid string or a list of text blocks",
        )),
    }
}

fn check_thinking(ctx: &Ctx, t: &Value, max_tokens: Option<u64>) -> Checked {
    let obj = t
        .as_object()
        .ok_or_else(|| refuse("thinking: Input should be an object"))?;
    match type_of(t) {
        Some("enabled") => {
            if let Some(k) = unknown_key(obj, &["type", "budget_tokens", "display"]) {
                return Err(extra(&format!("thinking.enabled.{k}")));
            }
            let budget = t
                .get("budget_tokens")
                .and_then(Value::as_u64)
                .ok_or_else(|| refuse("thinking.enabled.budget_tokens: Field required"))?;
            if budget < 1024 {
                return Err(refuse(
                    "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
                ));
            }
            if let Some(max) = max_tokens
                && budget >= max
            {
                return Err(refuse(
                    "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size",
                ));
            }
            Ok(())
        }
        Some("disabled") => match unknown_key(obj, &["type"]) {
            Some(k) => Err(extra(&format!("thinking.disabled.{k}"))),
            None => Ok(()),
        },
        Some("adaptive") if ctx.has(ADAPTIVE_THINKING_BETA) => {
            match unknown_key(obj, &["type", "display"]) {
                Some(k) => Err(extra(&format!("thinking.adaptive.{k}"))),
                None => Ok(()),
            }
        }
        other => Err(refuse(format!(
            "thinking: Input tag '{}' found using 'type' does not match any of the expected tags: 'disabled', 'enabled'",
            other.unwrap_or_default()
        ))),
    }
}

fn check_tools(ctx: &Ctx, tools: &Value) -> Checked {
    let tools = tools
        .as_array()
        .ok_or_else(|| refuse("tools: Input should be a valid list"))?;
    let mut names = HashSet::new();
    for (i, t) in tools.iter().enumerate() {
        let path = format!("tools.{i}");
        let obj = t
            .as_object()
            .ok_or_else(|| refuse(format!("{path}: Input should be an object")))?;
        let custom = matches!(type_of(t), None | Some("custom"));
        if !custom {
            continue; // server tools (web_search_…, bash_…) have their own versioned shapes
        }
        // `eager_input_streaming` (fine-grained tool streaming) and `strict` (structured tool inputs) are GA.
        let mut allowed = vec![
            "type",
            "name",
            "description",
            "input_schema",
            "cache_control",
            "eager_input_streaming",
            "strict",
        ];
        if ctx.has(DEFER_LOADING_BETA) {
            allowed.extend(["defer_loading", "input_examples"]);
        }
        if let Some(k) = unknown_key(obj, &allowed) {
            return Err(extra(&format!("{path}.custom.{k}")));
        }
        let name = t.get("name").and_then(Value::as_str).unwrap_or_default();
        let valid_name = !name.is_empty()
            && name.len() <= 128
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid_name {
            return Err(refuse(format!(
                "{path}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'"
            )));
        }
        if !names.insert(name) {
            return Err(refuse("tools: Tool names must be unique."));
        }
        if type_of(t.get("input_schema").unwrap_or(&Value::Null)) != Some("object") {
            return Err(refuse(format!(
                "{path}.custom.input_schema.type: Input should be 'object'"
            )));
        }
        if let Some(cc) = t.get("cache_control") {
            check_cache_control(&format!("{path}.custom.cache_control"), cc)?;
        }
    }
    Ok(())
}

fn check_tool_choice(tc: &Value) -> Checked {
    let obj = tc
        .as_object()
        .ok_or_else(|| refuse("tool_choice: Input should be an object"))?;
    let allowed: &[&str] = match type_of(tc) {
        Some("auto" | "any") => &["type", "disable_parallel_tool_use"],
        Some("tool") => &["type", "name", "disable_parallel_tool_use"],
        Some("none") => &["type"],
        other => {
            return Err(refuse(format!(
                "tool_choice: Input tag '{}' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'",
                other.unwrap_or_default()
            )));
        }
    };
    match unknown_key(obj, allowed) {
        Some(k) => Err(extra(&format!("tool_choice.{k}"))),
        None => Ok(()),
    }
}

fn check_image(path: &str, b: &Map<String, Value>) -> Checked {
    if let Some(k) = unknown_key(b, &["type", "source", "cache_control"]) {
        return Err(extra(&format!("{path}.image.{k}")));
    }
    let src = b
        .get("source")
        .and_then(Value::as_object)
        .ok_or_else(|| refuse(format!("{path}.image.source: Field required")))?;
    let (allowed, required): (&[&str], &[&str]) = match src.get("type").and_then(Value::as_str) {
        Some("base64") => (&["type", "media_type", "data"], &["media_type", "data"]),
        Some("url") => (&["type", "url"], &["url"]),
        Some("file") => (&["type", "file_id"], &["file_id"]),
        _ => {
            return Err(refuse(format!(
                "{path}.image.source: Input tag found using 'type' does not match any of the expected tags: 'base64', 'url', 'file'"
            )));
        }
    };
    if let Some(k) = unknown_key(src, allowed) {
        return Err(extra(&format!("{path}.image.source.{k}")));
    }
    if let Some(r) = required.iter().find(|r| !src.contains_key(**r)) {
        return Err(refuse(format!("{path}.image.source.{r}: Field required")));
    }
    if src.get("type").and_then(Value::as_str) == Some("base64")
        && !matches!(
            src.get("media_type").and_then(Value::as_str),
            Some("image/jpeg" | "image/png" | "image/gif" | "image/webp")
        )
    {
        return Err(refuse(format!(
            "{path}.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"
        )));
    }
    Ok(())
}

/// One content block of a message with `role`; returns the tool_use id it declares, if any.
fn check_block(path: &str, role: &str, b: &Value) -> Result<Option<String>, Refusal> {
    let obj = b
        .as_object()
        .ok_or_else(|| refuse(format!("{path}: Input should be an object")))?;
    let kind = type_of(b).unwrap_or_default();
    let allowed: &[&str] = match kind {
        "text" => return check_text_block(path, obj).map(|_| None),
        "image" => return check_image(path, obj).map(|_| None),
        "document" => &[
            "type",
            "source",
            "title",
            "context",
            "citations",
            "cache_control",
        ],
        "tool_use" if role == "assistant" => &["type", "id", "name", "input", "cache_control"],
        "tool_result" if role == "user" => &[
            "type",
            "tool_use_id",
            "content",
            "is_error",
            "cache_control",
        ],
        "thinking" if role == "assistant" => &["type", "thinking", "signature"],
        "redacted_thinking" if role == "assistant" => &["type", "data"],
        "search_result" => &[
            "type",
            "source",
            "title",
            "content",
            "citations",
            "cache_control",
        ],
        "tool_use" | "tool_result" | "thinking" | "redacted_thinking" => {
            return Err(refuse(format!(
                "{path}: a {kind} block is not allowed in a {role} message"
            )));
        }
        other => {
            return Err(refuse(format!(
                "{path}: Input tag '{other}' found using 'type' does not match any of the expected tags: 'text', 'image', 'document', 'search_result', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking'"
            )));
        }
    };
    if let Some(k) = unknown_key(obj, allowed) {
        return Err(extra(&format!("{path}.{kind}.{k}")));
    }
    if let Some(cc) = obj.get("cache_control") {
        check_cache_control(&format!("{path}.{kind}.cache_control"), cc)?;
    }
    match kind {
        "tool_use" => {
            if !obj.get("input").is_some_and(Value::is_object) {
                return Err(refuse(format!(
                    "{path}.tool_use.input: Input should be a valid dictionary"
                )));
            }
            let id = obj.get("id").and_then(Value::as_str).unwrap_or_default();
            if id.is_empty() {
                return Err(refuse(format!("{path}.tool_use.id: Field required")));
            }
            Ok(Some(id.to_owned()))
        }
        "thinking" => {
            if !obj.get("signature").is_some_and(Value::is_string) {
                return Err(refuse(format!("{path}.thinking.signature: Field required")));
            }
            Ok(None)
        }
        "tool_result" => {
            match obj.get("content") {
                None | Some(Value::String(_)) => {}
                Some(Value::Array(parts)) => {
                    for (j, p) in parts.iter().enumerate() {
                        let sub = format!("{path}.tool_result.content.{j}");
                        match (type_of(p), p.as_object()) {
                            (Some("text"), Some(o)) => check_text_block(&sub, o)?,
                            (Some("image"), Some(o)) => check_image(&sub, o)?,
                            (Some("search_result" | "document"), Some(_)) => {}
                            _ => {
                                return Err(refuse(format!(
                                    "{sub}: Input tag found using 'type' does not match any of the expected tags: 'text', 'image', 'search_result', 'document'"
                                )));
                            }
                        }
                    }
                }
                Some(_) => {
                    return Err(refuse(format!(
                        "{path}.tool_result.content: Input should be a valid string or list"
                    )));
                }
            }
            Ok(None)
        }
        _ => Ok(None),
    }
}

fn check_messages_list(ctx: &Ctx, messages: &[Value]) -> Checked {
    // tool_use ids of the nearest assistant message before the current one.
    let mut open_calls: HashSet<String> = HashSet::new();
    for (i, m) in messages.iter().enumerate() {
        let path = format!("messages.{i}");
        let obj = m
            .as_object()
            .ok_or_else(|| refuse(format!("{path}: Input should be an object")))?;
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        let allowed: &[&str] = match role {
            "user" | "assistant" => &["role", "content"],
            "system" if ctx.has(SYSTEM_MESSAGE_BETA) => &["role", "content", "output_config"],
            other => {
                return Err(refuse(format!(
                    "{path}.role: Input should be 'user' or 'assistant' (got '{other}')"
                )));
            }
        };
        if let Some(k) = unknown_key(obj, allowed) {
            return Err(extra(&format!("{path}.{k}")));
        }
        let blocks: Vec<Value> = match m.get("content") {
            Some(Value::String(s)) => vec![serde_json::json!({"type": "text", "text": s})],
            Some(Value::Array(a)) => a.clone(),
            _ => return Err(refuse(format!("{path}.content: Field required"))),
        };
        if role == "system" {
            for (j, b) in blocks.iter().enumerate() {
                if type_of(b) != Some("text") {
                    return Err(refuse(format!(
                        "{path}.content.{j}: a system message holds text blocks only"
                    )));
                }
                check_text_block(&format!("{path}.content.{j}"), b.as_object().expect("text"))?;
            }
            continue;
        }
        let mut declared = HashSet::new();
        let mut seen_non_result = false;
        for (j, b) in blocks.iter().enumerate() {
            let bpath = format!("{path}.content.{j}");
            if let Some(id) = check_block(&bpath, role, b)? {
                declared.insert(id);
            }
            if type_of(b) == Some("tool_result") {
                let id = b
                    .get("tool_use_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !open_calls.contains(id) || seen_non_result {
                    return Err(refuse(format!(
                        "{path}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                    )));
                }
            } else {
                seen_non_result = true;
            }
        }
        if role == "assistant" {
            open_calls = declared;
        } else {
            open_calls.clear();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn message(m: &Refusal) -> &str {
        m.body["error"]["message"].as_str().unwrap()
    }

    #[test]
    fn beta_fields_need_their_beta() {
        let body = json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}],
            "context_management": {"edits": []}});
        let e = check_messages(&body, None).unwrap_err();
        assert_eq!(
            message(&e),
            "context_management: Extra inputs are not permitted"
        );
        assert_eq!(e.body["error"]["type"], "invalid_request_error");
        assert!(check_messages(&body, Some("context-management-2025-06-27")).is_ok());
        let adaptive = json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}],
            "thinking": {"type": "adaptive"}});
        assert!(check_messages(&adaptive, None).is_err());
        assert!(check_messages(&adaptive, Some("x, effort-2025-11-24")).is_ok());
        let system_msg = json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"},
            {"role": "system", "content": [{"type": "text", "text": "s"}]}]});
        assert!(
            message(&check_messages(&system_msg, None).unwrap_err()).contains("messages.1.role")
        );
        assert!(
            check_messages(
                &system_msg,
                Some("mid-conversation-tool-changes-2026-07-01")
            )
            .is_ok()
        );
    }

    #[test]
    fn unknown_fields_and_orphan_tool_results() {
        let body = json!({"model": "m", "max_tokens": 10, "messages": [], "frequency_penalty": 1});
        assert_eq!(
            message(&check_messages(&body, None).unwrap_err()),
            "frequency_penalty: Extra inputs are not permitted"
        );
        let orphan = json!({"model": "m", "max_tokens": 10, "messages": [
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "x"}]}]});
        assert!(
            message(&check_messages(&orphan, None).unwrap_err())
                .contains("unexpected `tool_use_id`")
        );
        let ok = json!({"model": "m", "max_tokens": 10, "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "x"}]},
                {"type": "text", "text": "and?"}]}]});
        assert!(check_messages(&ok, None).is_ok());
        let late = json!({"model": "m", "max_tokens": 10, "messages": [
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "text", "text": "and?"}, {"type": "tool_result", "tool_use_id": "t1", "content": "x"}]}]});
        assert!(
            check_messages(&late, None).is_err(),
            "tool results lead the turn"
        );
        let unsigned = json!({"model": "m", "max_tokens": 10, "messages": [
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "t"}]}]});
        assert!(check_messages(&unsigned, None).is_err());
    }

    #[test]
    fn claude_codes_own_request_passes_with_its_betas() {
        let body: Value = serde_json::from_str(include_str!(
            "../../../shared/tests/fixtures/claude_code_request.json"
        ))
        .unwrap();
        let header = "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,mid-conversation-tool-changes-2026-07-01,thinking-token-count-2026-05-13,advanced-tool-use-2025-11-20,effort-2025-11-24";
        check_messages(&body, Some(header)).unwrap();
        assert!(check_messages(&body, None).is_err());
    }
}
