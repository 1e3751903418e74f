//! Money and limits: the spend limit (412 before any provider call), exact usage counters under
//! concurrency, idempotent replays that charge once, allow-lists, and verifying stored keys.

mod common;

use axum::http::{Method, StatusCode};
use byok_shared::domain::permissions::{Completions, Manage, Permissions};
use byok_shared::domain::provider::Provider;
use byok_shared::domain::usage::{GroupBy, Resolution};
use byok_shared::repo::apikeys::{self, NewKey};
use byok_shared::repo::provider_keys::{self, Owner};
use byok_shared::repo::usage::{self, UsageQuery};
use byok_shared::secret::Secret;
use byok_testkit::Backend;
use byok_testkit::http::{assert_error, call};
use common::*;
use serde_json::{Value, json};

byok_testkit::on_both_backends!(usage_is_exact_after_200_concurrent_requests);

fn chat() -> Value {
    json!({"model": "openai/gpt-4.1-mini", "messages": [{"role": "user", "content": "Hi"}]})
}

async fn app_key(g: &Gateway, limit: f64, allowed: &[&str]) -> String {
    let new = NewKey {
        name: "app".into(),
        permissions: Permissions {
            manage: Manage::None,
            completions: Completions::Write,
        },
        monthly_limit: limit,
        allowed_models: allowed.iter().map(|s| s.to_string()).collect(),
        expires_at: None,
        labels: Default::default(),
        default_model: None,
        auto_cache: None,
        rate_limits: Default::default(),
        logging: false,
    };
    let (_, secret) = apikeys::create(g.backend.store.as_ref(), &g.org.org_id, new, None)
        .await
        .unwrap();
    secret.expose().to_owned()
}

/// A request is refused (412) before any provider call as soon as what it may cost no longer fits what is
/// left: at once when its `max_tokens` (here the operator's default cap of 4096) could pass the limit; with
/// a small `max_tokens`, once the requests before it have spent the rest.
#[tokio::test]
async fn spend_limit_gives_412_before_any_provider_call() {
    let g = gateway(Backend::Embedded, &[Provider::OpenAi], &[]).await;
    let key = app_key(&g, 0.000_1, &[]).await;
    let post = |body: Value| {
        call(
            &g.app,
            Method::POST,
            "/v1/chat/completions",
            Some(&key),
            Some(body),
        )
    };
    let uncapped = post(chat()).await;
    let error = assert_error(&uncapped, StatusCode::PRECONDITION_FAILED);
    assert_eq!(error["code"], "monthly_limit_reached");
    assert!(
        error["message"].as_str().unwrap().contains("max_tokens"),
        "{error}"
    );
    assert!(
        g.openai.requests().is_empty(),
        "the provider was called over the limit"
    );

    let mut capped = chat();
    capped["max_tokens"] = json!(16);
    let mut served = 0;
    let last = loop {
        let r = post(capped.clone()).await;
        if r.status != StatusCode::OK {
            break r;
        }
        served += 1;
        assert!(served < 10, "the limit never applied");
    };
    let error = assert_error(&last, StatusCode::PRECONDITION_FAILED);
    assert_eq!(error["code"], "monthly_limit_reached");
    assert!(served > 0);
    assert_eq!(
        g.openai.requests().len(),
        served,
        "the provider was called over the limit"
    );
    let unlimited = app_key(&g, 0.0, &[]).await;
    assert_eq!(
        call(
            &g.app,
            Method::POST,
            "/v1/chat/completions",
            Some(&unlimited),
            Some(chat())
        )
        .await
        .status,
        StatusCode::OK
    );
}

async fn usage_is_exact_after_200_concurrent_requests(kind: Backend) {
    let g = gateway(kind, &[Provider::OpenAi], &[Provider::Anthropic]).await;
    let requests = (0..200).map(|i| {
        let (app, key) = (g.app.clone(), g.org.admin.clone());
        let model = if i % 4 == 0 { "anthropic/claude-sonnet-4-5" } else { "openai/gpt-4.1-mini" };
        async move {
            let body = json!({"model": model, "messages": [{"role": "user", "content": "Hi"}], "byok": {"user_id": format!("u{}", i % 3)}});
            let r = call(&app, Method::POST, "/v1/chat/completions", Some(&key), Some(body)).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.body["usage"]["cost"].as_f64().unwrap()
        }
    });
    let costs: Vec<f64> = futures::future::join_all(requests).await;
    let now = chrono::Utc::now();
    let query = UsageQuery {
        start: now - chrono::Duration::hours(2),
        end: now + chrono::Duration::hours(1),
        resolution: Resolution::Month,
        group_by: &[GroupBy::IsByok],
        api_key_id: None,
    };
    let rows = usage::query(g.backend.store.as_ref(), &g.org.org_id, &query)
        .await
        .unwrap();
    let by: Vec<(Value, i64, i64)> = rows
        .iter()
        .map(|r| (r.group["is_byok"].clone(), r.requests, r.input_tokens))
        .collect();
    assert_eq!(
        by,
        [(json!(false), 50, 50 * 12), (json!(true), 150, 150 * 12)],
        "{rows:?}"
    );
    let billed: f64 = rows.iter().map(|r| r.cost).sum();
    let expected: f64 = costs.iter().sum();
    assert!(
        (billed - expected).abs() < 1e-9 * 200.0,
        "billed {billed} vs responses {expected}"
    );
    let spend = usage::month_spend(
        g.backend.store.as_ref(),
        &g.org.org_id,
        Some(&g.org.admin_key_id),
        now,
    )
    .await
    .unwrap();
    assert!(
        (spend - expected).abs() < 1e-9 * 200.0,
        "spend {spend} vs {expected}"
    );
    assert_eq!(
        g.openai.requests().len() + g.anthropic.requests().len(),
        200
    );
}

