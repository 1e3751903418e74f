//! Property test: whatever bytes arrive as a request body, with whatever content type, on any route that
//! reads one, the merged server answers below 500, and every error is the one error shape. Driven through
//! the router in-process (tower `oneshot`) as an authenticated admin of an org with no provider keys, so
//! no provider is ever called (an inference request that parses ends in 422: no key available).
//! Cases: `PROPTEST_CASES` (default 128). Longer: `PROPTEST_CASES=20000 cargo test -p byok-cli --test body_props`.

use axum::body::Body;
use axum::http::{Method, Request};
use byok_testkit::backends::{Backend, TestBackend};
use byok_testkit::fixtures;
use http_body_util::BodyExt;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;
use tower::ServiceExt;

const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/chat/completions"),
    ("POST", "/v1/messages"),
    ("POST", "/v1/embeddings"),
    ("POST", "/v1/byok"),
    ("POST", "/v1/byok?verify=true"),
    ("PUT", "/v1/byok/openai"),
    ("POST", "/v1/policies"),
    ("PUT", "/v1/policies/main"),
    ("POST", "/v1/policies/main/explain"),
    ("POST", "/v1/manage/apikey"),
    (
        "POST",
        "/v1/manage/apikey/key_01JAAAAAAAAAAAAAAAAAAAAAAA/limit",
    ),
];

fn json_text() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        any::<i64>().prop_map(|i| i.to_string()),
        Just("1e999".to_owned()),
        Just("-0.0".to_owned()),
        prop::sample::select(vec![
            "\"openai/gpt-4.1-mini\"",
            "\"policy/main\"",
            "\"openai\"",
            "\"fallback\"",
            "\"\\ud800\"",
            "\"\"",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,16}".prop_map(|s| serde_json::to_string(&s).unwrap()),
    ];
    let key = prop::sample::select(vec![
        "model",
        "messages",
        "stream",
        "byok",
        "provider",
        "api_key",
        "label",
        "name",
        "type",
        "steps",
        "targets",
        "version",
        "permissions",
        "monthly_limit",
        "allowed_models",
        "expires_at",
        "input",
        "user_id",
        "trace_id",
        "manage",
        "completions",
    ]);
    leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5)
                .prop_map(|v| format!("[{}]", v.join(","))),
            proptest::collection::vec((key.clone(), inner), 0..6).prop_map(|kv| {
                let fields: Vec<String> = kv
                    .into_iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
    .prop_map(String::into_bytes)
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => json_text(),
        // Valid JSON, then damaged: truncated, or a byte flipped.
        2 => (json_text(), any::<prop::sample::Index>(), any::<u8>(), any::<bool>()).prop_map(|(mut b, i, x, cut)| {
            if !b.is_empty() {
                let at = i.index(b.len());
                if cut { b.truncate(at) } else { b[at] = x }
            }
            b
        }),
        1 => proptest::collection::vec(any::<u8>(), 0..512),
    ]
}

#[test]
fn no_body_is_a_server_error() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (backend, org) = rt.block_on(async {
        let backend = TestBackend::new(Backend::Embedded).await;
        let org = fixtures::org(backend.store.as_ref(), "Props").await;
        (backend, org)
    });
    let app = byok_cli::server::app(backend.state(|c| {
        // Nothing leaves the machine, even if a request got as far as a provider.
        for url in [
            &mut c.providers.openai,
            &mut c.providers.anthropic,
            &mut c.providers.google,
            &mut c.providers.xai,
        ] {
            *url = "http://127.0.0.1:9".into();
        }
    }));
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let content_type = prop::sample::select(vec![
        Some("application/json"),
        Some("application/json; charset=utf-8"),
        Some("text/plain"),
        None,
    ]);
    let strategy = (0..ROUTES.len(), content_type, body());
    runner
        .run(&strategy, |(route, content_type, body)| {
            let (method, uri) = ROUTES[route];
            let mut request = Request::builder()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri(uri)
                .header("authorization", format!("Bearer {}", org.admin));
            if let Some(ct) = content_type {
                request = request.header("content-type", ct);
            }
            let request = request.body(Body::from(body.clone())).unwrap();
            let (status, bytes) = rt.block_on(async {
                let response = app.clone().oneshot(request).await.unwrap();
                let status = response.status();
                (
                    status,
                    response.into_body().collect().await.unwrap().to_bytes(),
                )
            });
            let text = String::from_utf8_lossy(&bytes);
            prop_assert!(
                status.as_u16() < 500,
                "{} {} {:?} -> {}: {}",
                method,
                uri,
                String::from_utf8_lossy(&body),
                status,
                text
            );
            if status.as_u16() >= 400 {
                let error: Value = serde_json::from_slice(&bytes)
                    .map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
                prop_assert!(
                    error["error"]["message"].is_string() && error["error"]["type"].is_string(),
                    "{}",
                    text
                );
            }
            Ok(())
        })
        .unwrap();
}
