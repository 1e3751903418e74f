//! The payload capture of a stream (keys with `logging` on): the SSE text its client was sent, frame by
//! frame as the relay queues it (`event:` / `data:` lines as they went out, the usage event with its cost,
//! the `[DONE]` terminator or the closing error event), cut at [`PAYLOAD_CAP`] bytes on a character
//! boundary. Bounded: it never keeps more than the cap, and once full it stops looking at frames. A stream
//! whose client went away keeps what was sent before it left.
//!
//! The frames that wait for the bill (the usage event and what follows it) are held as events and written
//! into the text with the cost once it is known ([`StreamCapture::finish`]), since the request's record is
//! completed at billing, before those frames go out.
//!
//! Only a key with `logging` on has one: a stream without it copies nothing.

use byok_shared::domain::request_log::PAYLOAD_CAP;
use byok_shared::providers::StreamEvent;
use bytes::Bytes;

use crate::sse;

pub struct StreamCapture {
    text: String,
    cap: usize,
    truncated: bool,
    /// Events that go out after billing, with the cost in the usage event.
    held: Vec<StreamEvent>,
    /// The frame that ends the stream, after the held events.
    last: Option<Bytes>,
}

impl StreamCapture {
    pub fn new() -> Self {
        Self::with_cap(PAYLOAD_CAP)
    }

    fn with_cap(cap: usize) -> Self {
        Self {
            text: String::new(),
            cap,
            truncated: false,
            held: Vec::new(),
            last: None,
        }
    }

    /// A frame the client was sent.
    pub fn sent(&mut self, frame: &[u8]) {
        if self.truncated || frame.is_empty() {
            return;
        }
        // Frames are UTF-8 (JSON in SSE lines); anything else is kept as the client would decode it.
        let text = String::from_utf8_lossy(frame);
        let room = self.cap - self.text.len();
        let mut take = text.len();
        if take > room {
            take = room;
            while !text.is_char_boundary(take) {
                take -= 1;
            }
            self.truncated = true;
        }
        let piece = &text[..take];
        // Grow at most to the cap (amortised doubling would overshoot it).
        let needed = self.text.len() + piece.len();
        if needed > self.text.capacity() {
            let target = needed.max(self.text.capacity() * 2).min(self.cap);
            self.text.reserve_exact(target - self.text.len());
        }
        self.text.push_str(piece);
    }

    /// What the stream sends after its bill: `held` (the usage event and what follows it, each with the
    /// cost added), then `last` (the terminator or error event, if any).
    pub fn hold(&mut self, held: &[StreamEvent], last: Option<&Bytes>) {
        if self.truncated {
            return;
        }
        self.held = held.to_vec();
        self.last = last.cloned();
    }

    /// The captured text, the held frames written in with their `cost`, and whether it was cut.
    pub fn finish(mut self, cost: Option<f64>) -> (String, bool) {
        for mut event in std::mem::take(&mut self.held) {
            sse::add_cost(&mut event, cost);
            self.sent(&sse::encode(&event));
        }
        if let Some(last) = self.last.take() {
            self.sent(&last);
        }
        (self.text, self.truncated)
    }
}

#[cfg(test)]
mod tests {
    use byok_shared::providers::Usage;
    use serde_json::json;

    use super::*;

    #[test]
    fn keeps_frames_in_order_and_the_held_ones_with_their_cost() {
        let mut c = StreamCapture::new();
        c.sent(b"data: {\"a\":1}\n\n");
        let usage = StreamEvent {
            event: None,
            data: json!({"usage": {"prompt_tokens": 1}}),
            is_content: false,
            usage: Some(Usage::default()),
        };
        c.hold(&[usage], Some(&Bytes::from_static(b"data: [DONE]\n\n")));
        let (text, cut) = c.finish(Some(0.5));
        assert_eq!(
            text,
            "data: {\"a\":1}\n\ndata: {\"usage\":{\"cost\":0.5,\"prompt_tokens\":1}}\n\ndata: [DONE]\n\n"
        );
        assert!(!cut);
    }

    #[test]
    fn stops_at_the_cap_on_a_char_boundary_and_never_holds_more() {
        let mut c = StreamCapture::with_cap(10);
        c.sent("data: ".as_bytes());
        c.sent("éééé".as_bytes()); // 8 bytes: 4 fit, then a cut between characters
        assert_eq!(c.text, "data: éé");
        assert!(c.truncated && c.text.capacity() <= 10);
        c.sent(b"more");
        c.hold(&[], Some(&Bytes::from_static(b"data: [DONE]\n\n")));
        let (text, cut) = c.finish(None);
        assert_eq!((text.as_str(), cut), ("data: éé", true));
    }

    #[test]
    fn the_full_cap_is_kept_exactly() {
        let mut c = StreamCapture::new();
        let frame = format!("data: {}\n\n", "x".repeat(1000));
        for _ in 0..100 {
            c.sent(frame.as_bytes());
        }
        let (text, cut) = c.finish(None);
        assert!(cut);
        assert_eq!(text.len(), PAYLOAD_CAP);
        assert!(frame.repeat(100).starts_with(&text));
    }
}
