//! `POST /v1/messages/count_tokens` against the mock providers: Anthropic's own endpoint (headers and body
//! forwarded), Gemini's countTokens (translated), a local estimate for OpenAI and xAI, policies counting for
//! their first step, permissions, and the provider's refusal passed on.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use byok_shared::domain::permissions::{Completions, Manage};
use byok_shared::domain::provider::Provider;
use byok_testkit::Backend;
use byok_testkit::http::{assert_anthropic_error, call, send};
use common::*;
use serde_json::{Value, json};

const ALL: [Provider; 4] = [
    Provider::OpenAi,
    Provider::Anthropic,
    Provider::Google,
    Provider::Xai,
];
const PATH: &str = "/v1/messages/count_tokens";

/// "be brief" + "one two three" + one tool: 2 + 3 + 10 (the mocks' `PER_TOOL`) for the mocks' count.
fn request(model: &str) -> Value {
    json!({
        "model": model,
        "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "one two three"}],
        "tools": [{"name": "lookup", "description": "find", "input_schema": {"type": "object", "properties": {}}}],
        "byok": {"tags": ["count"]}
    })
}

#[tokio::test]
async fn anthropic_counts_on_its_own_endpoint_with_the_clients_headers() {
    let g = gateway(Backend::Embedded, &ALL, &[]).await;
    let req = Request::builder()
        .method(Method::POST)
        .uri(PATH)
        .header("x-api-key", &g.org.admin)
        .header("content-type", "application/json")
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "token-counting-2024-11-01")
        .body(Body::from(
            request("anthropic/claude-sonnet-4-5").to_string(),
        ))
        .unwrap();
    let r = send(&g.app, req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, json!({"input_tokens": 15}));
    assert_eq!(r.headers["x-byok-model"], "anthropic/claude-sonnet-4-5");
    assert!(r.headers.get("x-byok-token-count").is_none());
    let seen = g.anthropic.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, PATH);
    assert_eq!(
        key_seen(Provider::Anthropic, &seen[0]),
        own_key(Provider::Anthropic)
    );
    assert_eq!(
        seen[0].header("anthropic-beta"),
        Some("token-counting-2024-11-01")
    );
    assert_eq!(seen[0].body["model"], "claude-sonnet-4-5");
    assert!(
        seen[0].body.get("byok").is_none(),
        "gateway fields stripped"
    );
    assert_eq!(
        seen[0].body["system"][0]["cache_control"]["type"],
        "ephemeral"
    );
}

#[tokio::test]
async fn google_counts_with_count_tokens_on_the_translated_request() {
    let g = gateway(Backend::Embedded, &ALL, &[]).await;
    let r = g.post(PATH, request("google/gemini-2.5-flash")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"input_tokens": 15}),
        "same count as Anthropic's mock: all of it translated"
    );
    let seen = g.google.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v1beta/models/gemini-2.5-flash:countTokens");
    assert_eq!(
        key_seen(Provider::Google, &seen[0]),
        own_key(Provider::Google)
    );
    let inner = &seen[0].body["generateContentRequest"];
    assert_eq!(inner["model"], "models/gemini-2.5-flash");
    assert_eq!(inner["systemInstruction"]["parts"][0]["text"], "be brief");
    assert_eq!(
        inner["tools"][0]["functionDeclarations"][0]["name"],
        "lookup"
    );
}

#[tokio::test]
async fn openai_and_xai_are_a_local_estimate_without_a_provider_call() {
    let g = gateway(Backend::Embedded, &ALL, &[]).await;
    let mut counts = Vec::new();
    for model in ["openai/gpt-4.1-mini", "xai/grok-4"] {
        let mut body = request(model);
        body.as_object_mut().unwrap().remove("tools");
        let r = g.post(PATH, body).await;
        assert_eq!(r.status, StatusCode::OK, "{model}: {}", r.text);
        assert_eq!(r.headers["x-byok-token-count"], "estimate");
        assert_eq!(r.headers["x-byok-model"], model);
        counts.push(r.body["input_tokens"].as_u64().unwrap());
    }
    // o200k_base: "be brief" 2, "one two three" 3; 3 per message (system included), 3 to prime the reply.
    assert_eq!(counts, [2 + 3 + 3 * 2 + 3, 2 + 3 + 3 * 2 + 3]);
    assert!(g.openai.requests().is_empty() && g.xai.requests().is_empty());
}

#[tokio::test]
async fn a_policy_counts_for_its_first_step_only() {
    let g = gateway(Backend::Embedded, &ALL, &[]).await;
    g.policy(json!({"name": "counted", "type": "fallback", "steps": [
        {"model": "google/gemini-2.5-pro", "key_source": "own"},
        {"model": "anthropic/claude-sonnet-4-5", "key_source": "own"}
    ]}))
    .await;
    let r = g.post(PATH, request("policy/counted")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["x-byok-model"], "google/gemini-2.5-pro");
    assert_eq!(g.google.requests().len(), 1);
    assert!(g.anthropic.requests().is_empty());
}

#[tokio::test]
async fn permissions_bad_input_and_provider_refusals() {
    let g = gateway(Backend::Embedded, &ALL, &[]).await;
    let manager = byok_testkit::fixtures::key(
        g.backend.store.as_ref(),
        &g.org.org_id,
        Manage::Write,
        Completions::None,
    )
    .await;
    let body = request("anthropic/claude-sonnet-4-5");
    let r = call(&g.app, Method::POST, PATH, Some(&manager), Some(body)).await;
    assert_anthropic_error(&r, StatusCode::FORBIDDEN);
    let r = g
        .post(PATH, json!({"model": "anthropic/claude-sonnet-4-5"}))
        .await;
    // Anthropic's error shape (this is a /v1/messages* route): the message names the field.
    let error = assert_anthropic_error(&r, StatusCode::BAD_REQUEST);
    assert_eq!(error["type"], "invalid_request_error");
    assert!(
        error["message"].as_str().unwrap().contains("messages"),
        "{}",
        r.text
    );
    let mut streaming = request("anthropic/claude-sonnet-4-5");
    streaming["stream"] = true.into();
    assert_anthropic_error(&g.post(PATH, streaming).await, StatusCode::BAD_REQUEST);
    assert!(g.anthropic.requests().is_empty(), "refused before any call");
    // Anthropic refuses max_tokens on count_tokens: its own 400 reaches the caller, nothing falls over.
    let mut with_max = request("anthropic/claude-sonnet-4-5");
    with_max["max_tokens"] = 10.into();
    let r = g.post(PATH, with_max).await;
    let error = assert_anthropic_error(&r, StatusCode::BAD_REQUEST);
    assert!(
        error["message"].as_str().unwrap().contains("max_tokens"),
        "{}",
        r.text
    );
    // No key for the provider: 503, no call.
    let none = gateway(Backend::Embedded, &[], &[]).await;
    let r = none.post(PATH, request("google/gemini-2.5-flash")).await;
    assert_anthropic_error(&r, StatusCode::SERVICE_UNAVAILABLE);
    assert!(none.google.requests().is_empty());
}
