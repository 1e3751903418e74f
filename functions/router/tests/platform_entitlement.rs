//! Platform keys are an entitlement: an org uses the operator's platform keys only when the operator
//! allows it (its own setting, else the configured default), within its optional monthly platform limit
//! (reserved: `platform_limits.rs` has it under concurrency).
//! A platform step it may not use is skipped like a missing key (visible in `x-byok-attempts`); a route
//! left with nothing to try gets a clear error. Two orgs on one gateway; both backends.

mod common;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use byok_shared::domain::price::PriceTable;
use byok_shared::domain::provider::Provider;
use byok_shared::domain::spend;
use byok_shared::domain::usage::from_nanos;
use byok_shared::repo::orgs::{self, PlatformSettings};
use byok_shared::repo::platform_keys;
use byok_shared::secret::Secret;
use byok_testkit::counting::CountingStore;
use byok_testkit::http::{assert_anthropic_error, assert_error, call};
use byok_testkit::{Backend, TestBackend, fixtures};
use common::*;
use serde_json::{Value, json};

byok_testkit::on_both_backends!(
    an_org_without_the_entitlement_never_reaches_a_platform_key,
    the_platform_limit_stops_platform_spend_only,
);

fn chat(model: &str) -> Value {
    json!({"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]})
}

async fn org_with(g: &Gateway, name: &str, settings: PlatformSettings) -> fixtures::TestOrg {
    fixtures::org_with(g.backend.store.as_ref(), name, settings).await
}

async fn post_as(g: &Gateway, key: &str, path: &str, body: Value) -> byok_testkit::http::Response {
    call(&g.app, Method::POST, path, Some(key), Some(body)).await
}

async fn an_org_without_the_entitlement_never_reaches_a_platform_key(kind: Backend) {
    // The operator's default is off: "Acme" (no setting of its own) may not use platform keys.
    let g = gateway_with(kind, &[], &[Provider::OpenAi, Provider::Anthropic], |c| {
        c.platform_keys_default = false;
    })
    .await;
    let r = g
        .post("/v1/chat/completions", chat("openai/gpt-4.1-mini"))
        .await;
    let error = assert_error(&r, StatusCode::FORBIDDEN);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("may not use the operator's platform keys"),
        "{}",
        r.text
    );
    assert_eq!(
        attempts(&r),
        [
            "model=openai/gpt-4.1-mini;key=own;outcome=skipped_no_key",
            "model=openai/gpt-4.1-mini;key=platform;outcome=skipped_not_entitled"
        ]
    );
    // Anthropic's shape on /v1/messages.
    let r = g
        .post("/v1/messages", chat("anthropic/claude-sonnet-4-5"))
        .await;
    let error = assert_anthropic_error(&r, StatusCode::FORBIDDEN);
    assert_eq!(error["type"], "permission_error");
    // A policy whose only step is a platform step: skipped, the same clear error.
    g.policy(json!({"name": "plat", "type": "fallback",
        "steps": [{"model": "openai/gpt-4.1-mini", "key_source": "platform"}]}))
        .await;
    let r = g.post("/v1/chat/completions", chat("policy/plat")).await;
    assert_error(&r, StatusCode::FORBIDDEN);
    assert_eq!(
        attempts(&r),
        ["model=openai/gpt-4.1-mini;key=platform;outcome=skipped_not_entitled"]
    );
    // Counting tokens is free, but the key is still the operator's.
    let r = g
        .post(
            "/v1/messages/count_tokens",
            json!({"model": "anthropic/claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hi"}]}),
        )
        .await;
    assert_anthropic_error(&r, StatusCode::FORBIDDEN);
    assert!(g.openai.requests().is_empty(), "a platform key was used");
    assert!(g.anthropic.requests().is_empty(), "a platform key was used");

    // Another org on the same gateway, entitled by the operator, is served with the platform key.
    let beta = org_with(
        &g,
        "Beta",
        PlatformSettings {
            enabled: Some(true),
            monthly_limit: None,
        },
    )
    .await;
    let r = post_as(
        &g,
        &beta.admin,
        "/v1/chat/completions",
        chat("openai/gpt-4.1-mini"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["x-byok-key-source"], "platform");
    let seen = g.openai.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        key_seen(Provider::OpenAi, &seen[0]),
        platform_key(Provider::OpenAi)
    );
    // And Acme is still refused: the entitlement is per org, not per instance.
    let r = g
        .post("/v1/chat/completions", chat("openai/gpt-4.1-mini"))
        .await;
    assert_error(&r, StatusCode::FORBIDDEN);
    assert_eq!(g.openai.requests().len(), 1);

    // An org the operator switched off explicitly stays off even where the default is on.
    let g = gateway_with(kind, &[], &[Provider::OpenAi], |c| {
        c.platform_keys_default = true;
    })
    .await;
    let gamma = org_with(
        &g,
        "Gamma",
        PlatformSettings {
            enabled: Some(false),
            monthly_limit: None,
        },
    )
    .await;
    let r = post_as(
        &g,
        &gamma.admin,
        "/v1/chat/completions",
        chat("openai/gpt-4.1-mini"),
    )
    .await;
    assert_error(&r, StatusCode::FORBIDDEN);
    let r = g
        .post("/v1/chat/completions", chat("openai/gpt-4.1-mini"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "the default (on) org: {}", r.text);
}

