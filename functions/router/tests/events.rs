//! Every API Gateway fixture in events/byok-router, parsed by lambda_http as on Lambda, through the router,
//! with the mock providers behind it.

mod common;

use axum::http::StatusCode;
use byok_shared::domain::provider::Provider;
use byok_testkit::{Backend, events};
use common::*;
use serde_json::json;

#[tokio::test]
async fn every_fixture_is_served() {
    let all = [
        Provider::OpenAi,
        Provider::Anthropic,
        Provider::Google,
        Provider::Xai,
    ];
    let g = gateway(Backend::Embedded, &all, &all).await;
    g.policy(json!({"name": "fast-chat", "type": "fallback", "steps": [
        {"model": "openai/gpt-4.1-mini", "key_source": "own_then_platform"},
        {"model": "anthropic/claude-sonnet-4-5"}]}))
        .await;
    let expected = [
        ("chat-completions.json", StatusCode::OK),
        ("chat-completions-stream.json", StatusCode::OK),
        ("messages.json", StatusCode::OK),
        ("messages-stream.json", StatusCode::OK),
        ("embeddings.json", StatusCode::OK),
        ("models.json", StatusCode::OK),
        ("verify.json", StatusCode::OK),
    ];
    events::run_fixtures(
        "byok-router",
        &g.app,
        &g.org.admin,
        &expected,
        str::to_owned,
    )
    .await;
    assert_eq!(
        g.openai.requests().len() + g.anthropic.requests().len() + g.google.requests().len(),
        6
    );
}
