//! xAI speaks the OpenAI chat-completions API (see `openai`); these are its documented differences.
//!
//! * Grok 4 always reasons and rejects `reasoning_effort`, `presence_penalty`, `frequency_penalty` and
//!   `stop`; they are dropped rather than failing the call.
//! * `grok-3-mini` takes `reasoning_effort` `low` or `high` only; other levels map to the nearer one.
//! * Reasoning text arrives as `reasoning_content` (in messages and stream deltas), which the OpenAI code
//!   already reads and passes on.

use super::edited::Edited;

pub(crate) fn adapt(body: &mut Edited<'_>, model: &str) {
    if model.starts_with("grok-4") {
        for field in [
            "reasoning_effort",
            "presence_penalty",
            "frequency_penalty",
            "stop",
        ] {
            body.remove(field);
        }
    } else if model.starts_with("grok-3-mini") {
        let effort = body
            .get("reasoning_effort")
            .and_then(|v| v.as_str().map(str::to_owned));
        if let Some(effort) = effort.as_deref() {
            let mapped = if matches!(effort, "minimal" | "low") {
                "low"
            } else {
                "high"
            };
            body.set("reasoning_effort", mapped);
        }
    } else {
        body.remove("reasoning_effort");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::providers::RequestBody;

    /// The body `adapt` sends for `body` to `model`.
    fn adapted(body: Value, model: &str) -> Value {
        let body = RequestBody::from(body);
        let mut e = Edited::of(&body);
        adapt(&mut e, model);
        serde_json::to_value(&e).unwrap()
    }

    #[test]
    fn drops_what_grok_4_rejects() {
        let b = json!({"model": "grok-4", "reasoning_effort": "high", "stop": ["x"], "presence_penalty": 1, "temperature": 0.1});
        assert_eq!(
            adapted(b, "grok-4"),
            json!({"model": "grok-4", "temperature": 0.1})
        );
        let b = json!({"model": "grok-3-mini", "reasoning_effort": "medium"});
        assert_eq!(adapted(b, "grok-3-mini")["reasoning_effort"], "high");
        let b = json!({"model": "grok-3", "reasoning_effort": "low", "stop": ["x"]});
        assert_eq!(
            adapted(b, "grok-3"),
            json!({"model": "grok-3", "stop": ["x"]})
        );
    }
}
