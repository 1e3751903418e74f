//! Anthropic prompt caching, as the mock imitates it: the prompt is the blocks of `tools`, `system` and
//! `messages` in that order; each block marked `cache_control` ends a cacheable prefix. A prefix shorter than
//! [`MIN_TOKENS`] is not cached (as Anthropic does, silently). The longest marked prefix already cached (for
//! the same key and model) is read; the longest marked prefix not yet cached is written; the rest is fresh
//! input. Tokens are estimated at 4 characters of the blocks' JSON each (the marks left out), the same rule
//! whatever the test sends.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::Value;

/// Anthropic's smallest cacheable prefix (Sonnet / Opus).
pub const MIN_TOKENS: u64 = 1024;

/// What one request read from and wrote to the cache, and its whole input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheUse {
    pub input: u64,
    pub read: u64,
    pub written: u64,
}

fn blocks(body: &Value) -> Vec<(Value, bool)> {
    let mut out = Vec::new();
    let mut push = |v: &Value| {
        let marked = v.get("cache_control").is_some_and(|c| !c.is_null());
        let mut clean = v.clone();
        if let Some(o) = clean.as_object_mut() {
            o.remove("cache_control");
        }
        out.push((clean, marked));
    };
    let mut each = |v: Option<&Value>| match v {
        Some(Value::Array(items)) => items.iter().for_each(&mut push),
        Some(other) if !other.is_null() => push(other),
        _ => {}
    };
    each(body.get("tools"));
    each(body.get("system"));
    if let Some(messages) = body.get("messages").and_then(Value::as_array) {
        for m in messages {
            let role = m.get("role").cloned().unwrap_or(Value::Null);
            match m.get("content") {
                Some(Value::Array(items)) => {
                    for b in items {
                        let marked = b.get("cache_control").is_some_and(|c| !c.is_null());
                        let mut clean = b.clone();
                        if let Some(o) = clean.as_object_mut() {
                            o.remove("cache_control");
                        }
                        out.push((serde_json::json!([role, clean]), marked));
                    }
                }
                Some(other) => out.push((serde_json::json!([role, other]), false)),
                None => {}
            }
        }
    }
    out
}

/// Count this request's cache use and remember what it wrote, in `cache` (per mock).
pub fn apply(cache: &mut HashSet<u64>, scope: &str, body: &Value) -> CacheUse {
    let mut hasher = DefaultHasher::new();
    scope.hash(&mut hasher);
    let mut chars: u64 = 0;
    let mut marks: Vec<(u64, u64)> = Vec::new();
    for (block, marked) in blocks(body) {
        let text = block.to_string();
        chars += text.len() as u64;
        text.hash(&mut hasher);
        if marked {
            marks.push((chars / 4, hasher.finish()));
        }
    }
    let input = chars / 4;
    let read = marks
        .iter()
        .filter(|(tokens, hash)| *tokens >= MIN_TOKENS && cache.contains(hash))
        .map(|(tokens, _)| *tokens)
        .max()
        .unwrap_or(0);
    let mut written = 0;
    if let Some((tokens, hash)) = marks
        .iter()
        .filter(|(tokens, _)| *tokens >= MIN_TOKENS && *tokens > read)
        .max_by_key(|(tokens, _)| *tokens)
    {
        written = tokens - read;
        cache.insert(*hash);
    }
    CacheUse {
        input,
        read,
        written,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn writes_then_reads_the_marked_prefix() {
        let system = "x".repeat(8000);
        let body = json!({"system": [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": "hi"}]});
        let mut cache = HashSet::new();
        let first = apply(&mut cache, "k", &body);
        assert!(first.written >= MIN_TOKENS && first.read == 0, "{first:?}");
        let second = apply(&mut cache, "k", &body);
        assert_eq!((second.read, second.written), (first.written, 0));
        assert_eq!(
            apply(&mut cache, "other key", &body).read,
            0,
            "per key and model"
        );
        // Without a mark nothing is cached; a short marked prefix is not cached either.
        let plain = json!({"system": system, "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(
            apply(&mut cache, "k", &plain),
            CacheUse {
                input: plain_input(&plain),
                read: 0,
                written: 0
            }
        );
        let short = json!({"system": [{"type": "text", "text": "short", "cache_control": {"type": "ephemeral"}}], "messages": []});
        assert_eq!(apply(&mut cache, "k", &short).written, 0);
    }

    fn plain_input(body: &Value) -> u64 {
        let mut c = HashSet::new();
        apply(&mut c, "", body).input
    }
}
