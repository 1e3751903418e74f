//! What one tenant (or one provider) can do to everyone else: hostile provider headers, fan-out, and
//! shared failure state. Two orgs share one gateway here, as they share one Lambda instance or `byok serve`.

mod common;

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use byok_mock_providers::Behaviour;
use byok_shared::domain::provider::Provider;
use byok_shared::repo::provider_keys::{self, Owner};
use byok_shared::secret::Secret;
use byok_testkit::http::{Response, assert_error, call};
use byok_testkit::{Backend, fixtures};
use common::*;
use serde_json::{Value, json};

fn chat(model: &str) -> Value {
    json!({"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]})
}

/// A second org on the same gateway, with its own OpenAI key.
async fn second_org(g: &common::Gateway) -> fixtures::TestOrg {
    let (store, cipher) = (g.backend.store.as_ref(), g.backend.cipher.as_ref());
    let org = fixtures::org(store, "Beta").await;
    provider_keys::create(
        store,
        cipher,
        Owner::Org(&org.org_id),
        Provider::OpenAi,
        &Secret::new("own-openai-key-of-beta-3333"),
        None,
        None,
    )
    .await
    .unwrap();
    org
}

async fn post_as(g: &common::Gateway, key: &str, path: &str, body: Value) -> Response {
    call(&g.app, Method::POST, path, Some(key), Some(body)).await
}

/// `Duration::from_secs_f64` panics past u64::MAX seconds; with `panic = "abort"` that took the whole
/// process, every tenant's requests with it. The hint is clamped, and one that does not fit the request's
/// deadline is not waited for.
#[tokio::test]
async fn a_hostile_retry_after_neither_crashes_nor_holds_the_request() {
    let g = gateway(Backend::Embedded, &[Provider::OpenAi], &[]).await;
    for (name, value) in [
        ("retry-after", "1e20"),
        ("retry-after", "18446744073709551616"),
        ("retry-after-ms", "1e30"),
    ] {
        g.openai.script(Behaviour {
            status: Some(429),
            error_headers: vec![(name.into(), value.into())],
            ..Behaviour::default()
        });
        let started = Instant::now();
        let r = g
            .post("/v1/chat/completions", chat("openai/gpt-4.1-mini"))
            .await;
        assert_error(&r, StatusCode::TOO_MANY_REQUESTS);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{name}: {value} held the request for {:?}",
            started.elapsed()
        );
        assert_eq!(
            attempts(&r),
            [
                "model=openai/gpt-4.1-mini;key=own;outcome=http_429",
                "model=openai/gpt-4.1-mini;key=platform;outcome=skipped_no_key"
            ]
        );
    }
    let r = g
        .post("/v1/chat/completions", chat("openai/gpt-4.1-mini"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

/// A policy of 16 steps (the most a policy may have; nested policies can reach 64) must not become 16 or
/// more provider calls: the gateway caps calls per request (`BYOK_MAX_ATTEMPTS`, default 10).
#[tokio::test]
async fn one_request_makes_at_most_the_capped_number_of_provider_calls() {
    let g = gateway(Backend::Embedded, &[Provider::OpenAi], &[]).await;
    let steps: Vec<Value> = (0..16)
        .map(|i| {
            json!({"model": format!("openai/gpt-4.1-mini-status-500-n{i}"), "key_source": "own",
                "retries": 0, "timeout_ms": 5000})
        })
        .collect();
    g.policy(json!({"name": "fan-out", "type": "fallback", "steps": steps}))
        .await;
    let r = g.post("/v1/chat/completions", chat("policy/fan-out")).await;
    let error = assert_error(&r, StatusCode::BAD_GATEWAY);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("cap of 10 provider calls"),
        "{}",
        r.text
    );
    assert_eq!(g.openai.requests().len(), 10);
    assert_eq!(attempts(&r).len(), 10);
}

/// Cooldowns are state shared by every org on an instance. An org whose own key keeps failing cools down
/// its own key only: another org's own key for the same model is still used.
#[tokio::test]
async fn one_orgs_failing_own_key_does_not_cool_down_another_orgs_own_key() {
    let g = gateway(Backend::Embedded, &[Provider::OpenAi], &[Provider::OpenAi]).await;
    let beta = second_org(&g).await;
    g.policy(json!({"name": "own-only", "type": "fallback",
        "steps": [{"model": "openai/gpt-4.1-mini", "key_source": "own", "retries": 0}]}))
        .await;
    for _ in 0..3 {
        g.openai.script(Behaviour::status(401));
        let r = g
            .post("/v1/chat/completions", chat("policy/own-only"))
            .await;
        assert_ne!(r.status, StatusCode::OK, "{}", r.text);
    }
    // Org A now skips its own key for this model...
    let r = g
        .post("/v1/chat/completions", chat("openai/gpt-4.1-mini"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        attempts(&r),
        [
            "model=openai/gpt-4.1-mini;key=own;outcome=skipped_cooldown",
            "model=openai/gpt-4.1-mini;key=platform;outcome=ok"
        ]
    );
    // ...but org B's own key is its own target.
    let r = post_as(
        &g,
        &beta.admin,
        "/v1/chat/completions",
        chat("openai/gpt-4.1-mini"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        attempts(&r),
        ["model=openai/gpt-4.1-mini;key=own;outcome=ok"]
    );
    let last = g.openai.requests().pop().unwrap();
    assert_eq!(
        key_seen(Provider::OpenAi, &last),
        "own-openai-key-of-beta-3333"
    );
}

/// The platform key is one target for every org, so it cools down for all: but not because one org set a
/// timeout too tight for the provider to answer in. Such timeouts say nothing about the provider.
#[tokio::test]
async fn a_callers_tight_timeout_does_not_cool_down_the_shared_platform_key() {
    let g = gateway(Backend::Embedded, &[], &[Provider::OpenAi]).await;
    let beta = second_org(&g).await;
    g.policy(json!({"name": "impatient", "type": "fallback",
        "steps": [{"model": "openai/gpt-4.1-mini", "key_source": "platform", "retries": 0, "timeout_ms": 1000},
                  {"model": "openai/gpt-4.1-nano", "key_source": "platform", "retries": 0}]}))
        .await;
    for _ in 0..3 {
        g.openai.script(Behaviour {
            delay_ms: 1500,
            ..Behaviour::default()
        });
        let r = g
            .post("/v1/chat/completions", chat("policy/impatient"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(
            attempts(&r)[0],
            "model=openai/gpt-4.1-mini;key=platform;outcome=timeout"
        );
    }
    let body = json!({"name": "patient", "type": "fallback",
        "steps": [{"model": "openai/gpt-4.1-mini", "key_source": "platform_then_own"},
                  {"model": "openai/gpt-4.1-nano", "key_source": "platform"}]});
    let r = post_as(&g, &beta.admin, "/v1/policies", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = post_as(
        &g,
        &beta.admin,
        "/v1/chat/completions",
        chat("policy/patient"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        attempts(&r),
        ["model=openai/gpt-4.1-mini;key=platform;outcome=ok"],
        "org B must not skip the platform key because org A's timeouts were too tight"
    );
}
