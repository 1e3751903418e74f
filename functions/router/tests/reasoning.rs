//! `reasoning_effort`: every value Requesty documents (`none`/`min`, `low`, `medium`, `high`, `max`, budget
//! strings) plus OpenAI's own (`minimal`, `xhigh`) is accepted and reaches each provider as the field that
//! provider takes; anything else is a 400 before any provider call. Asserted on the wire.

mod common;

use axum::http::StatusCode;
use byok_shared::domain::provider::Provider;
use byok_testkit::Backend;
use byok_testkit::http::assert_error;
use common::*;
use serde_json::{Value, json};

byok_testkit::on_both_backends!(
    each_effort_reaches_each_provider_as_its_own_field,
    other_values_are_refused_before_any_provider_call
);

/// What the provider must receive: the field's pointer in the upstream body and its value (`None`: absent).
struct Case {
    model: &'static str,
    effort: &'static str,
    pointer: &'static str,
    wire: Option<Value>,
}

const fn case(
    model: &'static str,
    effort: &'static str,
    pointer: &'static str,
    wire: Option<Value>,
) -> Case {
    Case {
        model,
        effort,
        pointer,
        wire,
    }
}

fn cases() -> Vec<Case> {
    const OAI: &str = "/reasoning_effort";
    const THINK: &str = "/thinking/budget_tokens";
    const GEM: &str = "/generationConfig/thinkingConfig/thinkingBudget";
    let s = |v: &str| Some(json!(v));
    let n = |v: u64| Some(json!(v));
    vec![
        // OpenAI reasoning models: Requesty's mapping (none/min → low, max → high, budget → effort).
        case("openai/o3", "none", OAI, s("low")),
        case("openai/o3", "min", OAI, s("low")),
        case("openai/o3", "minimal", OAI, s("low")),
        case("openai/o3", "low", OAI, s("low")),
        case("openai/o3", "medium", OAI, s("medium")),
        case("openai/o3", "high", OAI, s("high")),
        case("openai/o3", "xhigh", OAI, s("high")),
        case("openai/o3", "max", OAI, s("high")),
        case("openai/o3", "1000", OAI, s("low")),
        case("openai/o3", "5000", OAI, s("medium")),
        case("openai/o3", "10000", OAI, s("high")),
        case("openai/gpt-5", "minimal", OAI, s("minimal")),
        case("openai/gpt-5.1", "none", OAI, s("none")),
        // A model without reasoning: the field is dropped (OpenAI would refuse it).
        case("openai/gpt-4.1", "max", OAI, None),
        // Anthropic: a thinking budget; none/min turn thinking off.
        case("anthropic/claude-sonnet-4-5", "none", THINK, None),
        case("anthropic/claude-sonnet-4-5", "min", THINK, None),
        case("anthropic/claude-sonnet-4-5", "minimal", THINK, n(1024)),
        case("anthropic/claude-sonnet-4-5", "low", THINK, n(2048)),
        case("anthropic/claude-sonnet-4-5", "medium", THINK, n(8192)),
        case("anthropic/claude-sonnet-4-5", "high", THINK, n(24576)),
        case("anthropic/claude-sonnet-4-5", "max", THINK, n(30720)),
        case("anthropic/claude-sonnet-4-5", "5000", THINK, n(5000)),
        case("anthropic/claude-sonnet-4-5", "100", THINK, n(1024)),
        // Gemini: thinkingBudget within the model's range (Flash may not think; Pro always does).
        case("google/gemini-2.5-flash", "none", GEM, n(0)),
        case("google/gemini-2.5-flash", "low", GEM, n(2048)),
        case("google/gemini-2.5-flash", "high", GEM, n(24576)),
        case("google/gemini-2.5-flash", "max", GEM, n(24576)),
        case("google/gemini-2.5-flash", "50000", GEM, n(24576)),
        case("google/gemini-2.5-pro", "none", GEM, n(128)),
        case("google/gemini-2.5-pro", "max", GEM, n(32768)),
        // xAI: grok-3-mini takes low|high; grok-4 reasons always and takes no effort.
        case("xai/grok-3-mini", "none", OAI, s("low")),
        case("xai/grok-3-mini", "medium", OAI, s("high")),
        case("xai/grok-3-mini", "max", OAI, s("high")),
        case("xai/grok-4", "high", OAI, None),
    ]
}

fn provider_of(model: &str) -> Provider {
    match model.split('/').next() {
        Some("openai") => Provider::OpenAi,
        Some("anthropic") => Provider::Anthropic,
        Some("google") => Provider::Google,
        _ => Provider::Xai,
    }
}

async fn each_effort_reaches_each_provider_as_its_own_field(kind: Backend) {
    let all = [
        Provider::OpenAi,
        Provider::Anthropic,
        Provider::Google,
        Provider::Xai,
    ];
    let g = gateway(kind, &all, &[]).await;
    for c in cases() {
        let mock = g.mock(provider_of(c.model));
        let before = mock.requests().len();
        let body = json!({"model": c.model, "reasoning_effort": c.effort,
            "messages": [{"role": "user", "content": "Think."}]});
        let r = g.post("/v1/chat/completions", body).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{} {}: {}",
            c.model,
            c.effort,
            r.text
        );
        let seen = mock.requests();
        assert_eq!(seen.len(), before + 1, "{} {}", c.model, c.effort);
        let wire = &seen[before].body;
        assert_eq!(
            wire.pointer(c.pointer),
            c.wire.as_ref(),
            "{} {}: {wire}",
            c.model,
            c.effort
        );
        if provider_of(c.model) == Provider::Anthropic && c.wire.is_none() {
            assert!(wire.get("thinking").is_none(), "{wire}");
        }
    }
}

async fn other_values_are_refused_before_any_provider_call(kind: Backend) {
    let g = gateway(kind, &[Provider::OpenAi, Provider::Anthropic], &[]).await;
    for bad in [
        json!("extreme"),
        json!("High"),
        json!(""),
        json!(7),
        json!("-1"),
    ] {
        for model in ["openai/o3", "anthropic/claude-sonnet-4-5"] {
            let body = json!({"model": model, "reasoning_effort": bad,
                "messages": [{"role": "user", "content": "Think."}]});
            let r = g.post("/v1/chat/completions", body).await;
            let error = assert_error(&r, StatusCode::BAD_REQUEST);
            assert_eq!(error["type"], "invalid_request_error", "{}", r.text);
            assert_eq!(error["param"], "reasoning_effort", "{}", r.text);
        }
    }
    assert!(g.openai.requests().is_empty());
    assert!(g.anthropic.requests().is_empty());
}
