//! The operator's prices: a model without a price is refused (400 `model_not_priced`) before any provider
//! call when the request could use the platform key or counts against a limit; a price set in the store
//! (or the operator's default price) is what `usage.cost` is computed from; own-key requests without a
//! limit need no price.

mod common;

use axum::http::{Method, StatusCode};
use byok_shared::domain::permissions::{Completions, Manage, Permissions};
use byok_shared::domain::price::Price;
use byok_shared::domain::provider::Provider;
use byok_shared::repo::apikeys::{self, NewKey};
use byok_shared::repo::prices;
use byok_testkit::Backend;
use byok_testkit::http::{assert_error, call};
use common::*;
use serde_json::{Value, json};

byok_testkit::on_both_backends!(
    unpriced_models_are_refused_where_they_would_cost_the_operator,
    stored_and_default_prices_are_what_is_billed,
    the_model_list_shows_the_operators_prices
);

/// A dated snapshot of `gpt-new`: priced when the family is (the lookup rule).
const NEW_MODEL: &str = "openai/gpt-new-20310101";

fn chat(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]})
}

fn price(input: f64, output: f64, per_request: f64) -> Price {
    Price {
        input,
        output,
        cache_read: None,
        cache_write: None,
        per_request,
    }
}

async fn limited_key(g: &Gateway, limit: f64) -> String {
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
        auto_cache: None,
        rate_limits: Default::default(),
        logging: false,
    };
    let (_, secret) = apikeys::create(g.backend.store.as_ref(), &g.org.org_id, new, None)
        .await
        .unwrap();
    secret.expose().to_owned()
}

fn expected_cost(p: &Price, usage: &Value) -> f64 {
    let input = usage["prompt_tokens"].as_f64().unwrap();
    let output = usage["completion_tokens"].as_f64().unwrap();
    (input * p.input + output * p.output) / 1e6 + p.per_request
}

async fn unpriced_models_are_refused_where_they_would_cost_the_operator(kind: Backend) {
    // Platform key only: an unpriced model would be the operator's unknown cost.
    let g = gateway(kind, &[], &[Provider::OpenAi]).await;
    let r = g.post("/v1/chat/completions", chat(NEW_MODEL)).await;
    let error = assert_error(&r, StatusCode::BAD_REQUEST);
    assert_eq!(error["code"], "model_not_priced", "{}", r.text);
    assert_eq!(error["param"], "model");
    assert!(g.openai.requests().is_empty(), "the provider was called");
    // A listed model (a dated snapshot of a priced family) is served, with a cost.
    let r = g
        .post(
            "/v1/chat/completions",
            chat("openai/gpt-4.1-mini-2025-04-14"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.body["usage"]["cost"].as_f64().unwrap() > 0.0,
        "{}",
        r.text
    );

    // Own key only: no platform key can be used, so without a limit no price is needed...
    let own = gateway(kind, &[Provider::OpenAi], &[]).await;
    let r = own.post("/v1/chat/completions", chat(NEW_MODEL)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // ...but a key with a spend limit must know what it spends.
    let key = limited_key(&own, 5.0).await;
    let r = call(
        &own.app,
        Method::POST,
        "/v1/chat/completions",
        Some(&key),
        Some(chat(NEW_MODEL)),
    )
    .await;
    let error = assert_error(&r, StatusCode::BAD_REQUEST);
    assert_eq!(error["code"], "model_not_priced");
    assert_eq!(own.openai.requests().len(), 1);
}

async fn stored_and_default_prices_are_what_is_billed(kind: Backend) {
    let g = gateway(kind, &[], &[Provider::OpenAi]).await;
    let store = g.backend.store.as_ref();
    // The operator prices the new model and overrides a shipped price; the gateway reads the store.
    let new_price = price(7.0, 11.0, 0.25);
    let mini_price = price(100.0, 200.0, 0.0);
    prices::update(store, |t| {
        t.set(Provider::OpenAi, "gpt-new", Some(new_price))?;
        t.set(Provider::OpenAi, "gpt-4.1-mini", Some(mini_price))
    })
    .await
    .unwrap();
    for (model, p) in [
        (NEW_MODEL, &new_price),
        ("openai/gpt-4.1-mini", &mini_price),
    ] {
        let r = g.post("/v1/chat/completions", chat(model)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let cost = r.body["usage"]["cost"].as_f64().unwrap();
        let want = expected_cost(p, &r.body["usage"]);
        assert!((cost - want).abs() < 1e-12, "{model}: {cost} != {want}");
    }
    // The shipped prices the operator did not touch are still there.
    let table = prices::load(store).await.unwrap();
    assert!(
        table
            .listed(Provider::Anthropic, "claude-sonnet-4-5")
            .is_some()
    );

    // A default price makes every unlisted model billable (a fresh gateway: prices are cached for a TTL).
    let g = gateway(kind, &[], &[Provider::OpenAi]).await;
    let default = price(1.0, 2.0, 0.0);
    prices::update(g.backend.store.as_ref(), |t| t.set_default(Some(default)))
        .await
        .unwrap();
    let r = g
        .post("/v1/chat/completions", chat("openai/another-new-model"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let cost = r.body["usage"]["cost"].as_f64().unwrap();
    assert!((cost - expected_cost(&default, &r.body["usage"])).abs() < 1e-12);
}

/// `/v1/models` shows the prices billing uses (the operator's table), not the compiled-in catalogue's: a
/// changed price shows changed, a removed one shows `null` (no default), the others as shipped.
async fn the_model_list_shows_the_operators_prices(kind: Backend) {
    let g = gateway(kind, &[], &[Provider::OpenAi]).await;
    prices::update(g.backend.store.as_ref(), |t| {
        t.set(
            Provider::OpenAi,
            "gpt-4.1-mini",
            Some(price(100.0, 200.0, 0.5)),
        )?;
        t.set(Provider::Xai, "grok-4", None)
    })
    .await
    .unwrap();
    let r = call(&g.app, Method::GET, "/v1/models", Some(&g.org.admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let pricing = |id: &str| {
        r.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap_or_else(|| panic!("{id} not listed"))["pricing"]
            .clone()
    };
    let mini = pricing("openai/gpt-4.1-mini");
    assert_eq!(
        (
            mini["input"].clone(),
            mini["output"].clone(),
            mini["per_request"].clone()
        ),
        (json!(100.0), json!(200.0), json!(0.5))
    );
    assert_eq!(pricing("xai/grok-4"), Value::Null);
    let shipped = prices::load(g.backend.store.as_ref()).await.unwrap();
    let sonnet = shipped
        .listed(Provider::Anthropic, "claude-sonnet-4-5")
        .unwrap();
    assert_eq!(
        pricing("anthropic/claude-sonnet-4-5")["input"],
        json!(sonnet.input)
    );
}
