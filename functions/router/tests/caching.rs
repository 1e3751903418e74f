//! Auto caching and cache billing: `requesty.auto_cache` (or the key's default) puts Anthropic
//! `cache_control` breakpoints on the wire (system, tools, the previous user turn; never beside the client's
//! own), the Anthropic mock answers with cache reads and writes, and `usage.cost` bills them at the operator's
//! cache prices, not at the input price.

mod common;

use axum::http::{Method, StatusCode};
use byok_shared::domain::permissions::{Completions, Manage, Permissions};
use byok_shared::domain::price::Price;
use byok_shared::domain::provider::Provider;
use byok_shared::domain::usage::Resolution;
use byok_shared::repo::apikeys::{self, NewKey};
use byok_shared::repo::usage::{self, UsageQuery};
use byok_shared::repo::{orgs, prices};
use byok_testkit::Backend;
use byok_testkit::http::call;
use common::*;
use serde_json::{Value, json};

byok_testkit::on_both_backends!(
    auto_cache_places_breakpoints_and_bills_cache_prices,
    the_keys_default_applies_to_messages_and_the_clients_own_breakpoints_stay,
    the_orgs_default_applies_when_key_and_request_are_silent,
    streamed_answers_carry_cache_usage_and_its_cost
);

const PRICE: Price = Price {
    input: 3.0,
    output: 15.0,
    cache_read: Some(0.3),
    cache_write: Some(3.75),
    per_request: 0.0,
};

fn long(words: usize) -> String {
    "the quick brown fox jumps over the lazy dog ".repeat(words / 9 + 1)
}

/// A conversation long enough to cache: a long system prompt, a long first turn, an answer, a new turn.
fn conversation(auto_cache: Option<bool>) -> Value {
    let mut body = json!({
        "model": "anthropic/claude-sonnet-4-5",
        "messages": [
            {"role": "system", "content": long(1200)},
            {"role": "user", "content": long(900)},
            {"role": "assistant", "content": "Noted."},
            {"role": "user", "content": "And now?"}
        ]
    });
    if let Some(on) = auto_cache {
        body["requesty"] = json!({"auto_cache": on});
    }
    body
}

/// Blocks carrying `cache_control` in a recorded Anthropic body: (where, index).
fn marks(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let marked = |b: &Value| b.get("cache_control") == Some(&json!({"type": "ephemeral"}));
    for (i, t) in body["tools"].as_array().into_iter().flatten().enumerate() {
        if marked(t) {
            out.push(format!("tools[{i}]"));
        }
    }
    for (i, b) in body["system"].as_array().into_iter().flatten().enumerate() {
        if marked(b) {
            out.push(format!("system[{i}]"));
        }
    }
    for (m, msg) in body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        for (i, b) in msg["content"].as_array().into_iter().flatten().enumerate() {
            if marked(b) {
                out.push(format!("messages[{m}][{i}]"));
            }
        }
    }
    out
}

/// USD at [`PRICE`] for an OpenAI-format usage object.
fn cost_of(usage: &Value) -> f64 {
    let n = |p: &str| usage.pointer(p).and_then(Value::as_f64).unwrap_or(0.0);
    let (input, read, written) = (
        n("/prompt_tokens"),
        n("/prompt_tokens_details/cached_tokens"),
        n("/prompt_tokens_details/cache_write_tokens"),
    );
    ((input - read - written) * PRICE.input
        + read * PRICE.cache_read.unwrap()
        + written * PRICE.cache_write.unwrap()
        + n("/completion_tokens") * PRICE.output)
        / 1e6
}

async fn priced(g: &Gateway) {
    prices::update(g.backend.store.as_ref(), |t| {
        t.set(Provider::Anthropic, "claude-sonnet-4-5", Some(PRICE))
    })
    .await
    .unwrap();
}

