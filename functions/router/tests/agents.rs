//! What agent clients depend on, through the whole router: Anthropic-shaped errors on `/v1/messages` for
//! every error the gateway produces (OpenAI's shape kept on the OpenAI endpoints), bare model names, and
//! Claude Code's own request reaching other providers through the strict mocks.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use byok_shared::domain::provider::Provider;
use byok_testkit::Backend;
use byok_testkit::http::{Response, assert_error, call, send};
use common::{gateway, gateway_with, sse_data};
use serde_json::{Value, json};

const ALL: [Provider; 4] = [
    Provider::OpenAi,
    Provider::Anthropic,
    Provider::Google,
    Provider::Xai,
];

/// Anthropic's error shape, with the type name expected.
fn assert_anthropic_error(r: &Response, status: StatusCode, kind: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.body["type"], "error", "{}", r.text);
    assert_eq!(r.body["error"]["type"], kind, "{}", r.text);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert!(
        r.body.get("param").is_none() && r.body["error"].get("code").is_none(),
        "{}",
        r.text
    );
    assert_eq!(
        r.body["request_id"].as_str(),
        r.headers.get("x-request-id").and_then(|v| v.to_str().ok()),
        "request_id matches the header"
    );
    assert_eq!(r.headers["content-type"], "application/json");
}

fn raw(path: &str, headers: &[(&str, String)], body: impl Into<Body>) -> Request<Body> {
    let mut b = Request::builder().method(Method::POST).uri(path);
    for (k, v) in headers {
        b = b.header(*k, v);
    }
    b.body(body.into()).unwrap()
}

