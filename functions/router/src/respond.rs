//! Turning the engine's result into the HTTP response: the headers naming who answered and every attempt,
//! whole JSON answers, replays, and errors. Streams are `stream.rs`'s.

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use byok_shared::error::Error;
use byok_shared::http::AccessNote;
use byok_shared::providers::{AnswerBody, ForwardedHeaders};
use byok_shared::repo::idempotency::Stored;
use byok_shared::routing::attempts::{self, Attempt};
use byok_shared::routing::{Failed, Served};

pub const MODEL_HEADER: &str = "x-byok-model";
pub const KEY_HEADER: &str = "x-byok-key-source";

pub fn meta_headers(model: Option<&str>, key: Option<&str>, tried: &[Attempt]) -> HeaderMap {
    // Names built at compile time: a `&str` name is checked and lower-cased on every insert.
    const ATTEMPTS: HeaderName = HeaderName::from_static(attempts::HEADER);
    const MODEL: HeaderName = HeaderName::from_static(MODEL_HEADER);
    const KEY: HeaderName = HeaderName::from_static(KEY_HEADER);
    let mut headers = HeaderMap::with_capacity(4);
    // The value's own buffer becomes the header's, not a copy of it.
    if let Ok(v) = HeaderValue::try_from(attempts::header_value(tried)) {
        headers.insert(ATTEMPTS, v);
    }
    let mut put = |name: HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    if let Some(model) = model {
        put(MODEL, model);
    }
    if let Some(key) = key {
        put(KEY, key);
    }
    headers
}

/// The headers of a served answer: the model that answered, whose key, and every attempt.
pub fn served_headers(served: &Served) -> HeaderMap {
    meta_headers(
        Some(&served.qualified_model()),
        Some(served.key.as_str()),
        &served.attempts,
    )
}

/// The provider's own response headers that clients read, beside ours.
pub fn forward(headers: &mut HeaderMap, upstream: &ForwardedHeaders) {
    for (name, value) in upstream {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
}

/// A stored idempotent answer, replayed.
pub fn replay(stored: Stored) -> Response {
    let mut headers = meta_headers(Some(&stored.model), Some(&stored.key_source), &[]);
    if let Ok(v) = HeaderValue::from_str(&stored.attempts) {
        headers.insert(attempts::HEADER, v);
    }
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    json(stored.body, headers, &Vec::new())
}

/// The error of a request no attempt could serve, with every attempt listed.
pub fn failed(failed: Failed) -> Response {
    let headers = meta_headers(None, None, &failed.attempts);
    error(failed.error, headers)
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

pub fn json(
    body: impl serde::Serialize,
    mut headers: HeaderMap,
    upstream: &ForwardedHeaders,
) -> Response {
    forward(&mut headers, upstream);
    (StatusCode::OK, headers, axum::Json(body)).into_response()
}

/// A whole answer: its JSON text written once, into a buffer of its size.
pub fn answer(body: &AnswerBody, mut headers: HeaderMap, upstream: &ForwardedHeaders) -> Response {
    let bytes = match body.to_json_bytes() {
        Ok(bytes) => bytes,
        Err(e) => {
            return Error::internal(format!("the answer could not be written: {e}"))
                .into_response();
        }
    };
    forward(&mut headers, upstream);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    (StatusCode::OK, headers, Body::from(bytes)).into_response()
}

pub fn error(error: Error, headers: HeaderMap) -> Response {
    let mut response = error.into_response();
    response.headers_mut().extend(headers);
    response
}
