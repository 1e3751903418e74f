//! Auto caching: Anthropic `cache_control` breakpoints placed by the gateway (`requesty.auto_cache`, or the
//! key's default), on an Anthropic messages body about to be sent.
//!
//! Anthropic caches the prompt prefix up to each block marked `cache_control: {"type": "ephemeral"}`, in the
//! order tools → system → messages; a later request that starts with the same prefix reads it at the cache
//! read price (writes cost more than plain input, so a breakpoint only pays where the prefix repeats). The
//! places that repeat across the calls of one conversation or app, in order of priority:
//!
//! 1. the end of `system` (instructions are the same on every call),
//! 2. the end of `tools` (tool definitions too),
//! 3. the conversation prefix: the last user turn before the newest one. The next call of the conversation
//!    sends everything up to the present turn again; Anthropic looks back up to 20 blocks from a breakpoint
//!    for a cached prefix, so this call reads what the previous call wrote and writes one turn further.
//!
//! Rules: a body that already carries a breakpoint is the client's own caching and is left as it is; never
//! more than [`MAX_BREAKPOINTS`] in all; a place whose prefix is shorter than [`MIN_CACHEABLE_TOKENS`]
//! (estimated at 4 characters a token) gets none, as Anthropic would not cache it; `thinking` blocks are
//! never marked (Anthropic refuses that). Nothing else in the body changes, but a string `system` or message
//! `content` becomes the equivalent one-text-block array so it can carry the mark.

use serde_json::{Value, json};

/// Anthropic's limit of blocks with `cache_control` in one request.
pub const MAX_BREAKPOINTS: usize = 4;
/// The smallest prefix Anthropic caches (Sonnet and Opus; Haiku needs 2048): shorter ones are not worth a
/// breakpoint.
pub const MIN_CACHEABLE_TOKENS: usize = 1024;
/// Rough characters per token of the JSON a prefix is made of.
const CHARS_PER_TOKEN: usize = 4;

/// Count the `cache_control` marks anywhere in tools, system and message blocks.
pub fn breakpoints(body: &Value) -> usize {
    let marked = |v: &Value| usize::from(v.get("cache_control").is_some_and(|c| !c.is_null()));
    let blocks = |v: Option<&Value>| -> usize {
        v.and_then(Value::as_array)
            .map_or(0, |a| a.iter().map(marked).sum())
    };
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .map_or(0, |ms| ms.iter().map(|m| blocks(m.get("content"))).sum());
    blocks(body.get("tools")) + blocks(body.get("system")) + messages
}

/// Place the breakpoints (see the module notes); returns how many were placed.
pub fn place(body: &mut Value) -> usize {
    if breakpoints(body) > 0 {
        return 0;
    }
    let Some(obj) = body.as_object_mut() else {
        return 0;
    };
    let size = |v: Option<&Value>| v.map_or(0, |v| v.to_string().len());
    let tools_len = size(obj.get("tools"));
    let system_len = size(obj.get("system"));
    let enough = |chars: usize| chars / CHARS_PER_TOKEN >= MIN_CACHEABLE_TOKENS;
    let mut placed = 0;

    // The prefix runs tools → system → messages.
    if enough(tools_len + system_len)
        && let Some(system) = obj.get_mut("system")
        && mark_content(system)
    {
        placed += 1;
    }
    if placed < MAX_BREAKPOINTS
        && enough(tools_len)
        && let Some(last) = obj
            .get_mut("tools")
            .and_then(Value::as_array_mut)
            .and_then(|t| t.last_mut())
        && last.is_object()
    {
        last["cache_control"] = ephemeral();
        placed += 1;
    }
    if placed < MAX_BREAKPOINTS
        && let Some(messages) = obj.get_mut("messages").and_then(Value::as_array_mut)
    {
        let users: Vec<usize> = messages
            .iter()
            .enumerate()
            .filter(|(_, m)| m.get("role").and_then(Value::as_str) == Some("user"))
            .map(|(i, _)| i)
            .collect();
        if let [.., previous, _newest] = users[..] {
            let prefix: usize = tools_len
                + system_len
                + messages[..=previous]
                    .iter()
                    .map(|m| m.to_string().len())
                    .sum::<usize>();
            if enough(prefix)
                && let Some(content) = messages[previous].get_mut("content")
                && mark_content(content)
            {
                placed += 1;
            }
        }
    }
    placed
}