#[tokio::test]
async fn idempotent_replay_returns_the_first_result_and_charges_once() {
    let g = gateway(Backend::Embedded, &[Provider::OpenAi], &[]).await;
    let send = |key: &'static str| {
        let request = axum::http::Request::post("/v1/chat/completions")
            .header("authorization", format!("Bearer {}", g.org.admin))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(axum::body::Body::from(chat().to_string()))
            .unwrap();
        byok_testkit::http::send(&g.app, request)
    };
    let first = send("order-42").await;
    let again = send("order-42").await;
    assert_eq!(
        (first.status, again.status),
        (StatusCode::OK, StatusCode::OK)
    );
    assert_eq!(first.body, again.body);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(
        g.openai.requests().len(),
        1,
        "the replay called the provider"
    );
    let other = send("order-43").await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(g.openai.requests().len(), 2);
    let now = chrono::Utc::now();
    let q = UsageQuery {
        start: now - chrono::Duration::hours(1),
        end: now + chrono::Duration::hours(1),
        resolution: Resolution::Month,
        group_by: &[],
        api_key_id: None,
    };
    let rows = usage::query(g.backend.store.as_ref(), &g.org.org_id, &q)
        .await
        .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.requests).sum::<i64>(),
        2,
        "charged once per key"
    );
}

#[tokio::test]
async fn allow_lists_and_permissions_are_enforced() {
    let g = gateway(
        Backend::Embedded,
        &[Provider::OpenAi, Provider::Anthropic],
        &[],
    )
    .await;
    let key = app_key(&g, 0.0, &["openai/*"]).await;
    assert_eq!(
        call(
            &g.app,
            Method::POST,
            "/v1/chat/completions",
            Some(&key),
            Some(chat())
        )
        .await
        .status,
        StatusCode::OK
    );
    let other = json!({"model": "anthropic/claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hi"}]});
    let r = call(
        &g.app,
        Method::POST,
        "/v1/chat/completions",
        Some(&key),
        Some(other),
    )
    .await;
    assert_eq!(assert_error(&r, StatusCode::FORBIDDEN)["param"], "model");
    let manager = byok_testkit::fixtures::key(
        g.backend.store.as_ref(),
        &g.org.org_id,
        Manage::Write,
        Completions::None,
    )
    .await;
    assert_error(
        &call(
            &g.app,
            Method::POST,
            "/v1/chat/completions",
            Some(&manager),
            Some(chat()),
        )
        .await,
        StatusCode::FORBIDDEN,
    );
    assert_error(
        &call(
            &g.app,
            Method::POST,
            "/v1/chat/completions",
            None,
            Some(chat()),
        )
        .await,
        StatusCode::UNAUTHORIZED,
    );
    assert!(g.anthropic.requests().is_empty());
}

#[tokio::test]
async fn verify_records_the_outcome_on_the_key() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let g = gateway_with(
        Backend::Embedded,
        &[Provider::OpenAi, Provider::Anthropic, Provider::Xai],
        &[],
        |c| c.providers.xai = closed,
    )
    .await;
    let (store, cipher) = (g.backend.store.as_ref(), g.backend.cipher.as_ref());
    let owner = Owner::Org(&g.org.org_id);
    let ok = g.post("/v1/byok/openai/verify", json!({})).await;
    assert_eq!(
        (ok.status, ok.body["valid"].clone()),
        (StatusCode::OK, json!(true)),
        "{}",
        ok.text
    );
    assert!(
        provider_keys::get(store, owner, Provider::OpenAi)
            .await
            .unwrap()
            .health
            .last_verified_at
            .is_some()
    );

    provider_keys::rotate(
        store,
        cipher,
        owner,
        Provider::Anthropic,
        &Secret::new("sk-ant-invalid-0000"),
        None,
        None,
        None,
    )
    .await
    .unwrap();
    let bad = g.post("/v1/byok/anthropic/verify", json!({})).await;
    assert_eq!(
        (bad.status, bad.body["valid"].clone()),
        (StatusCode::OK, json!(false)),
        "{}",
        bad.text
    );
    let health = provider_keys::get(store, owner, Provider::Anthropic)
        .await
        .unwrap()
        .health;
    assert!(health.last_error.is_some() && health.last_verified_at.is_some());
    assert!(!bad.text.contains("sk-ant-invalid"), "{}", bad.text);

    assert_error(
        &g.post("/v1/byok/xai/verify", json!({})).await,
        StatusCode::BAD_GATEWAY,
    );
    assert_error(
        &g.post("/v1/byok/google/verify", json!({})).await,
        StatusCode::NOT_FOUND,
    );
}

#[tokio::test]
async fn use_is_recorded_on_the_api_key_and_the_own_key() {
    let g = gateway(Backend::Embedded, &[Provider::OpenAi], &[]).await;
    let store = g.backend.store.as_ref();
    assert_eq!(
        apikeys::last_used(store, &g.org.org_id, &g.org.admin_key_id)
            .await
            .unwrap(),
        None
    );
    let before = chrono::Utc::now();
    assert_eq!(
        g.post("/v1/chat/completions", chat()).await.status,
        StatusCode::OK
    );
    let used = apikeys::last_used(store, &g.org.org_id, &g.org.admin_key_id)
        .await
        .unwrap();
    assert!(used.is_some_and(|t| t >= before), "{used:?}");
    let health = provider_keys::get(store, Owner::Org(&g.org.org_id), Provider::OpenAi)
        .await
        .unwrap()
        .health;
    assert!(health.last_used_at.is_some_and(|t| t >= before));
}
