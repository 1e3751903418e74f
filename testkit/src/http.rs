//! Driving a router in-process: build a request, get status and JSON back.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub struct Response {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
}

/// Send one request with an optional bearer key and JSON body.
pub async fn call(
    app: &Router,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> Response {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(key) = key {
        builder = builder.header("authorization", format!("Bearer {key}"));
    }
    let request = match body {
        Some(json) => builder
            .header("content-type", "application/json")
            .body(Body::from(json.to_string())),
        None => builder.body(Body::empty()),
    }
    .expect("request");
    send(app, request).await
}

pub async fn send(app: &Router, request: Request<Body>) -> Response {
    let response = app
        .clone()
        .oneshot(request)
        .await
        .expect("router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Response {
        status,
        headers,
        body,
        text,
    }
}

/// Assert the OpenAI error shape and return the error object.
pub fn assert_error(response: &Response, status: StatusCode) -> &Value {
    assert_eq!(response.status, status, "body: {}", response.text);
    let error = &response.body["error"];
    assert!(
        error["message"].is_string(),
        "error.message missing: {}",
        response.text
    );
    assert!(
        error["type"].is_string(),
        "error.type missing: {}",
        response.text
    );
    assert!(
        error["code"].is_string(),
        "error.code missing: {}",
        response.text
    );
    error
}

/// Assert Anthropic's error shape (`/v1/messages*`): `{"type":"error","error":{"type","message"}}`; returns
/// the error object.
pub fn assert_anthropic_error(response: &Response, status: StatusCode) -> &Value {
    assert_eq!(response.status, status, "body: {}", response.text);
    assert_eq!(response.body["type"], "error", "body: {}", response.text);
    let error = &response.body["error"];
    assert!(
        error["message"].is_string() && error["type"].is_string(),
        "error.message and error.type: {}",
        response.text
    );
    error
}

/// Assert the error shape of `path`'s endpoint (Anthropic's on `/v1/messages*`, OpenAI's elsewhere).
pub fn assert_error_at<'r>(path: &str, response: &'r Response, status: StatusCode) -> &'r Value {
    if path == "/v1/messages" || path.starts_with("/v1/messages/") {
        assert_anthropic_error(response, status)
    } else {
        assert_error(response, status)
    }
}
