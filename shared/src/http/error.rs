//! `Error` → HTTP status and the OpenAI error shape `{"error":{"message","type","param","code"}}`.

use axum::Json;
use axum::http::StatusCode;
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
        (status, Json(body)).into_response()
    }
}
