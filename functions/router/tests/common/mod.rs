//! A gateway on one backend with the four mock providers behind it, an org, and own/platform keys.

#![allow(dead_code)]

use axum::Router;
use axum::http::{Method, StatusCode};
use byok_mock_providers::{Kind, MockProvider, RecordedRequest};
use byok_shared::domain::provider::Provider;
use byok_shared::repo::platform_keys;
use byok_shared::repo::provider_keys::{self, Owner};
use byok_shared::secret::Secret;
use byok_testkit::http::{Response, call};
use byok_testkit::{Backend, TestBackend, fixtures};
use serde_json::Value;

pub struct Gateway {
    pub backend: TestBackend,
    /// The ports and configuration the router runs on (another instance can be built on them).
    pub state: byok_shared::AppState,
    pub app: Router,
    pub org: fixtures::TestOrg,
    pub openai: MockProvider,
    pub anthropic: MockProvider,
    pub google: MockProvider,
    pub xai: MockProvider,
}

pub fn own_key(p: Provider) -> String {
    format!("own-{p}-key-1111")
}

pub fn platform_key(p: Provider) -> String {
    format!("platform-{p}-key-2222")
}

pub async fn gateway(kind: Backend, own: &[Provider], platform: &[Provider]) -> Gateway {
    gateway_with(kind, own, platform, |_| {}).await
}

pub async fn gateway_with(
    kind: Backend,
    own: &[Provider],
    platform: &[Provider],
    configure: impl FnOnce(&mut byok_shared::config::Config),
) -> Gateway {
    let backend = TestBackend::new(kind).await;
    let (openai, anthropic, google, xai) = (
        MockProvider::start(Kind::OpenAi).await,
        MockProvider::start(Kind::Anthropic).await,
        MockProvider::start(Kind::Google).await,
        MockProvider::start(Kind::Xai).await,
    );
    let state = backend.state(|c| {
        c.providers.openai = openai.base_url();
        c.providers.anthropic = anthropic.base_url();
        c.providers.google = google.base_url();
        c.providers.xai = xai.base_url();
        configure(c);
    });
    let (store, cipher) = (backend.store.as_ref(), backend.cipher.as_ref());
    let org = fixtures::org(store, "Acme").await;
    for p in own {
        provider_keys::create(
            store,
            cipher,
            Owner::Org(&org.org_id),
            *p,
            &Secret::new(own_key(*p)),
            None,
            None,
        )
        .await
        .unwrap();
    }
    for p in platform {
        platform_keys::set(store, cipher, *p, &Secret::new(platform_key(*p)))
            .await
            .unwrap();
    }
    let app = byok_cli_free_app(state.clone());
    Gateway {
        backend,
        state,
        app,
        org,
        openai,
        anthropic,
        google,
        xai,
    }
}

/// The router function's routes plus the management routes tests need (policies), as on the local server
/// (whose wiring this repeats: the router's caches connected to the policies' changes).
fn byok_cli_free_app(state: byok_shared::AppState) -> Router {
    let gateway = byok_router::Gateway::new(state.clone());
    state.connect(gateway.colocated());
    let routes = utoipa_axum::router::OpenApiRouter::default()
        .merge(byok_router::routes().with_state(gateway))
        .merge(byok_policies::routes());
    byok_shared::http::finish(routes.into(), state)
}

