//! The most output tokens each model gives: the real APIs refuse a request asking for more with a 400
//! (OpenAI `max_tokens is too large`, Anthropic `max_tokens: N > M`, Gemini's supported range), so a
//! gateway that forwards a client's budget sized for another provider's model fails here as it would there.

use serde_json::Value;

use super::Refusal;
use crate::Kind;
use crate::wire::{anthropic, google, openai};

/// By model-name prefix (the mocks' test names such as `gpt-4.1-mini-tool` share their model's limit).
const MAX_OUTPUT: &[(&str, u64)] = &[
    ("gpt-4.1", 32_768),
    ("gpt-4o", 16_384),
    ("o3", 100_000),
    ("o4-mini", 100_000),
    ("claude-sonnet-4-5", 64_000),
    ("claude-haiku-4-5", 64_000),
    ("claude-opus-4-1", 32_000),
    ("claude-3-5-haiku", 8_192),
    ("gemini-2.5", 65_536),
];

fn max_output(model: &str) -> Option<u64> {
    MAX_OUTPUT
        .iter()
        .find(|(prefix, _)| model.starts_with(prefix))
        .map(|(_, n)| *n)
}

/// `body` asks `model` for no more output than it gives. `path` tells the API (chat completions or
/// responses at OpenAI).
pub fn check_max_output(kind: Kind, path: &str, model: &str, body: &Value) -> Result<(), Refusal> {
    let Some(most) = max_output(model) else {
        return Ok(());
    };
    let (field, asked) = match kind {
        Kind::OpenAi | Kind::Xai if path == "/v1/responses" => {
            ("max_output_tokens", body.get("max_output_tokens"))
        }
        Kind::OpenAi | Kind::Xai => match body.get("max_completion_tokens") {
            Some(v) => ("max_completion_tokens", Some(v)),
            None => ("max_tokens", body.get("max_tokens")),
        },
        Kind::Anthropic => ("max_tokens", body.get("max_tokens")),
        Kind::Google => (
            "maxOutputTokens",
            body.pointer("/generationConfig/maxOutputTokens"),
        ),
    };
    let Some(asked) = asked.and_then(Value::as_u64).filter(|n| *n > most) else {
        return Ok(());
    };
    let body = match kind {
        Kind::OpenAi | Kind::Xai => openai::error_body(
            400,
            Some(&format!(
                "{field} is too large: {asked}. This model supports at most {most} completion tokens, whereas you provided {asked}."
            )),
            Some("invalid_value"),
        ),
        Kind::Anthropic => anthropic::error_body(
            400,
            Some(&format!(
                "max_tokens: {asked} > {most}, which is the maximum allowed number of output tokens for {model}"
            )),
            None,
        ),
        Kind::Google => google::error_body(
            400,
            Some(&format!(
                "Unable to submit request because it has a maxOutputTokens value of {asked} but the supported range is from 1 (inclusive) to {} (exclusive). Update the value and try again.",
                most + 1
            )),
            None,
        ),
    };
    Err(Refusal { status: 400, body })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn refuses_more_than_the_model_gives() {
        let over = check_max_output(
            Kind::Anthropic,
            "/v1/messages",
            "claude-sonnet-4-5",
            &json!({"max_tokens": 64_001}),
        );
        assert!(
            over.unwrap_err().body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("64001 > 64000")
        );
        assert!(
            check_max_output(
                Kind::Anthropic,
                "/v1/messages",
                "claude-sonnet-4-5",
                &json!({"max_tokens": 64_000})
            )
            .is_ok()
        );
        assert!(
            check_max_output(
                Kind::OpenAi,
                "/v1/chat/completions",
                "gpt-4.1-mini",
                &json!({"max_completion_tokens": 40_000})
            )
            .is_err()
        );
        assert!(
            check_max_output(
                Kind::OpenAi,
                "/v1/responses",
                "gpt-4.1",
                &json!({"max_output_tokens": 40_000})
            )
            .is_err()
        );
        assert!(
            check_max_output(
                Kind::Google,
                "",
                "gemini-2.5-flash",
                &json!({"generationConfig": {"maxOutputTokens": 70_000}})
            )
            .is_err()
        );
        assert!(
            check_max_output(
                Kind::Xai,
                "/v1/chat/completions",
                "grok-4",
                &json!({"max_tokens": 1_000_000})
            )
            .is_ok()
        );
    }
}
