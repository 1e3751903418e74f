//! Requesty's request metadata (issue 17): the `requesty` / `byok` extension object and the
//! `X-Requesty-*`, `X-Title`, `HTTP-Referer` headers are read, bounded, stripped before the provider (the
//! mock records every header and body it receives) and stored with the usage as group-by dimensions; a
//! key's default model answers model `default` or none. On both backends.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use byok_shared::domain::permissions::{Completions, Manage, Permissions};
use byok_shared::domain::provider::Provider;
use byok_shared::domain::usage::{GroupBy, Resolution};
use byok_shared::repo::apikeys::{self, NewKey};
use byok_shared::repo::usage::{self, UsageQuery};
use byok_testkit::Backend;
use byok_testkit::http::{Response, assert_error, send};
use common::*;
use serde_json::{Value, json};

byok_testkit::on_both_backends!(
    metadata_is_stripped_and_recorded,
    metadata_past_its_bounds_is_a_400,
    the_keys_default_model,
);

async fn post(
    g: &Gateway,
    path: &str,
    key: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> Response {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    send(&g.app, builder.body(Body::from(body.to_string())).unwrap()).await
}

fn gateway_only(name: &str) -> bool {
    name.starts_with("x-requesty-") || name == "x-title" || name == "http-referer"
}

async fn metadata_is_stripped_and_recorded(kind: Backend) {
    let g = gateway(kind, &[Provider::OpenAi, Provider::Anthropic], &[]).await;
    let headers = [
        ("X-Requesty-Team", "red"),
        ("x-requesty-feature", "search"),
        ("X-Title", "Checkout"),
        ("HTTP-Referer", "https://checkout.example.com/cart"),
    ];
    let chat = json!({"model": "openai/gpt-4.1-mini", "messages": [{"role": "user", "content": "Hi"}],
        "requesty": {"tags": ["a"], "user_id": "u1", "trace_id": "t1", "extra": {"plan": "pro"}}});
    let r = post(&g, "/v1/chat/completions", &g.org.admin, &headers, chat).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let messages = json!({"model": "anthropic/claude-sonnet-4-5", "max_tokens": 16,
        "messages": [{"role": "user", "content": "Hi"}], "byok": {"user_id": "u2", "extra": {"plan": "free"}}});
    let r = post(&g, "/v1/messages", &g.org.admin, &headers[..2], messages).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let embed = json!({"model": "openai/text-embedding-3-small", "input": ["x"], "requesty": {"user_id": "u3"}});
    let r = post(&g, "/v1/embeddings", &g.org.admin, &headers, embed).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for mock in [&g.openai, &g.anthropic] {
        for seen in mock.requests() {
            assert!(
                seen.body.get("requesty").is_none() && seen.body.get("byok").is_none(),
                "{:?}",
                seen.body
            );
            let leaked: Vec<&String> = seen.headers.keys().filter(|h| gateway_only(h)).collect();
            assert!(leaked.is_empty(), "forwarded: {leaked:?}");
        }
    }
    let now = chrono::Utc::now();
    let dims = [
        GroupBy::ModelRequested,
        GroupBy::UserId,
        GroupBy::OriginTitle,
        GroupBy::Extra("team".into()),
        GroupBy::Extra("plan".into()),
    ];
    let q = UsageQuery {
        start: now - chrono::Duration::hours(1),
        end: now + chrono::Duration::hours(1),
        resolution: Resolution::Month,
        group_by: &dims,
        api_key_id: None,
    };
    let rows = usage::query(g.backend.store.as_ref(), &g.org.org_id, &q)
        .await
        .unwrap();
    let mut got: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!([
                r.group["model_requested"],
                r.group["user_id"],
                r.group["origin_title"],
                r.group["extra.team"],
                r.group["extra.plan"],
                r.requests
            ])
        })
        .collect();
    got.sort_by_key(|v| v.to_string());
    assert_eq!(
        got,
        [
            json!(["anthropic/claude-sonnet-4-5", "u2", null, "red", "free", 1]),
            json!(["openai/gpt-4.1-mini", "u1", "Checkout", "red", "pro", 1]),
            json!([
                "openai/text-embedding-3-small",
                "u3",
                "Checkout",
                "red",
                null,
                1
            ]),
        ]
    );
}

async fn metadata_past_its_bounds_is_a_400(kind: Backend) {
    let g = gateway(kind, &[Provider::OpenAi], &[]).await;
    let chat =
        || json!({"model": "openai/gpt-4.1-mini", "messages": [{"role": "user", "content": "Hi"}]});
    let names: Vec<String> = (0..17).map(|i| format!("x-requesty-f{i}")).collect();
    let many: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
    let long = "v".repeat(257);
    let title = "t".repeat(129);
    for headers in [
        many,
        vec![("x-requesty-team", long.as_str())],
        vec![("x-title", title.as_str())],
    ] {
        let r = post(&g, "/v1/chat/completions", &g.org.admin, &headers, chat()).await;
        assert_error(&r, StatusCode::BAD_REQUEST);
    }
    let mut both = chat();
    both["requesty"] = json!({});
    both["byok"] = json!({});
    assert_error(
        &post(&g, "/v1/chat/completions", &g.org.admin, &[], both).await,
        StatusCode::BAD_REQUEST,
    );
    assert!(
        g.openai.requests().is_empty(),
        "nothing reached the provider"
    );
}

async fn the_keys_default_model(kind: Backend) {
    let g = gateway(kind, &[Provider::OpenAi, Provider::Anthropic], &[]).await;
    g.policy(json!({"name": "main", "type": "fallback", "steps": [{"model": "anthropic/claude-sonnet-4-5", "key_source": "own"}]}))
        .await;
    let key = |default: Option<&str>| {
        let new = NewKey {
            name: "app".into(),
            permissions: Permissions {
                manage: Manage::None,
                completions: Completions::Write,
            },
            monthly_limit: 0.0,
            allowed_models: vec!["policy/main".into()],
            expires_at: None,
            labels: Default::default(),
            default_model: default.map(str::to_owned),
            auto_cache: None,
            rate_limits: Default::default(),
            logging: false,
        };
        let store = g.backend.store.clone();
        let org = g.org.org_id.clone();
        async move {
            apikeys::create(store.as_ref(), &org, new, None)
                .await
                .unwrap()
                .1
                .expose()
                .to_owned()
        }
    };
    let with = key(Some("policy/main")).await;
    for body in [
        json!({"model": "default", "messages": [{"role": "user", "content": "Hi"}]}),
        json!({"messages": [{"role": "user", "content": "Hi"}]}),
    ] {
        let r = post(&g, "/v1/chat/completions", &with, &[], body.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{body}: {}", r.text);
        assert_eq!(r.body["model"], "anthropic/claude-sonnet-4-5");
    }
    assert_eq!(g.anthropic.requests().len(), 2);
    // The allow-list still applies to what was named.
    let r = post(
        &g,
        "/v1/chat/completions",
        &with,
        &[],
        json!({"model": "openai/gpt-4.1-mini", "messages": [{"role": "user", "content": "Hi"}]}),
    )
    .await;
    assert_error(&r, StatusCode::FORBIDDEN);
    let without = key(None).await;
    let r = post(
        &g,
        "/v1/chat/completions",
        &without,
        &[],
        json!({"model": "default", "messages": []}),
    )
    .await;
    assert_eq!(assert_error(&r, StatusCode::BAD_REQUEST)["param"], "model");
}
