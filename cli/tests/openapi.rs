//! The OpenAPI document covers exactly the routes the local server serves. Both come from one value: the
//! merged `OpenApiRouter` of `byok_cli::server::routes`, split into the axum router and the document. The
//! paths axum registered are compared with the document's (so a route added without `routes!(handler)`
//! fails here), every registered path is probed with every method to compare the methods too, every
//! documented operation reaches a handler (not the JSON 404/405 fallbacks), and every error response
//! carries the error body of its endpoint's shape.

use std::collections::BTreeSet;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use byok_shared::http::openapi::openapi_path;
use byok_testkit::backends::{Backend, TestBackend};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use utoipa::openapi::OpenApi;

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// The paths axum registered in `router`, written the OpenAPI way. axum keeps them private; its `Debug`
/// output lists them (`Router { path_router: PathRouter { .., node: Node { paths: {RouteId(0): "/v1/byok",
/// ...} } }, fallback_router: .. }`; the fallback router's own paths are left out), and the guard test
/// below fails if that ever stops finding exactly them.
fn registered_paths<S>(router: &Router<S>) -> BTreeSet<String> {
    let debug = format!("{router:?}");
    let routes = debug
        .split_once("path_router:")
        .and_then(|(_, rest)| rest.split_once("fallback_router:"))
        .map(|(routes, _)| routes)
        .expect("axum's Router Debug lists path_router before fallback_router");
    routes
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with('/'))
        .map(openapi_path)
        .collect()
}

fn documented_paths(doc: &OpenApi) -> BTreeSet<String> {
    doc.paths.paths.keys().cloned().collect()
}

fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
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

fn as_json(doc: &OpenApi) -> Value {
    serde_json::to_value(doc).expect("the document is JSON")
}

/// A concrete URI for a path template.
fn uri(path: &str) -> String {
    path.replace("{provider}", "openai")
        .replace("{name}", "main")
        .replace("{id}", "key_01")
        .replace("{path}", "app.js")
}

async fn call(app: &Router, method: &str, uri: &str) -> (StatusCode, String) {
    let request = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(uri)
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
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[test]
fn the_path_scan_sees_what_axum_registered_and_what_it_did_not_document() {
    // Guard the scan itself: a router with one documented route and one added without docs.
    #[utoipa::path(get, path = "/documented/{id}", responses((status = 200)))]
    async fn documented() {}
    let (router, doc) = utoipa_axum::router::OpenApiRouter::<()>::new()
        .routes(utoipa_axum::routes!(documented))
        .route("/hidden/{*rest}", axum::routing::get(|| async {}))
        .split_for_parts();
    assert_eq!(
        registered_paths(&router),
        BTreeSet::from(["/documented/{id}".to_owned(), "/hidden/{rest}".to_owned()])
    );
    assert_eq!(
        documented_paths(&doc),
        BTreeSet::from(["/documented/{id}".to_owned()])
    );
}

#[tokio::test]
async fn every_served_path_is_documented_and_nothing_else() {
    let backend = TestBackend::new(Backend::Embedded).await;
    let (router, doc) = byok_cli::server::routes(&backend.state(|_| {}));
    let registered = registered_paths(&router);
    for path in [
        "/v1/byok/{provider}",
        "/v1/byok/{provider}/verify",
        "/v1/chat/completions",
        "/console/{path}",
        "/openapi.json",
    ] {
        assert!(registered.contains(path), "{path} not found by the scan");
    }
    let documented = documented_paths(&doc);
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let phantom: Vec<_> = documented.difference(&registered).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in the OpenAPI document (register it with `routes!(handler)` and a #[utoipa::path]): {undocumented:?}"
    );
    assert!(phantom.is_empty(), "documented but not served: {phantom:?}");
}

/// Every registered path, probed with every method: the methods served (anything but 405) are the
/// documented ones; unauthenticated, an API operation answers 401 (the `Auth` extractor ran), a public one
/// success or a redirect, and none the fallback 404 "no such route".
#[tokio::test]
async fn every_served_method_is_documented_and_reaches_a_handler() {
    let backend = TestBackend::new(Backend::Embedded).await;
    let state = backend.state(|_| {});
    let (router, doc) = byok_cli::server::routes(&state);
    let registered = registered_paths(&router);
    let doc = as_json(&doc);
    let app = byok_shared::http::finish(router, state);
    let mut served = BTreeSet::new();
    for path in &registered {
        let uri = uri(path);
        for method in METHODS {
            let method = method.to_ascii_uppercase();
            let (status, text) = call(&app, &method, &uri).await;
            assert!(!text.contains("no such route"), "{method} {uri}: {text}");
            if status == StatusCode::METHOD_NOT_ALLOWED {
                continue;
            }
            let op = &doc["paths"][path][method.to_ascii_lowercase()];
            let public = op["security"].as_array().is_some_and(Vec::is_empty);
            if public {
                assert!(
                    status.is_success() || status.is_redirection(),
                    "{method} {uri}: {status}"
                );
            } else {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}: {text}");
            }
            served.insert((method, path.clone()));
        }
    }
    assert_eq!(served, documented_operations(&doc));
}

#[tokio::test]
async fn every_operation_is_finished() {
    let backend = TestBackend::new(Backend::Embedded).await;
    let (_, doc) = byok_cli::server::routes(&backend.state(|_| {}));
    let doc = as_json(&doc);
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "BYOK LLM gateway");
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
    // Every schema an operation refers to is defined.
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for reference in text.split("\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "undefined schema {name}");
    }
}

#[tokio::test]
async fn the_server_serves_the_document() {
    let backend = TestBackend::new(Backend::Embedded).await;
    let state = backend.state(|_| {});
    let (_, doc) = byok_cli::server::routes(&state);
    let app = byok_cli::server::app(state);
    let response = app
        .oneshot(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let served: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(served, as_json(&doc));
}
