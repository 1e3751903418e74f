//! A committed stream as an SSE response: the held-back head (up to the first content event) goes out with
//! the headers; the rest is relayed as it arrives. The usage event, and whatever follows it, waits until
//! usage is billed so it carries `usage.cost`. When the upstream fails or runs past the limit after the
//! commit, the client gets an error event in its format, never a clean end. A client that goes away drops
//! the upstream stream, which cancels the provider call.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use byok_shared::error::{Error, ErrorKind};
use byok_shared::providers::{ClientFormat, EventStream, ForwardedHeaders, StreamEvent, Usage};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc::Sender;

use crate::{respond, sse};

/// Frames queued between the relay task and the response body.
const QUEUE: usize = 32;

/// What the stream's end reports back (usage, and whether it failed), so usage is recorded before the last
/// frame is sent; it returns the cost to put into the usage event.
pub type Finish =
    Box<dyn FnOnce(Option<Usage>, bool) -> futures::future::BoxFuture<'static, Option<f64>> + Send>;

/// A committed stream's events in the client's format.
pub struct Events {
    pub format: ClientFormat,
    pub head: Vec<StreamEvent>,
    pub rest: EventStream,
}

/// How the relay ended.
enum End {
    Done,
    Failed(Error),
    /// The client went away.
    Gone,
}

pub fn response(
    events: Events,
    headers: HeaderMap,
    upstream: &ForwardedHeaders,
    finish: Finish,
    max_duration: Duration,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(QUEUE);
    // One past the last Responses `sequence_number` relayed, for a closing error event.
    let next_seq = Arc::new(AtomicU64::new(0));
    let seen = |seq: &AtomicU64, event: &StreamEvent| {
        if let Some(n) = event.data.get("sequence_number").and_then(Value::as_u64) {
            seq.fetch_max(n + 1, Ordering::Relaxed);
        }
    };
    for event in &events.head {
        seen(&next_seq, event);
    }
    let unsent = queue_head(&tx, events.head);
    let format = events.format;
    let counter = next_seq.clone();
    let rest = futures::stream::iter(unsent.into_iter().map(Ok))
        .chain(events.rest)
        .inspect(move |item| {
            if let Ok(event) = item {
                seen(&counter, event);
            }
        });
    tokio::spawn(async move {
        let mut held = Vec::new();
        let end = relay(Box::pin(rest), &tx, &mut held, max_duration).await;
        let usage = held.iter().find_map(|e| e.usage);
        let cost = finish(usage, !matches!(end, End::Done)).await;
        let seq = next_seq.load(Ordering::Relaxed);
        close(&tx, format, held, cost, end, seq).await;
    });
    sse_response(rx, headers, upstream)
}

/// Queue the head before the response leaves, so the first body poll after the headers finds it ready
/// (headers and first token go out together). Returns what could not be queued yet: everything from the
/// first event that must wait (a usage event waits for its cost), or past a full queue.
fn queue_head(tx: &Sender<Bytes>, head: Vec<StreamEvent>) -> Vec<StreamEvent> {
    let mut unsent = Vec::new();
    for event in head {
        if !unsent.is_empty() || event.usage.is_some() || tx.try_send(sse::encode(&event)).is_err()
        {
            unsent.push(event);
        }
    }
    unsent
}

/// Relay events until the upstream ends, fails, runs past `max_duration`, or the client goes away. The
/// usage event and everything after it are kept in `held`.
async fn relay(
    mut events: impl futures::Stream<Item = Result<StreamEvent, byok_shared::providers::ProviderError>>
    + Unpin,
    tx: &Sender<Bytes>,
    held: &mut Vec<StreamEvent>,
    max_duration: Duration,
) -> End {
    let deadline = tokio::time::Instant::now() + max_duration;
    loop {
        let item = match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some(item)) => item,
            Ok(None) => return End::Done,
            Err(_) => {
                return End::Failed(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the stream ran past the gateway's limit of {} s",
                        max_duration.as_secs()
                    ),
                ));
            }
        };
        match item {
            Ok(event) if !held.is_empty() || event.usage.is_some() => held.push(event),
            Ok(event) => {
                if tx.send(sse::encode(&event)).await.is_err() {
                    return End::Gone;
                }
            }
            Err(e) => {
                return End::Failed(Error::new(
                    ErrorKind::Upstream,
                    format!("the provider stream failed: {}", e.message),
                ));
            }
        }
    }
}

/// The held events with their cost, then the format's terminator, or the error event.
async fn close(
    tx: &Sender<Bytes>,
    format: ClientFormat,
    held: Vec<StreamEvent>,
    cost: Option<f64>,
    end: End,
    next_seq: u64,
) {
    if matches!(end, End::Gone) {
        return;
    }
    for mut event in held {
        sse::add_cost(&mut event, cost);
        if tx.send(sse::encode(&event)).await.is_err() {
            return;
        }
    }
    let last = match end {
        End::Failed(e) => Some(sse::error_event(format, &e, next_seq)),
        End::Done | End::Gone => sse::done(format),
    };
    if let Some(frame) = last {
        let _ = tx.send(frame).await;
    }
}

fn sse_response(
    rx: tokio::sync::mpsc::Receiver<Bytes>,
    headers: HeaderMap,
    upstream: &ForwardedHeaders,
) -> Response {
    let frames = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    let mut response = Response::new(Body::from_stream(frames));
    let h = response.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert("cache-control", HeaderValue::from_static("no-cache"));
    h.extend(headers);
    respond::forward(h, upstream);
    response
}
