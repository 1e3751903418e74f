//! The request's access line, and when it is written: at once for an answer sent whole, at the end of the
//! body for a stream.
//!
//! A stream's line used to be written when its response was committed, between the provider's first
//! content event and the first bytes to the client: formatting it and waking the log writer sat on the
//! time to first token. Written when the body ends, it also says how long the whole stream took.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::http::Method;
use http_body::{Frame, SizeHint};

use super::layers::AccessNote;

/// What the line says, gathered when the response head is ready.
pub(super) struct AccessLine {
    pub id: String,
    pub method: Method,
    pub route: String,
    pub status: u16,
    pub started: Instant,
    /// Milliseconds from the request to its response head.
    pub head_ms: f64,
    pub note: Option<AccessNote>,
}

impl AccessLine {
    /// Write the line; `body_ms` is the whole response's time, for a stream.
    fn write(&self, body_ms: Option<f64>) {
        // Strings recorded as `&str`, not `%` (Display): tracing's JSON writer formats a Display value into
        // a new String before it writes it.
        tracing::info!(
            request_id = self.id.as_str(),
            method = self.method.as_str(),
            route = self.route.as_str(),
            status = self.status,
            ms = self.head_ms,
            body_ms,
            model = self.note.as_ref().map(|n| n.model.as_str()),
            stream = self.note.as_ref().map(|n| n.stream),
            "served"
        );
    }

    /// Write the line now, or, for a stream, hand back a body that writes it when it ends.
    pub fn write_at_end(self, body: Body) -> Body {
        if self.note.as_ref().is_some_and(|n| n.stream) {
            Body::new(LineAtEnd {
                inner: body,
                line: Some(self),
            })
        } else {
            self.write(None);
            body
        }
    }
}

/// A stream's body, which writes its access line once: when the body ends, fails, or is dropped unfinished
/// (the client went away).
struct LineAtEnd {
    inner: Body,
    line: Option<AccessLine>,
}

impl LineAtEnd {
    fn finish(&mut self) {
        if let Some(line) = self.line.take() {
            line.write(Some(line.started.elapsed().as_secs_f64() * 1e3));
        }
    }
}

impl HttpBody for LineAtEnd {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            self.finish();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for LineAtEnd {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;
    use crate::telemetry::captured::Lines;

    fn line(stream: bool) -> AccessLine {
        AccessLine {
            id: "req_1".into(),
            method: Method::POST,
            route: "/v1/chat/completions".into(),
            status: 200,
            started: Instant::now(),
            head_ms: 1.5,
            note: Some(AccessNote {
                model: "policy/p".into(),
                stream,
            }),
        }
    }

    fn chunks() -> Body {
        Body::from_stream(futures::stream::iter(
            ["data: a\n\n", "data: b\n\n"].map(|c| Ok::<_, std::io::Error>(Bytes::from(c))),
        ))
    }

    #[tokio::test]
    async fn a_streams_line_is_written_when_its_body_ends() {
        let lines = Lines::default();
        let _guard = lines.capture("info");
        let mut body = line(true).write_at_end(chunks());
        assert!(lines.written().is_empty(), "nothing before the first byte");
        body.frame().await.unwrap().unwrap();
        body.frame().await.unwrap().unwrap();
        assert!(lines.written().is_empty(), "nothing while it streams");
        assert!(body.frame().await.is_none());
        let written = lines.written();
        assert_eq!(written.len(), 1);
        let fields = &written[0]["fields"];
        assert_eq!(fields["request_id"], "req_1");
        assert_eq!(fields["ms"], 1.5);
        assert_eq!(fields["stream"], true);
        assert!(fields["body_ms"].as_f64().is_some_and(|ms| ms >= 0.0));
        drop(body);
        assert_eq!(lines.written().len(), 1, "one line, not one more at drop");
    }

    #[tokio::test]
    async fn a_stream_the_client_left_is_logged_when_dropped() {
        let lines = Lines::default();
        let _guard = lines.capture("info");
        let mut body = line(true).write_at_end(chunks());
        body.frame().await.unwrap().unwrap();
        drop(body);
        let written = lines.written();
        assert_eq!(written.len(), 1);
        assert_eq!(written[0]["fields"]["request_id"], "req_1");
    }

    #[tokio::test]
    async fn an_answer_sent_whole_is_logged_at_once() {
        let lines = Lines::default();
        let _guard = lines.capture("info");
        let body = line(false).write_at_end(Body::from("{}"));
        let written = lines.written();
        assert_eq!(written.len(), 1);
        assert_eq!(written[0]["fields"]["stream"], false);
        assert!(written[0]["fields"].get("body_ms").is_none());
        assert_eq!(body.collect().await.unwrap().to_bytes(), "{}");
    }
}