impl Gateway {
    pub fn mock(&self, p: Provider) -> &MockProvider {
        match p {
            Provider::OpenAi => &self.openai,
            Provider::Anthropic => &self.anthropic,
            Provider::Google => &self.google,
            Provider::Xai => &self.xai,
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        call(
            &self.app,
            Method::POST,
            path,
            Some(&self.org.admin),
            Some(body),
        )
        .await
    }

    pub async fn policy(&self, doc: Value) {
        let r = self.post("/v1/policies", doc).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
}

/// The provider key a recorded request carried, from the provider's own auth header.
pub fn key_seen(p: Provider, request: &RecordedRequest) -> String {
    match p {
        Provider::OpenAi | Provider::Xai => request
            .header("authorization")
            .unwrap_or_default()
            .trim_start_matches("Bearer ")
            .to_owned(),
        Provider::Anthropic => request.header("x-api-key").unwrap_or_default().to_owned(),
        Provider::Google => request
            .header("x-goog-api-key")
            .unwrap_or_default()
            .to_owned(),
    }
}

/// The `x-byok-attempts` entries of a response, without their timings.
pub fn attempts(r: &Response) -> Vec<String> {
    r.headers["x-byok-attempts"]
        .to_str()
        .unwrap()
        .split(", ")
        .map(|a| {
            a.split(';')
                .filter(|p| !p.starts_with("ms="))
                .collect::<Vec<_>>()
                .join(";")
        })
        .collect()
}

/// `data:` payloads of an SSE body, in order.
pub fn sse_data(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

pub fn model_for(p: Provider) -> &'static str {
    match p {
        Provider::OpenAi => "openai/gpt-4.1-mini",
        Provider::Anthropic => "anthropic/claude-sonnet-4-5",
        Provider::Google => "google/gemini-2.5-flash",
        Provider::Xai => "xai/grok-4",
    }
}

/// Another router instance (its own caches and spend leases) on the gateway's store, as a second Lambda
/// instance on the same table; with the policy routes.
pub fn instance(g: &Gateway) -> (byok_router::Gateway, Router) {
    let gateway = byok_router::Gateway::new(g.state.clone());
    let routes = utoipa_axum::router::OpenApiRouter::default()
        .merge(byok_router::routes().with_state(gateway.clone()))
        .merge(byok_policies::routes());
    let app = byok_shared::http::finish(routes.into(), g.state.clone());
    (gateway, app)
}

/// 64 chat requests with `body` at once, alternating between two instances: the cost (nano-dollars) of
/// each served (checked by `served`) and how many were refused with the spend-limit error (checked by
/// `refused`).
pub async fn fire(
    apps: &[Router; 2],
    key: &str,
    body: &Value,
    served: impl Fn(&Response),
    refused: impl Fn(&Response),
) -> (Vec<i64>, usize) {
    let requests = (0..64).map(|i| {
        let (app, key, body) = (apps[i % 2].clone(), key.to_owned(), body.clone());
        async move {
            let path = "/v1/chat/completions";
            call(&app, Method::POST, path, Some(&key), Some(body)).await
        }
    });
    let mut costs = Vec::new();
    let mut refusals = 0;
    for r in futures::future::join_all(requests).await {
        match r.status {
            StatusCode::OK => {
                served(&r);
                let cost = r.body["usage"]["cost"].as_f64().unwrap();
                costs.push(byok_shared::domain::usage::to_nanos(cost));
            }
            StatusCode::PRECONDITION_FAILED => {
                refused(&r);
                refusals += 1;
            }
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    (costs, refusals)
}

/// What admission holds for `body` on `openai/gpt-4.1-mini` at the shipped prices (nano-dollars), with
/// the default 4,096 output tokens when it sets no `max_tokens`.
pub fn mini_estimate(body: &Value) -> i64 {
    use byok_shared::domain::{price, spend};
    let table = price::PriceTable::from_file(price::shipped());
    let price = table.price(Provider::OpenAi, "gpt-4.1-mini").unwrap();
    let body = byok_shared::providers::RequestBody::from(body.clone());
    spend::estimate([price], spend::request_need(&body, false, 4096))
}

/// The overshoot bound of a spend limit whose provider ignored `max_tokens`: some requests cost more than
/// their `estimate` (else nothing was tested), some were refused, and the total `spent` is at most the
/// limit plus each request's excess over its estimate. Returns what was spent (nano-dollars).
pub fn assert_within_overshoot_bound(
    costs: &[i64],
    refused: usize,
    limit: f64,
    estimate: i64,
) -> i64 {
    let limit = byok_shared::domain::usage::to_nanos(limit);
    let excess: i64 = costs.iter().map(|c| (c - estimate).max(0)).sum();
    let spent: i64 = costs.iter().sum();
    assert!(
        excess > 0,
        "the provider did not overshoot: {costs:?} vs {estimate}"
    );
    assert!(
        refused > 0,
        "no request was refused ({} served)",
        costs.len()
    );
    assert!(
        spent <= limit + excess,
        "spent {spent} over limit {limit} + bound {excess}"
    );
    spent
}

/// Concurrent requests against a small spend limit: some were served, some refused, and together they
/// spent at most the limit. Returns what was spent (nano-dollars).
pub fn assert_within_limit(costs: &[i64], refused: usize, limit: f64) -> i64 {
    let limit = byok_shared::domain::usage::to_nanos(limit);
    let spent: i64 = costs.iter().sum();
    assert!(
        refused > 0,
        "no request was refused ({} served)",
        costs.len()
    );
    assert!(!costs.is_empty(), "every request was refused");
    assert!(
        spent <= limit,
        "spent {spent} nano-dollars over a limit of {limit}"
    );
    spent
}

/// A provider answer that ignores `max_tokens`: 12 input and 200 output tokens whatever the request asked
/// for, so every request costs more than admission reserved for it.
pub fn ignores_max_tokens() -> byok_mock_providers::Behaviour {
    byok_mock_providers::Behaviour {
        usage: Some(byok_mock_providers::MockUsage {
            input: 12,
            output: 200,
            ..Default::default()
        }),
        ..Default::default()
    }
}
