//! API Gateway event fixtures, parsed exactly as the Lambda runtime parses them (`lambda_http`), then sent
//! through a function's router: what `sam local invoke -e events/...` would run, without Docker.

use axum::body::Body;
use axum::http::{HeaderValue, Request};

/// The placeholder bearer token in the fixtures; tests swap in a real key.
pub const FIXTURE_KEY: &str =
    "bgk_0000000000000000000000000000000000000000000000000000000000000000";

/// Parse an API Gateway (REST, aws-proxy) event into the request the router sees, with `key` as the bearer.
pub fn request_from_event(event_json: &str, key: &str) -> Request<Body> {
    let request =
        lambda_http::request::from_str(event_json).expect("fixture is a valid API Gateway event");
    let (mut parts, body) = request.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Vec::new(),
        lambda_http::Body::Text(text) => text.into_bytes(),
        lambda_http::Body::Binary(bytes) => bytes,
        other => panic!("unexpected body kind {other:?}"),
    };
    if parts.headers.contains_key("authorization") {
        parts.headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {key}")).expect("header"),
        );
    }
    Request::from_parts(parts, Body::from(bytes))
}

/// Every fixture in `events/<function>/`, as (file name, JSON text), sorted by name.
pub fn fixtures(function: &str) -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(function);
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).expect("read fixture"),
            )
        })
        .collect();
    out.sort();
    out
}

/// One fixture's JSON text with the placeholder bearer replaced by `key`, ready for a real bootstrap.
pub fn fixture_with_key(function: &str, name: &str, key: &str) -> String {
    fixtures(function)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no fixture events/{function}/{name}"))
        .1
        .replace(FIXTURE_KEY, key)
}
