//! The layers every router gets: body limit, request id + structured access log, JSON 404/405, and error
//! bodies in the shape of the endpoint (`super::error::reshape`, called by the access log's layer).
//!
//! The access log is one JSON line per request, written after the response is built (at the end of the
//! body for a stream, see `access_line`): the request id, the route template, status, time, and what a
//! handler added through [`AccessNote`]. Events raised while the request runs carry the request id
//! (`telemetry::in_request`). One line (not one at the start and one at the end) and no span
//! re-serialisation for it: under load the log lines were about a fifth of the gateway's CPU.

use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use super::access_line::AccessLine;
use super::error::{ErrorShape, reshape};
use crate::app::AppState;
use crate::domain::request_log;
use crate::error::Error;
use crate::telemetry;

const REQUEST_ID: &str = "x-request-id";

/// What an inference handler adds to the request's access line, as a response extension: the model the
/// caller asked for (`policy/<name>` or `<provider>/<model>`) and whether it streamed. Nothing secret.
#[derive(Debug, Clone)]
pub struct AccessNote {
    pub model: String,
    pub stream: bool,
}

/// Apply the common layers and turn the router into a service-ready one.
pub fn finish<S>(router: Router<S>, state: S) -> Router
where
    AppState: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    let limit = AppState::from_ref(&state).config().max_body_bytes;
    layers(router.with_state(state), limit)
}

fn layers(router: Router, max_body_bytes: usize) -> Router {
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn(access_log))
}

async fn not_found() -> Error {
    Error::not_found("no such route")
}

async fn method_not_allowed() -> Response {
    let mut response = Error::bad_request("method not allowed on this route").into_response();
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}

/// The gateway's id of the request being served (`req_` + a ULID), made by the common layers for every
/// request and returned in `x-request-id`; the request log's key. A client's own `x-request-id` is ignored,
/// so an id always names one request of the gateway's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    /// The layer's id; a fresh one where a router runs without the common layers.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId(request_log::new_request_id())))
    }
}

/// One JSON log line per request with a fresh request id, and the error body in the endpoint's shape
/// (`error::reshape`): one layer, one boxed future per request, not two. Logs the route template, never
/// the query, headers or body, so no secret can reach a log line from here.
async fn access_log(mut request: Request, next: Next) -> Response {
    let id = request_log::new_request_id();
    request.extensions_mut().insert(RequestId(id.clone()));
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().clone();
    let shape = ErrorShape::for_path(request.uri().path());
    // One header value for the request and the response (a clone shares its bytes).
    let header = HeaderValue::from_str(&id).ok();
    match &header {
        Some(v) => request.headers_mut().insert(REQUEST_ID, v.clone()),
        None => request.headers_mut().remove(REQUEST_ID),
    };
    // Events raised while the handler runs carry the id (the access line has the method and route).
    let started = Instant::now();
    let response = telemetry::in_request(id.clone(), next.run(request)).await;
    let mut response = reshape(shape, &id, response);
    if let Some(v) = header {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    let line = AccessLine {
        note: response.extensions_mut().remove::<AccessNote>(),
        status: response.status().as_u16(),
        head_ms: started.elapsed().as_secs_f64() * 1e3,
        id,
        method,
        route,
        started,
    };
    response.map(|body| line.write_at_end(body))
}