async fn the_platform_limit_stops_platform_spend_only(kind: Backend) {
    let g = gateway(kind, &[], &[Provider::OpenAi, Provider::Anthropic]).await;
    // Room for one request's estimate, and less than its cost more: one request is served, the next not.
    let table = PriceTable::from_file(byok_shared::domain::price::shipped());
    let price = table.price(Provider::OpenAi, "gpt-4.1-mini").unwrap();
    let body = chat("openai/gpt-4.1-mini");
    let sent = byok_shared::providers::RequestBody::from(body.clone());
    let estimate = spend::estimate([price], spend::request_need(&sent, false, 4096));
    let limit = from_nanos(estimate + 5_000);
    let acme = org_with(
        &g,
        "Limited",
        PlatformSettings {
            enabled: Some(true),
            monthly_limit: Some(limit),
        },
    )
    .await;
    fixtures::own_key(
        g.backend.store.as_ref(),
        g.backend.cipher.as_ref(),
        &acme.org_id,
        Provider::Anthropic,
        "own-anthropic-of-limited-4444",
    )
    .await;
    // Within the limit: served on the platform key (11.2 µ$, more than the 5 µ$ left beyond an estimate).
    let r = post_as(
        &g,
        &acme.admin,
        "/v1/chat/completions",
        chat("openai/gpt-4.1-mini"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["x-byok-key-source"], "platform");
    // Reached: the platform step is skipped and the request gets the spend-limit error.
    let r = post_as(
        &g,
        &acme.admin,
        "/v1/chat/completions",
        chat("openai/gpt-4.1-mini"),
    )
    .await;
    let error = assert_error(&r, StatusCode::PRECONDITION_FAILED);
    assert!(
        error["message"].as_str().unwrap().contains(&format!(
            "spend on the operator's platform keys reached its monthly limit of {limit} USD"
        )),
        "{}",
        r.text
    );
    assert_eq!(
        attempts(&r),
        [
            "model=openai/gpt-4.1-mini;key=own;outcome=skipped_no_key",
            "model=openai/gpt-4.1-mini;key=platform;outcome=skipped_platform_limit"
        ]
    );
    assert_eq!(g.openai.requests().len(), 1);
    // Its own key is not limited by the platform limit.
    let r = post_as(
        &g,
        &acme.admin,
        "/v1/chat/completions",
        chat("anthropic/claude-sonnet-4-5"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["x-byok-key-source"], "own");
    // The limit is the org's: another org keeps using the platform key.
    let r = g
        .post("/v1/chat/completions", chat("openai/gpt-4.1-mini"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["x-byok-key-source"], "platform");
    // Reported apart: the org's platform spend is what the limit counted, its own spend the rest.
    let spend = byok_shared::repo::usage::month_spend_split(
        g.backend.store.as_ref(),
        &acme.org_id,
        None,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert!(spend.platform > 0.0 && spend.own() > 0.0, "{spend:?}");
}

/// The entitlement comes from the hot-path cache and the platform limit's hold from this instance's lease:
/// a warm request that uses a platform key (with a platform limit set) reads nothing from the store and
/// writes nothing but its usage.
#[tokio::test]
async fn a_warm_platform_request_reads_no_entitlement_from_the_store() {
    let backend = TestBackend::new(Backend::Embedded).await;
    let mock = byok_mock_providers::MockProvider::start(byok_mock_providers::Kind::OpenAi).await;
    let store = Arc::new(CountingStore::new(backend.store.clone()));
    let state = {
        let mut config =
            byok_shared::config::Config::local(backend.dir.path().to_path_buf()).unwrap();
        config.providers.openai = mock.base_url();
        byok_shared::AppState::new(config, store.clone(), backend.cipher.clone())
    };
    let org = orgs::create_with(
        store.as_ref(),
        "Acme",
        PlatformSettings {
            enabled: Some(true),
            monthly_limit: Some(100.0),
        },
    )
    .await
    .unwrap();
    platform_keys::set(
        store.as_ref(),
        backend.cipher.as_ref(),
        Provider::OpenAi,
        &Secret::new(platform_key(Provider::OpenAi)),
    )
    .await
    .unwrap();
    let app = byok_router::router(state);
    let key = org.api_key.expose().to_owned();
    for round in ["cold", "warm"] {
        let r = call(
            &app,
            Method::POST,
            "/v1/chat/completions",
            Some(&key),
            Some(chat("openai/gpt-4.1-mini")),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{round}: {}", r.text);
        assert_eq!(r.headers["x-byok-key-source"], "platform");
        let (reads, writes) = store.take();
        if round == "warm" {
            assert_eq!(reads, 0, "a warm platform request read the store");
            assert_eq!(
                writes, 4,
                "usage bucket, key spend and org spend (with the platform budget) and the request \
                 log record, as without a platform limit: no lease renewal"
            );
        } else {
            assert!(reads > 0);
        }
    }
}
