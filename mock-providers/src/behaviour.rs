//! What a mock answers: scripted per request (header, queue) or by model-name conventions.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How to answer one request. Every field is optional; the default is a deterministic success.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Behaviour {
    /// Answer with this HTTP status and the provider's real error body.
    pub status: Option<u16>,
    /// The error's message (default: the provider's usual one for the status).
    pub error_message: Option<String>,
    /// The error's code/type (e.g. OpenAI `insufficient_quota`, Anthropic `billing_error`).
    pub error_code: Option<String>,
    /// `Retry-After` header, in seconds.
    pub retry_after: Option<u64>,
    /// Extra headers on an error answer, verbatim (e.g. a hostile `retry-after: 1e20`).
    pub error_headers: Vec<(String, String)>,
    /// Wait before sending the headers.
    pub delay_ms: u64,
    /// Wait between stream events.
    pub chunk_delay_ms: u64,
    /// Send headers, then nothing ever (a JSON answer never comes at all).
    pub stall: bool,
    /// Stream: stop after this many events, without the terminator.
    pub cut_after: Option<usize>,
    /// Stream: the event at this index is malformed JSON.
    pub malformed_at: Option<usize>,
    /// Answer text (default: `Hello from mock <provider>.`).
    pub text: Option<String>,
    /// Answer with a tool call.
    pub tool_call: Option<ToolCallSpec>,
    /// Answer with reasoning text first.
    pub reasoning: Option<String>,
    /// Usage numbers to report.
    pub usage: Option<MockUsage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallSpec {
    pub name: String,
    #[serde(default)]
    pub arguments: Value,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MockUsage {
    pub input: u64,
    pub output: u64,
    /// Input read from the prompt cache (part of `input`).
    pub cached: u64,
    pub reasoning: u64,
    /// Input written to the prompt cache (part of `input`; Anthropic only).
    pub cache_write: u64,
}

impl Behaviour {
    pub fn status(status: u16) -> Self {
        Self {
            status: Some(status),
            ..Self::default()
        }
    }

    /// Conventions read from a model name's dash-separated words: `status-<code>`, `retry-<secs>`,
    /// `delay-<ms>`, `chunkdelay-<ms>`, `cut-<n>`, `malformed-<n>`, `stall`, `tool`, `reasoning`.
    /// E.g. `mock-status-429-retry-2`, `gpt-4.1-tool`, `gemini-2.5-flash-cut-2`.
    pub fn from_model(model: &str) -> Self {
        let words: Vec<&str> = model.split('-').collect();
        let number = |key: &str| {
            words
                .windows(2)
                .find(|w| w[0] == key)
                .and_then(|w| w[1].parse::<u64>().ok())
        };
        Self {
            status: number("status").and_then(|n| u16::try_from(n).ok()),
            retry_after: number("retry"),
            delay_ms: number("delay").unwrap_or(0),
            chunk_delay_ms: number("chunkdelay").unwrap_or(0),
            cut_after: number("cut").map(|n| n as usize),
            malformed_at: number("malformed").map(|n| n as usize),
            stall: words.contains(&"stall"),
            tool_call: words.contains(&"tool").then(|| ToolCallSpec {
                name: "get_weather".into(),
                arguments: serde_json::json!({"city": "Paris"}),
            }),
            reasoning: words
                .contains(&"reasoning")
                .then(|| "Let me think step by step.".to_owned()),
            ..Self::default()
        }
    }

    pub fn text_or_default(&self, provider: &str) -> String {
        self.text
            .clone()
            .unwrap_or_else(|| format!("Hello from mock {provider}."))
    }

    /// Usage: scripted, or derived from the answer so it is deterministic.
    pub fn usage_for(&self, text: &str) -> MockUsage {
        self.usage.unwrap_or(MockUsage {
            input: 12,
            output: text.split_whitespace().count() as u64
                + u64::from(self.tool_call.is_some()) * 8
                + self
                    .reasoning
                    .as_ref()
                    .map_or(0, |r| r.split_whitespace().count() as u64),
            cached: 0,
            cache_write: 0,
            reasoning: self
                .reasoning
                .as_ref()
                .map_or(0, |r| r.split_whitespace().count() as u64),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_conventions() {
        let b = Behaviour::from_model("mock-status-429-retry-2");
        assert_eq!((b.status, b.retry_after), (Some(429), Some(2)));
        let b = Behaviour::from_model("gpt-4.1-mini-tool-reasoning-cut-3");
        assert!(b.tool_call.is_some() && b.reasoning.is_some());
        assert_eq!(b.cut_after, Some(3));
        assert_eq!(Behaviour::from_model("gpt-4.1-mini"), Behaviour::default());
    }
}
