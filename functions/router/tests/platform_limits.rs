//! The org's monthly limit on platform-key spend is reserved, not checked: a request holds its platform
//! steps' estimate on a lease of the org's platform budget before its first platform-key attempt, so 64
//! concurrent platform requests on two instances (two routers on one store, as two Lambda instances on
//! one table) never end above the limit by more than the documented bound (README "Spend limits": the sum
//! over served requests of what each cost beyond its estimate, 0 with a provider that honours
//! `max_tokens`). Another org's platform budget is its own; a route that tries the org's own key first is
//! served on it whatever is left of the platform budget. Both backends.

mod common;

use axum::Router;
use axum::http::{Method, StatusCode};
use byok_mock_providers::Behaviour;
use byok_shared::domain::provider::Provider;
use byok_shared::domain::usage::{month_key, to_nanos};
use byok_shared::repo::orgs::PlatformSettings;
use byok_testkit::http::{Response, assert_error, call};
use byok_testkit::{Backend, fixtures};
use common::*;
use serde_json::{Value, json};

byok_testkit::on_both_backends!(
    concurrent_platform_requests_never_end_above_a_small_org_limit,
    a_provider_past_max_tokens_overshoots_the_org_limit_by_at_most_the_bound,
    an_own_key_step_still_serves_when_the_platform_budget_is_exhausted,
);

