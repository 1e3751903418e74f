//! The OpenAPI document covers exactly the routes the local server serves: every `.route(...)` in the
//! function crates and the server is documented with the same methods (so adding a route without
//! documenting it fails here), every documented operation reaches a handler of the merged router (not the
//! JSON 404/405 fallbacks), and every error response carries the error body of its endpoint's shape.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use byok_testkit::backends::{Backend, TestBackend};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The source of every router the local server merges.
const ROUTER_SOURCES: [(&str, &str); 6] = [
    ("keys", include_str!("../../functions/keys/src/lib.rs")),
    ("manage", include_str!("../../functions/manage/src/lib.rs")),
    (
        "policies",
        include_str!("../../functions/policies/src/lib.rs"),
    ),
    ("router", include_str!("../../functions/router/src/lib.rs")),
    (
        "console",
        include_str!("../../functions/console/src/lib.rs"),
    ),
    ("server", include_str!("../src/server.rs")),
];

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// `(METHOD, path)` of every `.route("path", get(..).post(..))` in `source`, with axum's `{*rest}`
/// written as OpenAPI's `{rest}`. A path given as a constant (`crate::openapi::PATH`) is resolved by name.
fn routes_in(source: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (at, _) in source.match_indices(".route(") {
        let rest = &source[at + ".route(".len()..];
        // The call's extent: up to the matching close parenthesis.
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                depth == 0
            })
            .map(|(i, _)| i)
            .expect("balanced .route(...) call");
        let call = &rest[..end];
        let (first, handlers) = call.split_once(',').expect(".route(path, handlers)");
        let first = first.trim();
        let path = if let Some(lit) = first.strip_prefix('"') {
            lit.trim_end_matches('"').to_owned()
        } else if first.ends_with("openapi::PATH") {
            byok_cli::openapi::PATH.to_owned()
        } else {
            panic!("route path {first:?}: teach routes_in to resolve it");
        };
        let path = path.replace("{*", "{");
        let bytes = handlers.as_bytes();
        for method in METHODS {
            for (i, _) in handlers.match_indices(&format!("{method}(")) {
                let before = if i == 0 { b' ' } else { bytes[i - 1] };
                if !(before.is_ascii_alphanumeric() || before == b'_') {
                    out.push((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
    }
    out
}

fn served_routes() -> BTreeSet<(String, String)> {
    let mut all = BTreeSet::new();
    for (name, source) in ROUTER_SOURCES {
        let found = routes_in(source);
        assert!(!found.is_empty(), "{name}: no routes found");
        all.extend(found);
    }
    all
}

fn document() -> Value {
    serde_json::from_str(byok_cli::openapi::json()).expect("the document is JSON")
}

fn documented_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let mut all = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                all.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    all
}

#[test]
fn the_route_scan_sees_every_router() {
    // Guard the scanner itself: a few routes it must find, with every method.
    let served = served_routes();
    for (m, p) in [
        ("GET", "/v1/byok/{provider}"),
        ("PUT", "/v1/byok/{provider}"),
        ("DELETE", "/v1/byok/{provider}"),
        ("POST", "/v1/byok/{provider}/verify"),
        ("POST", "/v1/chat/completions"),
        ("GET", "/console/{path}"),
        ("GET", "/openapi.json"),
    ] {
        assert!(
            served.contains(&(m.into(), p.into())),
            "{m} {p} not found by the scan"
        );
    }
    assert!(served.len() >= 29, "only {} routes found", served.len());
}

#[test]
fn every_served_route_is_documented_and_nothing_else() {
    let served = served_routes();
    let documented = documented_routes(&document());
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let phantom: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in the OpenAPI document (add #[utoipa::path] and list it in the crate's openapi.rs): {undocumented:?}"
    );
    assert!(phantom.is_empty(), "documented but not served: {phantom:?}");
}

#[test]
fn every_operation_is_finished() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            assert!(!id.is_empty(), "{method} {path}: operationId");
            assert!(ids.insert(id.clone()), "duplicate operationId {id}");
            let public = op["tags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "console" || t == "meta");
            let security = op["security"].as_array().expect("security is explicit");
            assert_eq!(security.is_empty(), public, "{method} {path}: security");
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses
                    .keys()
                    .any(|s| s.starts_with('2') || s.starts_with('3')),
                "{method} {path}: a success response"
            );
            if !public {
                for status in ["400", "401", "403"] {
                    assert!(responses.contains_key(status), "{method} {path}: {status}");
                }
            }
            // Anthropic's error shape on /v1/messages*, OpenAI's everywhere else.
            let body = match byok_shared::http::ErrorShape::for_path(path) {
                byok_shared::http::ErrorShape::OpenAi => "#/components/schemas/ErrorBody",
                byok_shared::http::ErrorShape::Anthropic => {
                    "#/components/schemas/AnthropicErrorBody"
                }
            };
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"], body,
                        "{method} {path} {status}: the error body"
                    );
                }
            }
        }
    }
}

/// Every documented operation reaches a handler: unauthenticated, an API route answers 401 (the `Auth`
/// extractor ran), a public one answers neither the fallback 404 "no such route" nor 405.
#[tokio::test]
async fn every_documented_operation_reaches_a_handler() {
    let backend = TestBackend::new(Backend::Embedded).await;
    let app = byok_cli::server::app(backend.state(|_| {}));
    let doc = document();
    for (method, path) in documented_routes(&doc) {
        let op = &doc["paths"][&path][method.to_ascii_lowercase()];
        let public = op["security"].as_array().is_some_and(Vec::is_empty);
        let uri = path
            .replace("{provider}", "openai")
            .replace("{name}", "main")
            .replace("{id}", "key_01")
            .replace("{path}", "app.js");
        let request = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(&uri)
            .header("content-type", "application/json")
            .body(Body::from(if method == "GET" || method == "DELETE" {
                ""
            } else {
                "{}"
            }))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&body);
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        assert!(!text.contains("no such route"), "{method} {uri}: {text}");
        if public {
            assert!(
                status.is_success() || status.is_redirection(),
                "{method} {uri}: {status}"
            );
        } else {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}: {text}");
        }
    }
}

#[tokio::test]
async fn the_server_serves_the_document() {
    let backend = TestBackend::new(Backend::Embedded).await;
    let app = byok_cli::server::app(backend.state(|_| {}));
    let response = app
        .oneshot(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let served: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(served, document());
}