fn hello(model: &str) -> Value {
    json!({"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]})
}

#[tokio::test]
async fn every_gateway_error_on_messages_is_anthropic_shaped() {
    let g = gateway_with(Backend::Embedded, &ALL, &[], |c| {
        c.max_body_bytes = 64 * 1024
    })
    .await;
    let json_ct = ("content-type", "application/json".to_owned());
    let x_api_key = ("x-api-key", g.org.admin.clone());
    // Auth: no key, a malformed key, an unknown key (x-api-key as Anthropic clients send it).
    let none = call(
        &g.app,
        Method::POST,
        "/v1/messages",
        None,
        Some(hello("claude-haiku-4-5")),
    )
    .await;
    assert_anthropic_error(&none, StatusCode::UNAUTHORIZED, "authentication_error");
    let bad_key = send(
        &g.app,
        raw(
            "/v1/messages",
            &[json_ct.clone(), ("x-api-key", "sk-ant-nope".into())],
            hello("claude-haiku-4-5").to_string(),
        ),
    )
    .await;
    assert_anthropic_error(&bad_key, StatusCode::UNAUTHORIZED, "authentication_error");
    // Body: not JSON, not an object, too large.
    let not_json = send(
        &g.app,
        raw(
            "/v1/messages",
            &[json_ct.clone(), x_api_key.clone()],
            "{nope",
        ),
    )
    .await;
    assert_anthropic_error(&not_json, StatusCode::BAD_REQUEST, "invalid_request_error");
    let no_model = send(
        &g.app,
        raw("/v1/messages", &[json_ct.clone(), x_api_key.clone()], "{}"),
    )
    .await;
    assert_anthropic_error(&no_model, StatusCode::BAD_REQUEST, "invalid_request_error");
    let huge = json!({"model": "claude-haiku-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "x".repeat(100 * 1024)}]});
    let too_large = send(
        &g.app,
        raw(
            "/v1/messages",
            &[json_ct.clone(), x_api_key.clone()],
            huge.to_string(),
        ),
    )
    .await;
    assert_anthropic_error(
        &too_large,
        StatusCode::PAYLOAD_TOO_LARGE,
        "request_too_large",
    );
    // Routing: an unknown bare model, an unknown policy.
    let unknown = send(
        &g.app,
        raw(
            "/v1/messages",
            &[json_ct.clone(), x_api_key.clone()],
            hello("llama-3.1-70b").to_string(),
        ),
    )
    .await;
    assert_anthropic_error(&unknown, StatusCode::NOT_FOUND, "not_found_error");
    assert!(
        unknown.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("llama-3.1-70b")
    );
    let policy = g.post("/v1/messages", hello("policy/nope")).await;
    assert_anthropic_error(&policy, StatusCode::NOT_FOUND, "not_found_error");
    // The provider refuses the request: the gateway's error, in Anthropic's shape, attempts listed.
    let refused = g
        .post(
            "/v1/messages",
            hello("anthropic/claude-haiku-4-5-status-400"),
        )
        .await;
    assert_anthropic_error(&refused, StatusCode::BAD_REQUEST, "invalid_request_error");
    assert!(refused.headers.contains_key("x-byok-attempts"));
    // A route under /v1/messages that does not exist, and a wrong method.
    let nowhere = g.post("/v1/messages/nope", hello("claude-haiku-4-5")).await;
    assert_anthropic_error(&nowhere, StatusCode::NOT_FOUND, "not_found_error");
    let get = call(
        &g.app,
        Method::GET,
        "/v1/messages",
        Some(&g.org.admin),
        None,
    )
    .await;
    assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(get.body["type"], "error", "{}", get.text);
    // The OpenAI endpoints keep OpenAI's shape for the same errors.
    let openai_none = call(
        &g.app,
        Method::POST,
        "/v1/chat/completions",
        None,
        Some(hello("gpt-4.1")),
    )
    .await;
    assert_eq!(
        assert_error(&openai_none, StatusCode::UNAUTHORIZED)["type"],
        "authentication_error"
    );
    let openai_unknown = g.post("/v1/chat/completions", hello("llama-3.1-70b")).await;
    assert_eq!(
        assert_error(&openai_unknown, StatusCode::NOT_FOUND)["param"],
        "model"
    );
    assert!(openai_unknown.body.get("type").is_none());
}

#[tokio::test]
async fn a_key_without_the_completions_permission_gets_a_permission_error() {
    let g = gateway(Backend::Embedded, &ALL, &[]).await;
    let store = g.backend.store.as_ref();
    let read_only = byok_testkit::fixtures::key(
        store,
        &g.org.org_id,
        byok_shared::domain::permissions::Manage::Read,
        byok_shared::domain::permissions::Completions::None,
    )
    .await;
    let r = call(
        &g.app,
        Method::POST,
        "/v1/messages",
        Some(&read_only),
        Some(hello("claude-haiku-4-5")),
    )
    .await;
    assert_anthropic_error(&r, StatusCode::FORBIDDEN, "permission_error");
    assert!(g.anthropic.requests().is_empty());
}

#[tokio::test]
async fn bare_model_names_reach_their_provider() {
    let g = gateway(Backend::Embedded, &ALL, &[]).await;
    for (bare, provider, path) in [
        (
            "claude-sonnet-4-5-20250929",
            Provider::Anthropic,
            "/v1/messages",
        ),
        ("gpt-4.1", Provider::OpenAi, "/v1/chat/completions"),
        ("o3", Provider::OpenAi, "/v1/messages"),
        ("gemini-2.5-pro", Provider::Google, "/v1/chat/completions"),
        ("grok-4", Provider::Xai, "/v1/messages"),
    ] {
        let before = g.mock(provider).requests().len();
        let r = g.post(path, hello(bare)).await;
        assert_eq!(r.status, StatusCode::OK, "{bare}: {}", r.text);
        assert_eq!(r.body["model"], format!("{provider}/{bare}"), "{bare}");
        assert_eq!(
            r.headers["x-byok-model"],
            format!("{provider}/{bare}").as_str()
        );
        let seen = g.mock(provider).requests();
        assert_eq!(seen.len(), before + 1, "{bare}");
        let last = seen.last().unwrap();
        let upstream = last.body["model"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| {
                last.path
                    .split("/models/")
                    .nth(1)
                    .unwrap()
                    .split(':')
                    .next()
                    .unwrap()
                    .to_owned()
            });
        assert_eq!(upstream, bare);
    }
}

#[tokio::test]
async fn claude_codes_request_streams_from_openai_through_the_gateway() {
    let g = gateway(Backend::Embedded, &ALL, &[]).await;
    let mut body: Value = serde_json::from_str(include_str!(
        "../../../shared/tests/fixtures/claude_code_request.json"
    ))
    .unwrap();
    body["model"] = "gpt-4.1".into();
    let r = send(
        &g.app,
        raw(
            "/v1/messages?beta=true",
            &[
                ("content-type", "application/json".into()),
                ("x-api-key", g.org.admin.clone()),
                ("anthropic-version", "2023-06-01".into()),
                (
                    "anthropic-beta",
                    "context-management-2025-06-27,effort-2025-11-24".into(),
                ),
            ],
            body.to_string(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let events: Vec<Value> = sse_data(&r.text)
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let text: String = events
        .iter()
        .filter_map(|e| e.pointer("/delta/text").and_then(Value::as_str))
        .collect();
    assert_eq!(text, "Hello from mock openai.");
    assert!(
        events[5]["usage"]["cost"].is_number(),
        "the usage event carries the cost"
    );
    let seen = g.openai.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].body["model"], "gpt-4.1");
    assert!(
        seen[0].header("anthropic-beta").is_none(),
        "Anthropic headers stay with Anthropic"
    );
}
