//! Turning the engine's result into the HTTP response: JSON with `usage.cost`, or an SSE stream that is
//! committed only after the first content event and that ends with an explicit error event on failure.

use std::convert::Infallible;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use byok_shared::error::{Error, ErrorKind};
use byok_shared::http::AccessNote;
use byok_shared::providers::{ClientFormat, Completed, EventStream, StreamEvent, Usage};
use byok_shared::routing::attempts::{self, Attempt};
use byok_shared::routing::sse;
use byok_shared::routing::{Failed, Served};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;

pub const MODEL_HEADER: &str = "x-byok-model";
pub const KEY_HEADER: &str = "x-byok-key-source";

pub fn meta_headers(model: Option<&str>, key: Option<&str>, tried: &[Attempt]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put(attempts::HEADER, &attempts::header_value(tried));
    if let Some(model) = model {
        put(MODEL_HEADER, model);
    }
    if let Some(key) = key {
        put(KEY_HEADER, key);
    }
    headers
}

/// The headers of a served answer: the model that answered, whose key, and every attempt.
pub fn served_headers(served: &Served) -> HeaderMap {
    meta_headers(
        Some(&served.model),
        Some(served.key.as_str()),
        &served.attempts,
    )
}

/// The error of a request no attempt could serve, with every attempt listed.
pub fn failed(failed: Failed) -> Response {
    let headers = meta_headers(None, None, &failed.attempts);
    error(failed.error, headers)
}

/// Set `usage.cost` on a whole answer.
pub fn with_cost(mut done: Completed, cost: Option<f64>) -> Value {
    if let Some(usage) = done.body.get_mut("usage").and_then(Value::as_object_mut) {
        usage.insert("cost".into(), cost.map_or(Value::Null, Value::from));
    }
    done.body
}

/// The request's part of its access log line.
pub fn note(parsed: &crate::request::Parsed) -> AccessNote {
    AccessNote {
        model: parsed.model.clone(),
        stream: parsed.stream,
    }
}

/// The response (an error in the OpenAI error shape when `result` failed), noted for the access log.
pub fn noted(result: byok_shared::Result<Response>, note: AccessNote) -> Response {
    let mut response = result.unwrap_or_else(IntoResponse::into_response);
    response.extensions_mut().insert(note);
    response
}

pub fn json(body: Value, headers: HeaderMap) -> Response {
    (StatusCode::OK, headers, axum::Json(body)).into_response()
}

fn error(error: Error, headers: HeaderMap) -> Response {
    let mut response = error.into_response();
    response.headers_mut().extend(headers);
    response
}

/// What the stream's end reports back (usage, and whether it failed), so usage is recorded before the last
/// frame is sent; it returns the cost to put into the usage event.
pub type Finish =
    Box<dyn FnOnce(Option<Usage>, bool) -> futures::future::BoxFuture<'static, Option<f64>> + Send>;

/// An SSE response: the held-back head, then the rest as it arrives. The usage event and what follows it are
/// held until usage is recorded, so they carry `usage.cost`. When the upstream fails after the commit, the
/// client gets an error event in its format, never a clean end. A client that goes away drops the upstream
/// stream, which cancels the provider call.
pub fn stream(
    format: ClientFormat,
    head: Vec<StreamEvent>,
    rest: EventStream,
    headers: HeaderMap,
    finish: Finish,
    max_duration: std::time::Duration,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(32);
    // The head (the first content event and what came before it) is queued before the response leaves,
    // so the first body poll after the headers finds it ready: headers and first token go out together,
    // without waiting for the task below to be scheduled.
    let mut rest_of_head = Vec::new();
    for event in head {
        // In order: once one event waits (a usage event is held for its cost), every later one does too.
        if !rest_of_head.is_empty() || event.usage.is_some() {
            rest_of_head.push(event);
        } else if tx.try_send(sse::encode(&event)).is_err() {
            rest_of_head.push(event); // the channel is full (a head of more than 32 events)
        }
    }
    let head = rest_of_head;
    tokio::spawn(async move {
        let mut events = futures::stream::iter(head.into_iter().map(Ok)).chain(rest);
        let mut held: Vec<StreamEvent> = Vec::new();
        let mut failure: Option<Error> = None;
        let mut gone = false;
        let deadline = tokio::time::Instant::now() + max_duration;
        loop {
            let item = match tokio::time::timeout_at(deadline, events.next()).await {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(_) => {
                    failure = Some(Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "the stream ran past the gateway's limit of {} s",
                            max_duration.as_secs()
                        ),
                    ));
                    break;
                }
            };
            match item {
                Ok(event) if !held.is_empty() || event.usage.is_some() => held.push(event),
                Ok(event) => {
                    if tx.send(sse::encode(&event)).await.is_err() {
                        gone = true;
                        break;
                    }
                }
                Err(e) => {
                    failure = Some(Error::new(
                        ErrorKind::Upstream,
                        format!("the provider stream failed: {}", e.message),
                    ));
                    break;
                }
            }
        }
        drop(events);
        let usage = held.iter().find_map(|e| e.usage);
        let cost = finish(usage, failure.is_some() || gone).await;
        if gone {
            return;
        }
        for mut event in held {
            sse::add_cost(&mut event, cost);
            if tx.send(sse::encode(&event)).await.is_err() {
                return;
            }
        }
        let last = match failure {
            Some(e) => Some(sse::error_event(format, &e)),
            None => sse::done(format),
        };
        if let Some(frame) = last {
            let _ = tx.send(frame).await;
        }
    });
    let body = Body::from_stream(receiver_stream(rx));
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert("cache-control", HeaderValue::from_static("no-cache"));
    h.extend(headers);
    response
}

fn receiver_stream(
    rx: tokio::sync::mpsc::Receiver<Bytes>,
) -> impl futures::Stream<Item = Result<Bytes, Infallible>> {
    futures::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|b| (Ok(b), rx)) },
    )
}
