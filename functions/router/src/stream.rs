//! A committed stream as an SSE response: the held-back head (up to the first content event) goes out with
//! the headers; the rest is relayed as it arrives. The usage event, and whatever follows it, waits until
//! usage is billed so it carries `usage.cost`. When the upstream fails or runs past the limit after the
//! commit, the client gets an error event in its format, never a clean end.
//!
//! A client that goes away does not end the provider's work, nor its bill: the upstream is read on in the
//! background (at most [`ABANDONED_READ`], within the stream's own limit, and [`crate::streamed::MAX_TEXT`] of
//! text) for the provider's usage, then dropped. A stream that ends without usage is billed what it
//! carried: its text's tokens as output (`streamed`), its request's estimated tokens as input.
//!
//! For a key with `logging` on, every frame the client is sent is also copied into its payload capture
//! (`stream_capture`, bounded); without it no frame is copied.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use byok_shared::error::{Error, ErrorKind};
use byok_shared::providers::{
    ClientFormat, EventStream, ForwardedHeaders, ProviderError, StreamEvent, Usage,
};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc::Sender;

use crate::stream_capture::StreamCapture;
use crate::streamed::Streamed;
use crate::{respond, sse};

/// Frames queued between the relay task and the response body.
const QUEUE: usize = 32;

/// How long an abandoned stream's upstream is read on for its usage.
pub const ABANDONED_READ: Duration = Duration::from_secs(30);

/// What the stream's end reports back (the provider's usage, else the output tokens of what was streamed;
/// whether it failed; the payload capture, when the key has one), so usage is recorded before the last
/// frame is sent; it returns the cost to put into the usage event.
pub type Finish = Box<
    dyn FnOnce(
            Option<Usage>,
            u64,
            bool,
            Option<StreamCapture>,
        ) -> futures::future::BoxFuture<'static, Option<f64>>
        + Send,
>;

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

/// `capture`: the payload capture of a key with `logging` on (`None`: no frame is copied).
pub fn response(
    events: Events,
    headers: HeaderMap,
    upstream: &ForwardedHeaders,
    finish: Finish,
    max_duration: Duration,
    mut capture: Option<StreamCapture>,
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
    let mut streamed = Streamed::default();
    let unsent = queue_head(&tx, events.head, &mut streamed, capture.as_mut());
    let format = events.format;
    let counter = next_seq.clone();
    let mut rest = futures::stream::iter(unsent.into_iter().map(Ok))
        .chain(events.rest)
        .inspect(move |item| {
            if let Ok(event) = item {
                seen(&counter, event);
            }
        });
    tokio::spawn(async move {
        let mut held = Vec::new();
        let deadline = tokio::time::Instant::now() + max_duration;
        let end = relay(
            &mut rest,
            &tx,
            &mut held,
            &mut streamed,
            capture.as_mut(),
            deadline,
            max_duration,
        )
        .await;
        if matches!(end, End::Gone) {
            read_abandoned(&mut rest, &mut held, &mut streamed, deadline).await;
        }
        drop(rest);
        let failed = !matches!(end, End::Done);
        let last = last_frame(format, &end, next_seq.load(Ordering::Relaxed));
        let gone = matches!(end, End::Gone);
        if let Some(capture) = capture.as_mut().filter(|_| !gone) {
            // The client gets these after the bill (with the cost): the capture writes them in then.
            capture.hold(&held, last.as_ref());
        }
        match held.iter().find_map(|e| e.usage) {
            Some(usage) => {
                let cost = finish(Some(usage), 0, failed, capture).await;
                close(&tx, held, cost, gone, last).await;
            }
            None => {
                // No event carries a cost: the client gets its last frames now; the stream's end (`tx`
                // dropped) still waits for the bill, as Lambda may freeze once the response is complete.
                close(&tx, held, None, gone, last).await;
                let tokens = tokio::task::spawn_blocking(move || streamed.tokens())
                    .await
                    .unwrap_or(0);
                finish(None, tokens, failed, capture).await;
            }
        }
    });
    sse_response(rx, headers, upstream)
}

/// Queue the head before the response leaves, so the first body poll after the headers finds it ready
/// (headers and first token go out together). Returns what could not be queued yet: everything from the
/// first event that must wait (a usage event waits for its cost), or past a full queue.
fn queue_head(
    tx: &Sender<Bytes>,
    head: Vec<StreamEvent>,
    streamed: &mut Streamed,
    mut capture: Option<&mut StreamCapture>,
) -> Vec<StreamEvent> {
    let mut unsent = Vec::new();
    for event in head {
        streamed.add(&event);
        if !unsent.is_empty() || event.usage.is_some() {
            unsent.push(event);
            continue;
        }
        let frame = sse::encode(&event);
        let copy = capture.is_some().then(|| frame.clone());
        if tx.try_send(frame).is_err() {
            unsent.push(event);
        } else if let (Some(capture), Some(copy)) = (capture.as_deref_mut(), copy) {
            capture.sent(&copy);
        }
    }
    unsent
}

/// Relay events until the upstream ends, fails, runs past `deadline` (`max_duration` after the start), or
/// the client goes away. The usage event and everything after it are kept in `held`; the text of what is
/// relayed in `streamed` (head events were counted when queued), and each frame sent in `capture`.
async fn relay(
    events: &mut (impl futures::Stream<Item = Result<StreamEvent, ProviderError>> + Unpin),
    tx: &Sender<Bytes>,
    held: &mut Vec<StreamEvent>,
    streamed: &mut Streamed,
    mut capture: Option<&mut StreamCapture>,
    deadline: tokio::time::Instant,
    max_duration: Duration,
) -> End {
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
                streamed.add(&event);
                let frame = sse::encode(&event);
                let copy = capture.is_some().then(|| frame.clone());
                if tx.send(frame).await.is_err() {
                    return End::Gone;
                }
                if let (Some(capture), Some(copy)) = (capture.as_deref_mut(), copy) {
                    capture.sent(&copy);
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

/// The client went away: read on (bounded in time and text) for the provider's usage, keeping content
/// text in `streamed`; a failure or the bound ends it (the caller then drops the upstream).
async fn read_abandoned(
    events: &mut (impl futures::Stream<Item = Result<StreamEvent, ProviderError>> + Unpin),
    held: &mut Vec<StreamEvent>,
    streamed: &mut Streamed,
    deadline: tokio::time::Instant,
) {
    let until = deadline.min(tokio::time::Instant::now() + ABANDONED_READ);
    while !streamed.full() && held.iter().all(|e| e.usage.is_none()) {
        match tokio::time::timeout_at(until, events.next()).await {
            Ok(Some(Ok(event))) => {
                streamed.add(&event);
                if event.usage.is_some() {
                    held.push(event);
                }
            }
            Ok(Some(Err(_)) | None) | Err(_) => return,
        }
    }
}

/// The frame that ends the stream after its held events: the format's terminator, or the error event.
fn last_frame(format: ClientFormat, end: &End, next_seq: u64) -> Option<Bytes> {
    match end {
        End::Failed(e) => Some(sse::error_event(format, e, next_seq)),
        End::Done => sse::done(format),
        End::Gone => None,
    }
}

/// The held events with their cost, then the `last` frame; nothing when the client is `gone`.
async fn close(
    tx: &Sender<Bytes>,
    held: Vec<StreamEvent>,
    cost: Option<f64>,
    gone: bool,
    last: Option<Bytes>,
) {
    if gone {
        return;
    }
    for mut event in held {
        sse::add_cost(&mut event, cost);
        if tx.send(sse::encode(&event)).await.is_err() {
            return;
        }
    }
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
