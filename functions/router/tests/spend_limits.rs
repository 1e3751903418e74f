//! Hard spend limits under concurrency: requests reserve their estimate on a lease of the key's budget
//! before the provider call, so 64 concurrent requests on two instances (two routers on one store, as
//! two Lambda instances on one table) never end above the limit by more than the documented bound
//! (README "Spend limits": the sum over admitted requests of what each cost beyond its estimate).

mod common;

use axum::Router;
use axum::http::{Method, StatusCode};
use byok_shared::domain::permissions::{Completions, Manage, Permissions};
use byok_shared::domain::provider::Provider;
use byok_shared::domain::usage::month_key;
use byok_shared::repo::apikeys::{self, NewKey};
use byok_shared::store::Store;
use byok_testkit::Backend;
use byok_testkit::http::{Response, assert_error, call};
use common::*;
use serde_json::{Value, json};

byok_testkit::on_both_backends!(
    concurrent_requests_never_end_above_a_small_limit,
    a_provider_past_max_tokens_overshoots_by_at_most_the_documented_bound,
);

fn chat() -> Value {
    json!({"model": "openai/gpt-4.1-mini", "max_tokens": 16,
        "messages": [{"role": "user", "content": "Hi"}]})
}

async fn limited_key(store: &dyn Store, org_id: &str, limit: f64) -> (String, String) {
    let new = NewKey {
        name: "app".into(),
        permissions: Permissions {
            manage: Manage::None,
            completions: Completions::Write,
        },
        monthly_limit: limit,
        allowed_models: Vec::new(),
        expires_at: None,
        labels: Default::default(),
        default_model: None,
        rate_limits: Default::default(),
        logging: false,
        auto_cache: None,
    };
    let (key, secret) = apikeys::create(store, org_id, new, None).await.unwrap();
    (key.api_key_id, secret.expose().to_owned())
}

/// The key's spend item: (recorded spend, budget counter), nano-dollars.
async fn counters(g: &Gateway, key_id: &str) -> (i64, i64) {
    let sk = format!("SPEND#{key_id}#{}", month_key(chrono::Utc::now()));
    let item = g
        .backend
        .store
        .get(&format!("ORG#{}", g.org.org_id), &sk)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no spend item"));
    let c = |n: &str| item.counters.get(n).copied().unwrap_or(0);
    (c("cost_nanos"), c("budget_nanos"))
}

/// 64 requests of `key` at once on two instances (`common::fire`), each refusal the spend-limit error.
async fn fire_limited(apps: &[Router; 2], key: &str) -> (Vec<i64>, usize) {
    let refused = |r: &Response| {
        let error = assert_error(r, StatusCode::PRECONDITION_FAILED);
        assert_eq!(error["code"], "monthly_limit_reached", "{}", r.text);
    };
    fire(apps, key, &chat(), |_: &Response| {}, refused).await
}

/// A provider that honours `max_tokens` and a body no smaller than its tokens: nothing costs more than
/// its estimate, so the bound is 0 and the spend ends at or under the limit; some requests are refused.
async fn concurrent_requests_never_end_above_a_small_limit(kind: Backend) {
    let g = gateway(kind, &[Provider::OpenAi], &[]).await;
    // One request costs 11.2 µ$ (12 input and 4 output tokens) and reserves about 63 µ$.
    let limit = 0.000_2;
    let (key_id, key) = limited_key(g.backend.store.as_ref(), &g.org.org_id, limit).await;
    let (one, two) = (instance(&g), instance(&g));
    let (costs, refused) = fire_limited(&[one.1.clone(), two.1.clone()], &key).await;
    let spent = assert_within_limit(&costs, refused, limit);
    let (recorded, _) = counters(&g, &key_id).await;
    assert_eq!(
        recorded, spent,
        "the store's spend is what the responses say"
    );
    assert_eq!(
        g.openai.requests().len(),
        costs.len(),
        "a refused request reached the provider"
    );

    // Shut down, the instances give their leases back: the budget is exactly the spend again.
    one.0.shutdown().await;
    two.0.shutdown().await;
    assert_eq!(counters(&g, &key_id).await, (spent, spent));
}

/// A provider that ignores `max_tokens` (200 output tokens for 16): each request costs more than it
/// reserved; the spend ends no further above the limit than the sum of those excesses.
async fn a_provider_past_max_tokens_overshoots_by_at_most_the_documented_bound(kind: Backend) {
    let g = gateway(kind, &[Provider::OpenAi], &[]).await;
    g.openai.script(ignores_max_tokens());
    let limit = 0.001;
    let (_, key) = limited_key(g.backend.store.as_ref(), &g.org.org_id, limit).await;
    let (one, two) = (instance(&g), instance(&g));
    let (costs, refused) = fire_limited(&[one.1, two.1], &key).await;
    assert_within_overshoot_bound(&costs, refused, limit, mini_estimate(&chat()));
}

/// Two orgs on one instance, each key with the same small limit: one key at its limit does not
/// refuse the other org's key (budgets and leases are per org and key).
#[tokio::test]
async fn one_orgs_exhausted_budget_leaves_another_orgs_alone() {
    let g = gateway(Backend::Embedded, &[Provider::OpenAi], &[Provider::OpenAi]).await;
    let store = g.backend.store.as_ref();
    let beta = byok_testkit::fixtures::org(store, "Beta").await;
    let limit = 0.000_1;
    let (_, a) = limited_key(store, &g.org.org_id, limit).await;
    let (b_id, b) = limited_key(store, &beta.org_id, limit).await;
    let (_, app) = instance(&g);
    let post = |key: &str| {
        let (app, key) = (app.clone(), key.to_owned());
        async move {
            call(
                &app,
                Method::POST,
                "/v1/chat/completions",
                Some(&key),
                Some(chat()),
            )
            .await
        }
    };
    let mut served = 0;
    loop {
        let r = post(&a).await;
        if r.status == StatusCode::PRECONDITION_FAILED {
            break;
        }
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        served += 1;
        assert!(served < 20, "the limit never applied");
    }
    assert!(served >= 1);
    let r = post(&b).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let sk = format!("SPEND#{b_id}#{}", month_key(chrono::Utc::now()));
    let beta_spend = store
        .get(&format!("ORG#{}", beta.org_id), &sk)
        .await
        .unwrap()
        .unwrap();
    assert!(beta_spend.counters["cost_nanos"] > 0);
}
