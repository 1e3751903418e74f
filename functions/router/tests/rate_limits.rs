//! Per-key rate limits (requests and tokens per minute), counted in the store so they hold across
//! instances: exactly `rpm` of many concurrent requests pass, the rest get 429 in the endpoint's error
//! shape with `Retry-After` and `x-ratelimit-*`; the counters are per key (two keys, two orgs); the token
//! estimate is corrected to the real tokens after the answer. On both backends.

mod common;

use axum::http::{Method, StatusCode};
use byok_shared::domain::permissions::{Completions, Manage, Permissions};
use byok_shared::domain::provider::Provider;
use byok_shared::domain::rate_limit::RateLimits;
use byok_shared::repo::apikeys::{self, NewKey};
use byok_testkit::http::{Response, assert_anthropic_error, assert_error, call};
use byok_testkit::{Backend, fixtures};
use common::*;
use serde_json::{Value, json};

byok_testkit::on_both_backends!(
    exactly_rpm_of_forty_concurrent_requests_pass_and_counters_are_per_key,
    the_token_estimate_is_corrected_after_the_answer,
);

fn chat(model: &str, max_tokens: u64) -> Value {
    json!({"model": model, "max_tokens": max_tokens, "messages": [{"role": "user", "content": "Hi"}]})
}

async fn limited_key(g: &Gateway, org_id: &str, rpm: Option<u32>, tpm: Option<u64>) -> String {
    let new = NewKey {
        name: "limited".into(),
        permissions: Permissions {
            manage: Manage::None,
            completions: Completions::Write,
        },
        monthly_limit: 0.0,
        allowed_models: Vec::new(),
        expires_at: None,
        labels: Default::default(),
        default_model: None,
        auto_cache: None,
        rate_limits: RateLimits { rpm, tpm },
        logging: false,
    };
    let (_, secret) = apikeys::create(g.backend.store.as_ref(), org_id, new, None)
        .await
        .unwrap();
    secret.expose().to_owned()
}

async fn post(g: &Gateway, key: &str, path: &str, body: Value) -> Response {
    call(&g.app, Method::POST, path, Some(key), Some(body)).await
}

fn header<'r>(r: &'r Response, name: &str) -> &'r str {
    r.headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header: {:?}", r.headers))
        .to_str()
        .unwrap()
}

/// Windows are whole UTC minutes: start a burst well inside one, so it cannot straddle two.
async fn wait_for_a_fresh_window() {
    let second = chrono::Utc::now().timestamp().rem_euclid(60);
    if second > 45 {
        tokio::time::sleep(std::time::Duration::from_secs((61 - second) as u64)).await;
    }
}

async fn exactly_rpm_of_forty_concurrent_requests_pass_and_counters_are_per_key(kind: Backend) {
    let g = gateway(kind, &[Provider::OpenAi, Provider::Anthropic], &[]).await;
    let org = g.org.org_id.clone();
    let key = limited_key(&g, &org, Some(10), None).await;
    wait_for_a_fresh_window().await;
    let burst = (0..40).map(|_| {
        post(
            &g,
            &key,
            "/v1/chat/completions",
            chat("openai/gpt-4.1-mini", 16),
        )
    });
    let answers = futures::future::join_all(burst).await;
    let ok: Vec<&Response> = answers
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .collect();
    let limited: Vec<&Response> = answers
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert_eq!(
        (ok.len(), limited.len()),
        (10, 30),
        "statuses: {:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(
        g.openai.requests().len(),
        10,
        "a refused request reached the provider"
    );
    // Successful answers carry where the key stands; every remaining count from 9 down to 0 once.
    let mut remaining: Vec<u32> = ok
        .iter()
        .map(|r| {
            assert_eq!(header(r, "x-ratelimit-limit-requests"), "10");
            assert!(header(r, "x-ratelimit-reset-requests").ends_with('s'));
            header(r, "x-ratelimit-remaining-requests").parse().unwrap()
        })
        .collect();
    remaining.sort_unstable();
    assert_eq!(remaining, (0..10).collect::<Vec<u32>>());
    for r in &limited {
        let error = assert_error(r, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(error["type"], "rate_limit_error");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("10 requests per minute")
        );
        let retry: u64 = header(r, "retry-after").parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        assert_eq!(header(r, "x-ratelimit-remaining-requests"), "0");
        assert_eq!(header(r, "x-ratelimit-reset-requests"), format!("{retry}s"));
    }
    // Anthropic's shape on /v1/messages, with the same headers.
    let r = post(
        &g,
        &key,
        "/v1/messages",
        chat("anthropic/claude-sonnet-4-5", 16),
    )
    .await;
    let error = assert_anthropic_error(&r, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error["type"], "rate_limit_error");
    assert!(header(&r, "retry-after").parse::<u64>().is_ok());
    assert_eq!(header(&r, "x-ratelimit-limit-requests"), "10");
    assert!(g.anthropic.requests().is_empty());

    // Per key: another key of the same org, and a key of another org, each have their own window.
    let sibling = limited_key(&g, &org, Some(10), None).await;
    let r = post(
        &g,
        &sibling,
        "/v1/chat/completions",
        chat("openai/gpt-4.1-mini", 16),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(header(&r, "x-ratelimit-remaining-requests"), "9");
    let beta = fixtures::org(g.backend.store.as_ref(), "Beta").await;
    fixtures::own_key(
        g.backend.store.as_ref(),
        g.backend.cipher.as_ref(),
        &beta.org_id,
        Provider::OpenAi,
        "own-openai-of-beta-5555",
    )
    .await;
    let other = limited_key(&g, &beta.org_id, Some(10), None).await;
    let r = post(
        &g,
        &other,
        "/v1/chat/completions",
        chat("openai/gpt-4.1-mini", 16),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(header(&r, "x-ratelimit-remaining-requests"), "9");
    // A key without limits gets no rate-limit headers.
    let r = g
        .post("/v1/chat/completions", chat("openai/gpt-4.1-mini", 16))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers.get("x-ratelimit-limit-requests").is_none());
}

async fn the_token_estimate_is_corrected_after_the_answer(kind: Backend) {
    let g = gateway(kind, &[Provider::OpenAi], &[]).await;
    let org = g.org.org_id.clone();
    let key = limited_key(&g, &org, None, Some(1000)).await;
    wait_for_a_fresh_window().await;
    // Asking for more output than the whole minute allows is refused before any provider call.
    let r = post(
        &g,
        &key,
        "/v1/chat/completions",
        chat("openai/gpt-4.1-mini", 1001),
    )
    .await;
    let error = assert_error(&r, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("1000 tokens per minute"),
        "{}",
        r.text
    );
    assert_eq!(header(&r, "x-ratelimit-limit-tokens"), "1000");
    assert!(g.openai.requests().is_empty());
    // Each request is counted at ~460 tokens (max_tokens 450 + its input) when admitted, but the mock
    // answers with ~16: corrected after each answer, three fit in the minute (uncorrected, the third
    // would not).
    for i in 0..3 {
        let r = post(
            &g,
            &key,
            "/v1/chat/completions",
            chat("openai/gpt-4.1-mini", 450),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "request {i}: {}", r.text);
        let remaining: i64 = header(&r, "x-ratelimit-remaining-tokens").parse().unwrap();
        // What is left after counting this request's estimate: the earlier ones count only ~16 each.
        assert!(
            remaining > 1000 - 460 - 20 * i - 10,
            "request {i}: {remaining}"
        );
    }
    assert_eq!(g.openai.requests().len(), 3);
}
