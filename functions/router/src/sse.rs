//! Encoding stream events for the client: SSE frames in the client's format, cost added to the usage event,
//! the OpenAI `[DONE]` terminator, and an explicit error event when a committed stream fails.

use bytes::Bytes;

use byok_shared::error::Error;
use byok_shared::http::{anthropic_error_body, error_body};
use byok_shared::providers::{ClientFormat, StreamEvent};

use crate::cost;

pub fn encode(event: &StreamEvent) -> Bytes {
    let data = serde_json::to_string(&event.data).unwrap_or_else(|_| "{}".into());
    Bytes::from(match event.event {
        Some(name) => format!("event: {name}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    })
}

/// Put `usage.cost` (USD, `null` when the price is unknown) into the event that carries the final usage.
pub fn add_cost(event: &mut StreamEvent, cost: Option<f64>) {
    if event.usage.is_some() {
        cost::put(&mut event.data, cost);
    }
}

/// What ends a successful stream beyond the provider's own events.
pub fn done(format: ClientFormat) -> Option<Bytes> {
    match format {
        ClientFormat::OpenAi => Some(Bytes::from_static(b"data: [DONE]\n\n")),
        ClientFormat::Anthropic | ClientFormat::Responses => None,
    }
}

/// The event that ends a failed stream: the clients' SDKs raise on it, so a failure is never a clean end.
/// `sequence_number` numbers a Responses error event (one past the last event sent).
pub fn error_event(format: ClientFormat, error: &Error, sequence_number: u64) -> Bytes {
    match format {
        ClientFormat::OpenAi => Bytes::from(format!("data: {}\n\n", error_body(error).1)),
        ClientFormat::Anthropic => {
            let (_, data) = anthropic_error_body(error);
            Bytes::from(format!("event: error\ndata: {data}\n\n"))
        }
        ClientFormat::Responses => {
            let (_, body) = error_body(error);
            let e = &body["error"];
            let data = serde_json::json!({"type": "error", "code": e["code"], "message": e["message"],
                "param": e["param"], "sequence_number": sequence_number});
            Bytes::from(format!("event: error\ndata: {data}\n\n"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use byok_shared::providers::Usage;
    use serde_json::json;

    #[test]
    fn frames_follow_each_format() {
        let chunk = StreamEvent {
            event: None,
            data: json!({"a": 1}),
            is_content: true,
            usage: None,
        };
        assert_eq!(encode(&chunk), "data: {\"a\":1}\n\n");
        let named = StreamEvent {
            event: Some("ping"),
            data: json!({"type": "ping"}),
            is_content: false,
            usage: None,
        };
        assert_eq!(encode(&named), "event: ping\ndata: {\"type\":\"ping\"}\n\n");
        assert_eq!(done(ClientFormat::OpenAi).unwrap(), "data: [DONE]\n\n");
        assert!(done(ClientFormat::Anthropic).is_none());
    }

    #[test]
    fn cost_goes_only_into_the_usage_event() {
        let mut last = StreamEvent {
            event: None,
            data: json!({"usage": {"prompt_tokens": 3}}),
            is_content: false,
            usage: Some(Usage::default()),
        };
        add_cost(&mut last, Some(0.25));
        assert_eq!(last.data["usage"]["cost"], 0.25);
        let mut other = StreamEvent {
            event: None,
            data: json!({"usage": {}}),
            is_content: false,
            usage: None,
        };
        add_cost(&mut other, Some(1.0));
        assert!(other.data["usage"].get("cost").is_none());
    }

    #[test]
    fn error_events_are_explicit() {
        let e = Error::new(
            byok_shared::error::ErrorKind::Upstream,
            "openai stream ended early",
        );
        let openai = error_event(ClientFormat::OpenAi, &e, 0);
        assert!(
            std::str::from_utf8(&openai)
                .unwrap()
                .starts_with("data: {\"error\":")
        );
        let anthropic = error_event(ClientFormat::Anthropic, &e, 0);
        assert!(
            std::str::from_utf8(&anthropic)
                .unwrap()
                .starts_with("event: error\ndata: {\"error\"")
        );
    }
}