async fn auto_cache_places_breakpoints_and_bills_cache_prices(kind: Backend) {
    let g = gateway(kind, &[Provider::Anthropic], &[]).await;
    priced(&g).await;

    // Off by default: nothing placed, nothing cached.
    let r = g.post("/v1/chat/completions", conversation(None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(marks(&g.anthropic.requests()[0].body), Vec::<String>::new());
    assert_eq!(r.body["usage"]["prompt_tokens_details"]["cached_tokens"], 0);

    // On: the system prompt and the user turn before the newest are marked (the translated body has
    // no tools), and the first call writes the cache.
    let first = g
        .post("/v1/chat/completions", conversation(Some(true)))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let wire = &g.anthropic.requests()[1].body;
    assert_eq!(marks(wire), ["system[0]", "messages[0][0]"]);
    assert!(wire.get("requesty").is_none(), "the extension is stripped");
    let usage = &first.body["usage"];
    let written = usage["prompt_tokens_details"]["cache_write_tokens"]
        .as_u64()
        .unwrap_or(0);
    assert!(written >= 1024, "{usage}");
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 0);
    let cost = usage["cost"].as_f64().unwrap();
    assert!((cost - cost_of(usage)).abs() < 1e-9, "{cost} vs {usage}");

    // The same conversation again reads what the first wrote, at the cache-read price.
    let second = g
        .post("/v1/chat/completions", conversation(Some(true)))
        .await;
    let usage = &second.body["usage"];
    assert_eq!(
        usage["prompt_tokens_details"]["cached_tokens"].as_u64(),
        Some(written),
        "{usage}"
    );
    let cheaper = usage["cost"].as_f64().unwrap();
    assert!(
        (cheaper - cost_of(usage)).abs() < 1e-9,
        "{cheaper} vs {usage}"
    );
    let all_fresh = usage["prompt_tokens"].as_f64().unwrap() * PRICE.input / 1e6
        + usage["completion_tokens"].as_f64().unwrap() * PRICE.output / 1e6;
    assert!(
        cheaper < all_fresh * 0.5,
        "a cache read is not billed at the input price: {cheaper} vs {all_fresh}"
    );

    // Explicitly off: no breakpoints even where they would pay.
    let r = g
        .post("/v1/chat/completions", conversation(Some(false)))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(marks(&g.anthropic.requests()[3].body), Vec::<String>::new());

    // The usage rows hold the cache reads and writes (one write, one read of the same prefix).
    let now = chrono::Utc::now();
    let q = UsageQuery {
        start: now - chrono::Duration::hours(2),
        end: now + chrono::Duration::hours(1),
        resolution: Resolution::Month,
        group_by: &[],
        api_key_id: None,
    };
    let rows = usage::query(g.backend.store.as_ref(), &g.org.org_id, &q)
        .await
        .unwrap();
    let sum = |f: fn(&usage::UsageRow) -> i64| rows.iter().map(f).sum::<i64>();
    assert_eq!(sum(|r| r.requests), 4);
    assert_eq!(sum(|r| r.cached_tokens), written as i64);
    assert_eq!(sum(|r| r.cache_write_tokens), written as i64);
}

async fn key_with_auto_cache(g: &Gateway) -> String {
    let new = NewKey {
        name: "cached".into(),
        permissions: Permissions {
            manage: Manage::None,
            completions: Completions::Write,
        },
        monthly_limit: 0.0,
        allowed_models: Vec::new(),
        expires_at: None,
        labels: Default::default(),
        default_model: None,
        rate_limits: Default::default(),
        auto_cache: Some(true),
        logging: false,
    };
    let (_, secret) = apikeys::create(g.backend.store.as_ref(), &g.org.org_id, new, None)
        .await
        .unwrap();
    secret.expose().to_owned()
}

async fn the_keys_default_applies_to_messages_and_the_clients_own_breakpoints_stay(kind: Backend) {
    let g = gateway(kind, &[Provider::Anthropic], &[]).await;
    priced(&g).await;
    let key = key_with_auto_cache(&g).await;
    let tools = json!([
        {"name": "search", "description": long(600), "input_schema": {"type": "object"}},
        {"name": "read", "description": long(600), "input_schema": {"type": "object"}}
    ]);
    let messages = json!([
        {"role": "user", "content": long(300)},
        {"role": "assistant", "content": [{"type": "text", "text": "Sure."}]},
        {"role": "user", "content": [{"type": "text", "text": "Go on."}]}
    ]);
    let body = json!({"model": "anthropic/claude-sonnet-4-5", "max_tokens": 100,
        "system": long(1200), "tools": tools, "messages": messages});
    let send = |body: Value| call(&g.app, Method::POST, "/v1/messages", Some(&key), Some(body));

    // The key's default turns auto caching on for a passthrough without breakpoints.
    let r = send(body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let wire = &g.anthropic.requests()[0].body;
    assert_eq!(marks(wire), ["tools[1]", "system[0]", "messages[0][0]"]);
    assert!(
        r.body["usage"]["cache_creation_input_tokens"]
            .as_u64()
            .unwrap()
            >= 1024
    );
    let expected = {
        let u = &r.body["usage"];
        let n = |k: &str| u[k].as_f64().unwrap();
        (n("input_tokens") * PRICE.input
            + n("cache_read_input_tokens") * PRICE.cache_read.unwrap()
            + n("cache_creation_input_tokens") * PRICE.cache_write.unwrap()
            + n("output_tokens") * PRICE.output)
            / 1e6
    };
    let cost = r.body["usage"]["cost"].as_f64().unwrap();
    assert!(
        (cost - expected).abs() < 1e-9,
        "{cost} vs {}",
        r.body["usage"]
    );

    // The request's own `false` wins over the key's default.
    let mut off = body.clone();
    off["requesty"] = json!({"auto_cache": false});
    assert_eq!(send(off).await.status, StatusCode::OK);
    assert_eq!(marks(&g.anthropic.requests()[1].body), Vec::<String>::new());

    // A client that places its own breakpoint is left to its own caching: exactly its mark goes out.
    let mut own = body.clone();
    own["messages"][2]["content"][0]["cache_control"] = json!({"type": "ephemeral"});
    assert_eq!(send(own).await.status, StatusCode::OK);
    assert_eq!(marks(&g.anthropic.requests()[2].body), ["messages[2][0]"]);

    // Five breakpoints are Anthropic's 400, passed on as the client's own error.
    let mut five = body.clone();
    five["tools"][0]["cache_control"] = json!({"type": "ephemeral"});
    five["tools"][1]["cache_control"] = json!({"type": "ephemeral"});
    five["system"] = json!([{"type": "text", "text": "a", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "b", "cache_control": {"type": "ephemeral"}}]);
    five["messages"][2]["content"][0]["cache_control"] = json!({"type": "ephemeral"});
    let r = send(five).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("A maximum of 4 blocks"), "{}", r.text);
}

async fn the_orgs_default_applies_when_key_and_request_are_silent(kind: Backend) {
    let g = gateway(kind, &[Provider::Anthropic], &[]).await;
    let other = gateway(kind, &[Provider::Anthropic], &[]).await;
    orgs::update_settings(
        g.backend.store.as_ref(),
        &g.org.org_id,
        None,
        Some(Some(true)),
    )
    .await
    .unwrap();
    // The org's default turns it on for a request and key that do not say.
    let r = g.post("/v1/chat/completions", conversation(None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        marks(&g.anthropic.requests()[0].body),
        ["system[0]", "messages[0][0]"]
    );
    // The request's own false wins over the org's default.
    let r = g
        .post("/v1/chat/completions", conversation(Some(false)))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(marks(&g.anthropic.requests()[1].body).is_empty());
    // Another org's default is its own (unset: off).
    let r = other.post("/v1/chat/completions", conversation(None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(marks(&other.anthropic.requests()[0].body).is_empty());
}

async fn streamed_answers_carry_cache_usage_and_its_cost(kind: Backend) {
    let g = gateway(kind, &[Provider::Anthropic], &[]).await;
    priced(&g).await;
    let mut body = conversation(Some(true));
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let mut seen = Vec::new();
    for _ in 0..2 {
        let r = g.post("/v1/chat/completions", body.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let usage = sse_data(&r.text)
            .iter()
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .find_map(|c| c.get("usage").filter(|u| !u.is_null()).cloned())
            .unwrap_or_else(|| panic!("no usage chunk: {}", r.text));
        let cost = usage["cost"].as_f64().unwrap();
        assert!((cost - cost_of(&usage)).abs() < 1e-9, "{cost} vs {usage}");
        seen.push(usage);
    }
    assert_eq!(
        marks(&g.anthropic.requests()[0].body),
        ["system[0]", "messages[0][0]"]
    );
    let written = seen[0]["prompt_tokens_details"]["cache_write_tokens"]
        .as_u64()
        .unwrap_or(0);
    assert!(written >= 1024, "{}", seen[0]);
    assert_eq!(
        seen[1]["prompt_tokens_details"]["cached_tokens"].as_u64(),
        Some(written),
        "{}",
        seen[1]
    );
}