fn ephemeral() -> Value {
    json!({"type": "ephemeral"})
}

/// Mark the last markable block of a `system` or message `content` (a string becomes one text block).
fn mark_content(content: &mut Value) -> bool {
    if let Value::String(text) = content {
        if text.is_empty() {
            return false;
        }
        *content =
            json!([{"type": "text", "text": std::mem::take(text), "cache_control": ephemeral()}]);
        return true;
    }
    let Some(blocks) = content.as_array_mut() else {
        return false;
    };
    let markable = blocks.iter_mut().rev().find(|b| {
        b.is_object()
            && !matches!(
                b.get("type").and_then(Value::as_str),
                Some("thinking" | "redacted_thinking")
            )
    });
    match markable {
        Some(block) => {
            block["cache_control"] = ephemeral();
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long(n: usize) -> String {
        "lorem ipsum ".repeat(n)
    }

    fn conversation() -> Value {
        json!({
            "model": "claude-sonnet-4-5", "max_tokens": 100,
            "system": long(500),
            "tools": [
                {"name": "a", "description": long(200), "input_schema": {"type": "object"}},
                {"name": "b", "description": long(200), "input_schema": {"type": "object"}}
            ],
            "messages": [
                {"role": "user", "content": "first question"},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "hm", "signature": "s"},
                    {"type": "text", "text": "first answer"}]},
                {"role": "user", "content": [{"type": "text", "text": "second"}, {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA"}}]},
                {"role": "assistant", "content": "second answer"},
                {"role": "user", "content": "newest"}
            ]
        })
    }

    #[test]
    fn marks_system_tools_and_the_previous_user_turn() {
        let mut body = conversation();
        assert_eq!(place(&mut body), 3);
        assert_eq!(breakpoints(&body), 3);
        assert_eq!(body["system"][0]["cache_control"], ephemeral());
        assert_eq!(body["system"][0]["text"], long(500), "the text is kept");
        assert!(body["tools"][0].get("cache_control").is_none());
        assert_eq!(body["tools"][1]["cache_control"], ephemeral());
        assert_eq!(
            body["messages"][2]["content"][1]["cache_control"],
            ephemeral(),
            "the last block of the user turn before the newest"
        );
        assert!(body["messages"][0]["content"].is_string());
        assert_eq!(
            body["messages"][4]["content"], "newest",
            "the newest turn is not marked"
        );
    }

    #[test]
    fn the_clients_own_breakpoints_are_left_alone() {
        let mut body = conversation();
        body["tools"][0]["cache_control"] = ephemeral();
        let before = body.clone();
        assert_eq!(place(&mut body), 0);
        assert_eq!(body, before);
    }

    #[test]
    fn short_prefixes_get_no_breakpoint() {
        let mut body = json!({"model": "m", "max_tokens": 1, "system": "Be brief.",
            "tools": [{"name": "a", "input_schema": {"type": "object"}}],
            "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"},
                {"role": "user", "content": "again"}]});
        let before = body.clone();
        assert_eq!(place(&mut body), 0);
        assert_eq!(body, before);
        // A long first turn makes the conversation prefix worth caching, even with a short system.
        body["messages"][0]["content"] = long(400).into();
        assert_eq!(place(&mut body), 1);
        assert_eq!(
            body["messages"][0]["content"][0]["cache_control"],
            ephemeral()
        );
        assert!(body["system"].is_string());
    }

    #[test]
    fn never_marks_thinking_and_never_exceeds_the_limit() {
        let mut content = json!([{"type": "thinking", "thinking": "x", "signature": "s"}]);
        assert!(!mark_content(&mut content));
        // Whatever the body, the total stays within Anthropic's limit.
        let mut body = conversation();
        place(&mut body);
        place(&mut body);
        assert!(breakpoints(&body) <= MAX_BREAKPOINTS);
        let mut odd = json!({"system": 3, "tools": "x", "messages": {"role": "user"}});
        assert_eq!(place(&mut odd), 0);
        assert_eq!(place(&mut json!([1])), 0);
    }
}
