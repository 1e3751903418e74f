//! What a stream has carried so far, as text: when the provider never says what the stream used (the
//! client went away and the rest could not be read, or the stream broke), the output is billed as the
//! tokens of this text. Bounded: past [`MAX_TEXT`] bytes it stops growing and says it is full, which also
//! ends the reading of an abandoned stream.

use byok_shared::providers::{StreamEvent, text_tokens};
use serde_json::Value;

/// Text kept for counting (o200k tokens are at least a byte each, so this bounds the count too).
pub const MAX_TEXT: usize = 4 * 1024 * 1024;

#[derive(Default)]
pub struct Streamed {
    text: String,
    full: bool,
}

impl Streamed {
    /// Keep the text an event carries: OpenAI chunks' content, reasoning and tool-call arguments;
    /// Anthropic deltas' text, thinking and tool input.
    pub fn add(&mut self, event: &StreamEvent) {
        if !event.is_content || self.full {
            return;
        }
        let data = &event.data;
        let mut texts: Vec<&str> = Vec::new();
        if let Some(choices) = data.get("choices").and_then(Value::as_array) {
            for delta in choices.iter().filter_map(|c| c.get("delta")) {
                texts.extend(
                    ["content", "reasoning_content"]
                        .iter()
                        .filter_map(|f| delta.get(*f).and_then(Value::as_str)),
                );
                for call in delta
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    texts.extend(call.pointer("/function/name").and_then(Value::as_str));
                    texts.extend(call.pointer("/function/arguments").and_then(Value::as_str));
                }
            }
        }
        if let Some(delta) = data.get("delta") {
            texts.extend(
                ["text", "thinking", "partial_json"]
                    .iter()
                    .filter_map(|f| delta.get(*f).and_then(Value::as_str)),
            );
        }
        if let Some(block) = data.get("content_block") {
            texts.extend(
                ["text", "thinking", "name"]
                    .iter()
                    .filter_map(|f| block.get(*f).and_then(Value::as_str)),
            );
        }
        for text in texts {
            let room = MAX_TEXT - self.text.len();
            if text.len() > room {
                let mut cut = room;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                self.text.push_str(&text[..cut]);
                self.full = true;
                return;
            }
            self.text.push_str(text);
        }
    }

    pub fn full(&self) -> bool {
        self.full
    }

    /// The output tokens of what was streamed.
    pub fn tokens(&self) -> u64 {
        text_tokens(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use byok_shared::providers::StreamEvent;
    use serde_json::json;

    use super::*;

    fn content(data: Value) -> StreamEvent {
        StreamEvent {
            event: None,
            data,
            is_content: true,
            usage: None,
        }
    }

    #[test]
    fn keeps_the_text_of_both_formats() {
        let mut s = Streamed::default();
        s.add(&content(
            json!({"choices": [{"delta": {"content": "Hello"}}]}),
        ));
        s.add(&content(json!({"choices": [{"delta": {"tool_calls": [{"function": {"name": "get", "arguments": "{\"a\":1}"}}]}}]})));
        s.add(&content(json!({"type": "content_block_delta", "delta": {"type": "text_delta", "text": " world"}})));
        s.add(&content(json!({"type": "content_block_delta", "delta": {"type": "input_json_delta", "partial_json": "{}"}})));
        assert_eq!(s.text, "Helloget{\"a\":1} world{}");
        assert!(s.tokens() >= 5);
        let mut not_content = content(json!({"choices": [{"delta": {"content": "x"}}]}));
        not_content.is_content = false;
        s.add(&not_content);
        assert!(!s.text.ends_with('x'));
    }

    #[test]
    fn stops_at_the_bound_on_a_char_boundary() {
        let mut s = Streamed::default();
        let big = "é".repeat(MAX_TEXT / 2 + 1);
        s.add(&content(json!({"delta": {"text": big}})));
        assert!(s.full() && s.text.len() <= MAX_TEXT);
        s.add(&content(json!({"delta": {"text": "more"}})));
        assert!(s.text.len() <= MAX_TEXT);
    }
}
