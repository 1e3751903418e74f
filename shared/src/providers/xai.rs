//! xAI speaks the OpenAI chat-completions API (see `openai`); these are its documented differences.
//!
//! * Grok 4 always reasons and rejects `reasoning_effort`, `presence_penalty`, `frequency_penalty` and
//!   `stop`; they are dropped rather than failing the call.
//! * `grok-3-mini` takes `reasoning_effort` `low` or `high` only; other levels map to the nearer one.
//! * Reasoning text arrives as `reasoning_content` (in messages and stream deltas), which the OpenAI code
//!   already reads and passes on.

use serde_json::Value;

pub(crate) fn adapt(body: &mut Value, model: &str) {
    let Some(obj) = body.as_object_mut() else {
        return;
    };
    if model.starts_with("grok-4") {
        for field in [
            "reasoning_effort",
            "presence_penalty",
            "frequency_penalty",
            "stop",
        ] {
            obj.remove(field);
        }
    } else if model.starts_with("grok-3-mini") {
        if let Some(effort) = obj.get("reasoning_effort").and_then(Value::as_str) {
            let mapped = if matches!(effort, "minimal" | "low") {
                "low"
            } else {
                "high"
            };
            obj.insert("reasoning_effort".into(), mapped.into());
        }
    } else {
        obj.remove("reasoning_effort");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn drops_what_grok_4_rejects() {
        let mut b = json!({"model": "grok-4", "reasoning_effort": "high", "stop": ["x"], "presence_penalty": 1, "temperature": 0.1});
        adapt(&mut b, "grok-4");
        assert_eq!(b, json!({"model": "grok-4", "temperature": 0.1}));
        let mut b = json!({"model": "grok-3-mini", "reasoning_effort": "medium"});
        adapt(&mut b, "grok-3-mini");
        assert_eq!(b["reasoning_effort"], "high");
        let mut b = json!({"model": "grok-3", "reasoning_effort": "low", "stop": ["x"]});
        adapt(&mut b, "grok-3");
        assert_eq!(b, json!({"model": "grok-3", "stop": ["x"]}));
    }
}
