//! `Error` → HTTP status and error JSON, in the one place that knows both shapes: OpenAI's
//! `{"error":{"message","type","param","code"}}` (OpenAI-format and management endpoints) and Anthropic's
//! `{"type":"error","error":{"type","message"}}` (`/v1/messages*`, see [`ErrorShape::for_path`]).
//!
//! Every error response carries its [`Error`] as a response extension. [`reshape`], which the layers that
//! [`super::finish`] puts on every router call on each response, rewrites the body in the Anthropic shape
//! when the request's path is an Anthropic one. So extractor rejections (auth, JSON body, 413), 404/405
//! fallbacks, spend limits and engine failures all get the endpoint's shape without any handler knowing
//! about it.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::{Error, ErrorKind};

fn status_and_type(kind: ErrorKind) -> (StatusCode, &'static str, &'static str) {
    use ErrorKind::*;
    match kind {
        InvalidRequest => (
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "invalid_request",
        ),
        Unauthenticated => (
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid_api_key",
        ),
        ModelNotPriced => (
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "model_not_priced",
        ),
        Forbidden => (
            StatusCode::FORBIDDEN,
            "permission_error",
            "insufficient_permissions",
        ),
        NotFound => (StatusCode::NOT_FOUND, "not_found_error", "not_found"),
        Conflict => (StatusCode::CONFLICT, "conflict_error", "conflict"),
        SpendLimit => (
            StatusCode::PRECONDITION_FAILED,
            "spend_limit_error",
            "monthly_limit_reached",
        ),
        PayloadTooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "payload_too_large",
        ),
        Unprocessable => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request_error",
            "unprocessable",
        ),
        RateLimited => (
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "rate_limited",
        ),
        Upstream => (StatusCode::BAD_GATEWAY, "upstream_error", "upstream_failed"),
        Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "unavailable",
        ),
        Timeout => (StatusCode::GATEWAY_TIMEOUT, "timeout_error", "timeout"),
        Internal => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            "internal_error",
        ),
    }
}

/// Which error body an endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorShape {
    OpenAi,
    Anthropic,
}

impl ErrorShape {
    /// Anthropic's shape on `/v1/messages` and everything under it (`/v1/messages/count_tokens`); OpenAI's
    /// everywhere else.
    pub fn for_path(path: &str) -> Self {
        match path.strip_prefix("/v1/messages") {
            Some("") => ErrorShape::Anthropic,
            Some(rest) if rest.starts_with('/') => ErrorShape::Anthropic,
            _ => ErrorShape::OpenAi,
        }
    }

    /// The JSON body and status of an error in this shape.
    pub fn body(self, error: &Error) -> (StatusCode, Value) {
        match self {
            ErrorShape::OpenAi => error_body(error),
            ErrorShape::Anthropic => anthropic_error_body(error),
        }
    }
}

/// Anthropic's error type for each kind (the names its API and SDKs use).
fn anthropic_type(kind: ErrorKind) -> &'static str {
    use ErrorKind::*;
    match kind {
        InvalidRequest | ModelNotPriced | Conflict | Unprocessable => "invalid_request_error",
        Unauthenticated => "authentication_error",
        Forbidden => "permission_error",
        NotFound => "not_found_error",
        SpendLimit => "billing_error",
        PayloadTooLarge => "request_too_large",
        RateLimited => "rate_limit_error",
        Upstream | Internal => "api_error",
        Unavailable => "overloaded_error",
        Timeout => "timeout_error",
    }
}

/// The status and Anthropic-shaped body of an error: `{"type":"error","error":{"type","message"}}`.
pub fn anthropic_error_body(error: &Error) -> (StatusCode, Value) {
    let (status, _, _) = status_and_type(error.kind);
    let body = json!({
        "type": "error",
        "error": { "type": anthropic_type(error.kind), "message": error.message },
    });
    (status, body)
}

/// The JSON body and status of an error, for handlers that write bodies themselves (e.g. SSE).
pub fn error_body(error: &Error) -> (StatusCode, Value) {
    let (status, kind, code) = status_and_type(error.kind);
    let body = json!({
        "error": { "message": error.message, "type": kind, "param": error.param, "code": code }
    });
    (status, body)
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, body) = error_body(&self);
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), message = %self.message, "request failed");
        }
        let mut response = (status, Json(body)).into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// Rewrites an error response in the shape of the request's endpoint (see the module notes); the common
/// layers call it on every response. Responses without an [`Error`] extension (successes, streams) pass
/// untouched; status and headers are kept.
pub fn reshape(shape: ErrorShape, request_id: &str, mut response: Response) -> Response {
    if shape == ErrorShape::OpenAi {
        return response;
    }
    let Some(error) = response.extensions_mut().remove::<Error>() else {
        return response;
    };
    let (_, mut body) = shape.body(&error);
    body["request_id"] = request_id.into();
    let status = response.status();
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts.headers.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let mut rebuilt = Response::from_parts(parts, axum::body::Body::from(body.to_string()));
    *rebuilt.status_mut() = status;
    rebuilt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_the_path() {
        assert_eq!(ErrorShape::for_path("/v1/messages"), ErrorShape::Anthropic);
        assert_eq!(
            ErrorShape::for_path("/v1/messages/count_tokens"),
            ErrorShape::Anthropic
        );
        assert_eq!(ErrorShape::for_path("/v1/messagesx"), ErrorShape::OpenAi);
        assert_eq!(
            ErrorShape::for_path("/v1/chat/completions"),
            ErrorShape::OpenAi
        );
    }

    #[test]
    fn every_kind_has_an_anthropic_type_and_keeps_its_status() {
        use ErrorKind::*;
        let documented = [
            "invalid_request_error",
            "authentication_error",
            "billing_error",
            "permission_error",
            "not_found_error",
            "request_too_large",
            "rate_limit_error",
            "api_error",
            "timeout_error",
            "overloaded_error",
        ];
        for kind in [
            InvalidRequest,
            Unauthenticated,
            Forbidden,
            NotFound,
            Conflict,
            SpendLimit,
            PayloadTooLarge,
            Unprocessable,
            RateLimited,
            Upstream,
            Unavailable,
            Timeout,
            Internal,
        ] {
            let e = Error::new(kind, "m");
            let (status, body) = anthropic_error_body(&e);
            assert_eq!(status, error_body(&e).0);
            assert_eq!(body["type"], "error");
            assert!(documented.contains(&body["error"]["type"].as_str().unwrap()));
            assert_eq!(body["error"]["message"], "m");
        }
    }
}