fn chat(model: &str) -> Value {
    json!({"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]})
}

/// An org entitled to the platform keys with a monthly platform limit (USD).
async fn org_with_limit(g: &Gateway, name: &str, limit: f64) -> fixtures::TestOrg {
    let settings = PlatformSettings {
        enabled: Some(true),
        monthly_limit: Some(limit),
    };
    fixtures::org_with(g.backend.store.as_ref(), name, settings).await
}

async fn post(app: &Router, key: &str, path: &str, body: Value) -> Response {
    call(app, Method::POST, path, Some(key), Some(body)).await
}

/// The org's spend item: (recorded spend, recorded platform spend, platform budget), nano-dollars.
async fn org_counters(g: &Gateway, org_id: &str) -> (i64, i64, i64) {
    let sk = format!("SPEND#org#{}", month_key(chrono::Utc::now()));
    let item = g
        .backend
        .store
        .get(&format!("ORG#{org_id}"), &sk)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no spend item"));
    let c = |n: &str| item.counters.get(n).copied().unwrap_or(0);
    (
        c("cost_nanos"),
        c("platform_cost_nanos"),
        c("platform_budget_nanos"),
    )
}

/// The refusal of a request whose platform steps were all withheld by the limit.
fn assert_platform_limit(r: &Response) {
    let error = assert_error(r, StatusCode::PRECONDITION_FAILED);
    assert_eq!(error["code"], "monthly_limit_reached", "{}", r.text);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("spend on the operator's platform keys reached its monthly limit"),
        "{}",
        r.text
    );
    assert!(
        attempts(r)
            .iter()
            .any(|a| a.ends_with("key=platform;outcome=skipped_platform_limit")),
        "{:?}",
        attempts(r)
    );
}

/// 64 platform requests at once, alternating between two instances (`common::fire`): each served on the
/// platform key, each refusal the platform limit's.
async fn fire_platform(apps: &[Router; 2], key: &str) -> (Vec<i64>, usize) {
    let served = |r: &Response| assert_eq!(r.headers["x-byok-key-source"], "platform");
    let body = chat("openai/gpt-4.1-mini");
    fire(apps, key, &body, served, assert_platform_limit).await
}

/// Platform requests one at a time, alternating between the instances, until both refuse in a row (so
/// that neither has a lease with room left, nor can get one): the cost of each one served is added to
/// `costs`. A burst need not end there. A request is refused while the others' holds are outstanding,
/// and those settle at about a sixth of their estimate, so how much budget is left after 64 at once
/// depends on how they interleave.
async fn spend_the_rest(apps: &[Router; 2], key: &str, costs: &mut Vec<i64>) {
    let mut refused_in_a_row = 0;
    for i in 0..64 {
        let r = post(
            &apps[i % 2],
            key,
            "/v1/chat/completions",
            chat("openai/gpt-4.1-mini"),
        )
        .await;
        if r.status == StatusCode::OK {
            assert_eq!(r.headers["x-byok-key-source"], "platform");
            costs.push(to_nanos(r.body["usage"]["cost"].as_f64().unwrap()));
            refused_in_a_row = 0;
        } else {
            assert_platform_limit(&r);
            refused_in_a_row += 1;
            if refused_in_a_row == 2 {
                return;
            }
        }
    }
    panic!("the platform limit never refused two requests in a row");
}

/// A provider that honours `max_tokens`, a body no smaller than its tokens: nothing costs more than its
/// estimate, so the bound is 0 and the org's platform spend ends at or under its limit, with refusals.
/// Another org with the same limit, on the same instances, is served meanwhile and after.
async fn concurrent_platform_requests_never_end_above_a_small_org_limit(kind: Backend) {
    let g = gateway(kind, &[], &[Provider::OpenAi]).await;
    // One request costs 11.2 µ$ (12 input and 4 output tokens) and reserves about 63 µ$.
    let limit = 0.000_2;
    let alpha = org_with_limit(&g, "Alpha", limit).await;
    let beta = org_with_limit(&g, "Beta", limit).await;
    let (one, two) = (instance(&g), instance(&g));
    let apps = [one.1.clone(), two.1.clone()];
    let (mut costs, refused) = fire_platform(&apps, &alpha.admin).await;
    spend_the_rest(&apps, &alpha.admin, &mut costs).await;
    let spent = assert_within_limit(&costs, refused, limit);
    assert_eq!(
        g.openai.requests().len(),
        costs.len(),
        "a refused request reached the provider"
    );
    let (recorded, platform, _) = org_counters(&g, &alpha.org_id).await;
    assert_eq!(
        (recorded, platform),
        (spent, spent),
        "the store's spend is what the responses say"
    );

    // Beta's platform budget is its own: served on both instances while Alpha is refused.
    let mut beta_spent = 0;
    for app in &apps {
        let r = post(
            app,
            &alpha.admin,
            "/v1/chat/completions",
            chat("openai/gpt-4.1-mini"),
        )
        .await;
        assert_platform_limit(&r);
        let r = post(
            app,
            &beta.admin,
            "/v1/chat/completions",
            chat("openai/gpt-4.1-mini"),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.headers["x-byok-key-source"], "platform");
        beta_spent += to_nanos(r.body["usage"]["cost"].as_f64().unwrap());
    }

    // Shut down, the instances give their leases back: each budget is exactly its platform spend again.
    one.0.shutdown().await;
    two.0.shutdown().await;
    assert_eq!(org_counters(&g, &alpha.org_id).await, (spent, spent, spent));
    assert_eq!(
        org_counters(&g, &beta.org_id).await,
        (beta_spent, beta_spent, beta_spent)
    );
}

/// A provider that ignores `max_tokens` (200 output tokens for 16): each request costs more than it
/// reserved; the org's platform spend ends no further above its limit than the sum of those excesses.
async fn a_provider_past_max_tokens_overshoots_the_org_limit_by_at_most_the_bound(kind: Backend) {
    let g = gateway(kind, &[], &[Provider::OpenAi]).await;
    g.openai.set_default(Some(ignores_max_tokens()));
    let limit = 0.001;
    let alpha = org_with_limit(&g, "Alpha", limit).await;
    let (one, two) = (instance(&g), instance(&g));
    let (costs, refused) = fire_platform(&[one.1, two.1], &alpha.admin).await;
    let estimate = mini_estimate(&chat("openai/gpt-4.1-mini"));
    let spent = assert_within_overshoot_bound(&costs, refused, limit, estimate);
    assert_eq!(org_counters(&g, &alpha.org_id).await.1, spent);
}

/// Once the org's platform budget is spent, platform steps are skipped, but a route that tries the org's
/// own key first is served on it (and, when that fails, is refused nothing else), and a platform-first
/// route falls through to the own key.
async fn an_own_key_step_still_serves_when_the_platform_budget_is_exhausted(kind: Backend) {
    let g = gateway(kind, &[], &[Provider::OpenAi, Provider::Anthropic]).await;
    let org = org_with_limit(&g, "Alpha", 0.000_1).await;
    fixtures::own_key(
        g.backend.store.as_ref(),
        g.backend.cipher.as_ref(),
        &org.org_id,
        Provider::Anthropic,
        "own-anthropic-of-alpha-4444",
    )
    .await;
    let (instance, app) = instance(&g);
    let policy = |doc: Value| {
        let (app, key) = (app.clone(), org.admin.clone());
        async move {
            let r = post(&app, &key, "/v1/policies", doc).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        }
    };
    let (sonnet, mini) = ("anthropic/claude-sonnet-4-5", "openai/gpt-4.1-mini");
    policy(json!({"name": "platform", "type": "fallback",
        "steps": [{"model": mini, "key_source": "platform"}]}))
    .await;
    policy(json!({"name": "own-first", "type": "fallback",
        "steps": [{"model": sonnet, "key_source": "own", "retries": 0}, {"model": mini, "key_source": "platform"}]}))
    .await;
    policy(json!({"name": "platform-first", "type": "fallback",
        "steps": [{"model": sonnet, "key_source": "platform_then_own"}]}))
    .await;

    // Spend the platform budget.
    let mut served = 0;
    loop {
        let r = post(
            &app,
            &org.admin,
            "/v1/chat/completions",
            chat("policy/platform"),
        )
        .await;
        if r.status == StatusCode::PRECONDITION_FAILED {
            assert_platform_limit(&r);
            break;
        }
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        served += 1;
        assert!(served < 20, "the platform limit never applied");
    }
    assert!(served >= 1, "not even one request fitted the limit");
    let platform_calls = g.openai.requests().len();

    // Own key first: served on it; the platform step is never reached.
    let r = post(
        &app,
        &org.admin,
        "/v1/chat/completions",
        chat("policy/own-first"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["x-byok-key-source"], "own");
    assert_eq!(attempts(&r), [format!("model={sonnet};key=own;outcome=ok")]);
    let seen = g.anthropic.requests();
    assert_eq!(
        key_seen(Provider::Anthropic, seen.last().unwrap()),
        "own-anthropic-of-alpha-4444"
    );

    // Platform first: skipped for the limit, the own key serves.
    let r = post(
        &app,
        &org.admin,
        "/v1/chat/completions",
        chat("policy/platform-first"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["x-byok-key-source"], "own");
    assert_eq!(
        attempts(&r),
        [
            format!("model={sonnet};key=platform;outcome=skipped_platform_limit"),
            format!("model={sonnet};key=own;outcome=ok"),
        ]
    );

    // The own key fails over: the platform step is skipped for the limit, the own key's error answers.
    g.anthropic.script(Behaviour {
        status: Some(503),
        ..Behaviour::default()
    });
    let r = post(
        &app,
        &org.admin,
        "/v1/chat/completions",
        chat("policy/own-first"),
    )
    .await;
    assert!(r.status.is_server_error(), "{} {}", r.status, r.text);
    assert_eq!(
        attempts(&r),
        [
            format!("model={sonnet};key=own;outcome=http_503"),
            format!("model={mini};key=platform;outcome=skipped_platform_limit"),
        ]
    );
    assert_eq!(
        g.openai.requests().len(),
        platform_calls,
        "a platform key was used past the limit"
    );
    // Own-key spend does not count against the platform budget.
    instance.shutdown().await;
    let (recorded, platform, budget) = org_counters(&g, &org.org_id).await;
    assert!(recorded > platform, "{recorded} {platform}");
    assert_eq!(budget, platform);
}
