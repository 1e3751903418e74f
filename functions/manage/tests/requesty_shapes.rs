//! Requesty's management API, written from the examples of its API reference (docs.requesty.ai,
//! `api-reference/endpoint/manage-api-key-*`, `manage-org-*`; quoted in docs/requesty.md), body for body,
//! against the manage function's router, on both backends.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use byok_shared::domain::usage::UsageEvent;
use byok_shared::repo::usage;
use byok_testkit::http::{assert_error, call, send};
use byok_testkit::{Backend, TestBackend, fixtures};
use serde_json::{Value, json};

byok_testkit::on_both_backends!(
    create_with_the_docs_body_and_default_permissions,
    older_put_create,
    list_get_and_self,
    update_limit_is_204,
    usage_as_a_json_body_on_get_and_as_query,
    usage_window_rules,
    org_get_and_org_usage,
    own_and_platform_spend_are_reported_apart,
);

struct Setup {
    backend: TestBackend,
    app: axum::Router,
    org: fixtures::TestOrg,
}

async fn setup(kind: Backend) -> Setup {
    let backend = TestBackend::new(kind).await;
    let app = byok_manage::router(backend.state(|_| {}));
    let org = fixtures::org(backend.store.as_ref(), "Acme").await;
    Setup { backend, app, org }
}

/// A GET with a JSON body, as Requesty's curl examples send it (`--request GET --data '{...}'`).
async fn get_with_body(
    app: &axum::Router,
    path: &str,
    key: &str,
    body: Value,
) -> byok_testkit::http::Response {
    let request = Request::builder()
        .method(Method::GET)
        .uri(path)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    send(app, request).await
}

fn keys_of(r: &Value) -> Vec<String> {
    let mut keys: Vec<String> = r.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

async fn create_with_the_docs_body_and_default_permissions(kind: Backend) {
    let Setup { app, org, .. } = setup(kind).await;
    // manage-api-key-create: `{"name": "<string>", "monthly_limit": 123}` → 201 `{api_key_id, api_key}`.
    let r = call(
        &app,
        Method::POST,
        "/v1/manage/apikey",
        Some(&org.admin),
        Some(json!({"name": "<string>", "monthly_limit": 123})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(keys_of(&r.body), ["api_key", "api_key_id"]);
    let id = r.body["api_key_id"].as_str().unwrap();
    let got = call(
        &app,
        Method::GET,
        &format!("/v1/manage/apikey/{id}"),
        Some(&org.admin),
        None,
    )
    .await;
    assert_eq!(
        got.body["permissions"],
        json!({"manage": "none", "completions": "write"}),
        "Requesty's default permissions"
    );
    assert_eq!(got.body["monthly_limit"], 123.0);
    // The same page's fuller example, with permissions.
    let r = call(
        &app,
        Method::POST,
        "/v1/manage/apikey",
        Some(&org.admin),
        Some(json!({"name": "<string>", "monthly_limit": 123, "permissions": {"manage": "none", "completions": "none"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // The new key works: it can read itself.
    let secret = r.body["api_key"].as_str().unwrap();
    let me = call(
        &app,
        Method::GET,
        "/v1/manage/apikey/self",
        Some(secret),
        None,
    )
    .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["id"], r.body["api_key_id"]);
}

async fn older_put_create(kind: Backend) {
    let Setup { app, org, .. } = setup(kind).await;
    // create-api-key (PUT /manage/apikey): name, monthly_limit, permissions → 201.
    let r = call(
        &app,
        Method::PUT,
        "/v1/manage/apikey",
        Some(&org.admin),
        Some(json!({"name": "<string>", "monthly_limit": 123, "permissions": {"manage": "none", "completions": "write"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(keys_of(&r.body), ["api_key", "api_key_id"]);
    assert!(r.body["api_key"].as_str().unwrap().starts_with("bgk_"));
}

async fn list_get_and_self(kind: Backend) {
    let Setup { app, org, .. } = setup(kind).await;
    let r = call(
        &app,
        Method::POST,
        "/v1/manage/apikey",
        Some(&org.admin),
        Some(json!({"name": "app", "monthly_limit": 5, "labels": {"team": "red"}})),
    )
    .await;
    let (id, secret) = (
        r.body["api_key_id"].as_str().unwrap().to_owned(),
        r.body["api_key"].as_str().unwrap().to_owned(),
    );
    // manage-api-key-list: `{"keys": [{"id", "name", "monthly_limit", "monthly_spend", "permissions",
    // "labels", "created_by": {"id", "email"}}]}`.
    let list = call(
        &app,
        Method::GET,
        "/v1/manage/apikey",
        Some(&org.admin),
        None,
    )
    .await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(keys_of(&list.body), ["keys"]);
    let keys = list.body["keys"].as_array().unwrap();
    let app_key = keys.iter().find(|k| k["id"] == id.as_str()).unwrap();
    for field in [
        "id",
        "name",
        "monthly_limit",
        "monthly_spend",
        "permissions",
        "labels",
        "created_by",
    ] {
        assert!(app_key.get(field).is_some(), "{field} missing: {app_key}");
    }
    assert_eq!(app_key["labels"], json!({"team": "red"}));
    assert_eq!(app_key["created_by"]["id"], org.admin_key_id.as_str());
    assert!(app_key["monthly_spend"].is_number() && app_key["monthly_limit"] == 5.0);
    // manage-api-key-get: `{"id", "name", "logging", "monthly_spend", "monthly_limit", "permissions"}`;
    // `self` names the calling key, readable by any key (this one has manage: none).
    for (path, key) in [
        (format!("/v1/manage/apikey/{id}"), org.admin.as_str()),
        ("/v1/manage/apikey/self".to_owned(), secret.as_str()),
        (format!("/v1/manage/apikey/{id}"), secret.as_str()),
    ] {
        let got = call(&app, Method::GET, &path, Some(key), None).await;
        assert_eq!(got.status, StatusCode::OK, "{path}: {}", got.text);
        for field in [
            "id",
            "name",
            "logging",
            "monthly_spend",
            "monthly_limit",
            "permissions",
        ] {
            assert!(
                got.body.get(field).is_some(),
                "{field} missing: {}",
                got.text
            );
        }
        assert_eq!(got.body["id"], id.as_str());
        assert_eq!(got.body["logging"], false);
    }
    // Without manage:read, another key stays closed.
    assert_error(
        &call(
            &app,
            Method::GET,
            &format!("/v1/manage/apikey/{}", org.admin_key_id),
            Some(&secret),
            None,
        )
        .await,
        StatusCode::FORBIDDEN,
    );
}

async fn update_limit_is_204(kind: Backend) {
    let Setup { app, org, .. } = setup(kind).await;
    let r = call(
        &app,
        Method::POST,
        "/v1/manage/apikey",
        Some(&org.admin),
        Some(json!({"name": "app", "monthly_limit": 5})),
    )
    .await;
    let id = r.body["api_key_id"].as_str().unwrap();
    // manage-api-key-update-limit: `{"monthly_limit": 123}` → 204, no body.
    let r = call(
        &app,
        Method::POST,
        &format!("/v1/manage/apikey/{id}/limit"),
        Some(&org.admin),
        Some(json!({"monthly_limit": 123})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.text.is_empty());
    let got = call(
        &app,
        Method::GET,
        &format!("/v1/manage/apikey/{id}"),
        Some(&org.admin),
        None,
    )
    .await;
    assert_eq!(got.body["monthly_limit"], 123.0);
}

fn event(at: &str, key: &str, user: &str, model_requested: &str) -> UsageEvent {
    UsageEvent {
        at: at.parse().unwrap(),
        api_key_id: key.into(),
        provider: "openai".into(),
        model: "gpt-4.1-mini".into(),
        model_requested: model_requested.into(),
        is_byok: true,
        user_id: Some(user.into()),
        origin_title: Some("My App".into()),
        extra: [("team".to_owned(), "red".to_owned())].into(),
        input_tokens: 10,
        output_tokens: 2,
        cached_tokens: 0,
        reasoning_tokens: 0,
        cache_write_tokens: 0,
        cost: Some(0.25),
        error: false,
    }
}

async fn usage_as_a_json_body_on_get_and_as_query(kind: Backend) {
    let Setup { backend, app, org } = setup(kind).await;
    let r = call(
        &app,
        Method::POST,
        "/v1/manage/apikey",
        Some(&org.admin),
        Some(json!({"name": "app", "monthly_limit": 5})),
    )
    .await;
    let id = r.body["api_key_id"].as_str().unwrap().to_owned();
    for e in [
        event("2025-01-01T10:00:00Z", &id, "u1", "policy/main"),
        event("2025-01-01T11:00:00Z", &id, "u2", "policy/main"),
        event("2025-01-02T09:00:00Z", &id, "u1", "openai/gpt-4.1-mini"),
    ] {
        usage::record(backend.store.as_ref(), &org.org_id, &e)
            .await
            .unwrap();
    }
    // manage-api-key-get-usage, the docs' body: start, end, group_by, resolution.
    let body = json!({
        "start": "2025-01-01T00:00:00Z",
        "end": "2025-01-31T23:59:59Z",
        "group_by": ["user_id"],
        "resolution": "day"
    });
    let path = format!("/v1/manage/apikey/{id}/usage");
    let r = get_with_body(&app, &path, &org.admin, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let usage = r.body["usage"]
        .as_object()
        .expect("{\"usage\": {<period>: <entry>}}");
    assert_eq!(
        usage.keys().collect::<Vec<_>>(),
        ["2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z"]
    );
    let day1 = &usage["2025-01-01T00:00:00Z"];
    assert_eq!(
        (day1["requests"].clone(), day1["spend"].clone()),
        (json!(2), json!(0.5))
    );
    let users: Vec<Value> = day1["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["user_id"].clone())
        .collect();
    assert_eq!(users, [json!("u1"), json!("u2")]);
    // The same request as query parameters answers the same.
    let q = call(&app, Method::GET,
        &format!("{path}?start=2025-01-01T00:00:00Z&end=2025-01-31T23:59:59Z&group_by=user_id&resolution=day"),
        Some(&org.admin), None).await;
    assert_eq!(q.body["usage"], r.body["usage"]);
    // Combined dimensions; `group_by` repeated as Requesty's "can be specified multiple times".
    let q = call(&app, Method::GET,
        &format!("{path}?start=2025-01-01T00:00:00Z&end=2025-01-03T00:00:00Z&resolution=month&group_by=model_requested&group_by=extra.team"),
        Some(&org.admin), None).await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.text);
    let groups: Vec<(Value, Value, i64)> = q.body["usage"]["2025-01-01T00:00:00Z"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["model_requested"].clone(),
                g["extra.team"].clone(),
                g["requests"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            (json!("openai/gpt-4.1-mini"), json!("red"), 1),
            (json!("policy/main"), json!("red"), 2)
        ]
    );
    // Body and query together are ambiguous: 400 in the OpenAI error shape.
    let both = get_with_body(
        &app,
        &format!("{path}?resolution=day"),
        &org.admin,
        json!({"start": "2025-01-01T00:00:00Z"}),
    )
    .await;
    assert_error(&both, StatusCode::BAD_REQUEST);
}

async fn usage_window_rules(kind: Backend) {
    let Setup { app, org, .. } = setup(kind).await;
    let path = "/v1/manage/org/usage";
    let cases = [
        (json!({}), "start is required"),
        (json!({"start": "2025-01-01"}), "RFC3339 only"),
        (
            json!({"start": "2025-01-01T00:00:00Z", "end": "2025-04-11T00:00:01Z"}),
            "over 100 days",
        ),
        (
            json!({"start": "2025-01-02T00:00:00Z", "end": "2025-01-01T00:00:00Z"}),
            "end before start",
        ),
        (
            json!({"start": "2025-01-01T00:00:00Z", "resolution": "week"}),
            "unknown resolution",
        ),
        (
            json!({"start": "2025-01-01T00:00:00Z", "group_by": ["colour"]}),
            "unknown dimension",
        ),
        (
            json!({"start": "2025-01-01T00:00:00Z", "colour": 1}),
            "unknown field",
        ),
    ];
    for (body, why) in cases {
        let r = get_with_body(&app, path, &org.admin, body).await;
        assert_error(&r, StatusCode::BAD_REQUEST);
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{why}");
    }
    let ok = get_with_body(
        &app,
        path,
        &org.admin,
        json!({"start": "2025-01-01T00:00:00Z", "end": "2025-04-11T00:00:00Z"}),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "exactly 100 days: {}", ok.text);
    assert_eq!(ok.body["usage"], json!({}));
}

async fn org_get_and_org_usage(kind: Backend) {
    let Setup { backend, app, org } = setup(kind).await;
    // manage-org-get: the organisation's name and balance.
    let r = call(&app, Method::GET, "/v1/manage/org", Some(&org.admin), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["id"], org.org_id.as_str());
    assert_eq!(r.body["name"], "Acme");
    assert!(r.body.get("balance").is_some());
    usage::record(
        backend.store.as_ref(),
        &org.org_id,
        &event(
            "2025-01-01T10:00:00Z",
            &org.admin_key_id,
            "u1",
            "policy/main",
        ),
    )
    .await
    .unwrap();
    // manage-org-get-usage: every documented dimension is accepted, alone and together.
    let dims = [
        "user_id",
        "api_key_id",
        "model_requested",
        "model_used",
        "provider_used",
        "is_byok",
        "origin_title",
        "extra.team",
    ];
    let expected = [
        json!("u1"),
        json!(org.admin_key_id),
        json!("policy/main"),
        json!("openai/gpt-4.1-mini"),
        json!("openai"),
        json!(true),
        json!("My App"),
        json!("red"),
    ];
    for (dim, value) in dims.iter().zip(&expected) {
        let r = call(
            &app,
            Method::GET,
            &format!("/v1/manage/org/usage?start=2025-01-01T00:00:00Z&group_by={dim}"),
            Some(&org.admin),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{dim}: {}", r.text);
        assert_eq!(
            &r.body["usage"]["2025-01-01T00:00:00Z"]["groups"][0][dim], value,
            "{dim}"
        );
    }
    let all = get_with_body(
        &app,
        "/v1/manage/org/usage",
        &org.admin,
        json!({"start": "2025-01-01T00:00:00Z", "group_by": dims}),
    )
    .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    let group = &all.body["usage"]["2025-01-01T00:00:00Z"]["groups"][0];
    for (dim, value) in dims.iter().zip(&expected) {
        assert_eq!(&group[dim], value, "{dim} combined");
    }
}

/// Spend on the org's own provider keys and on the operator's platform keys, apart: in the org's month
/// (`GET /v1/manage/org`) and in every usage entry and group (`own_spend`, `platform_spend` beside `spend`).
async fn own_and_platform_spend_are_reported_apart(kind: Backend) {
    let Setup { backend, app, org } = setup(kind).await;
    let now = chrono::Utc::now().to_rfc3339();
    let own = event(&now, &org.admin_key_id, "u1", "openai/gpt-4.1-mini");
    let mut platform = own.clone();
    platform.is_byok = false;
    platform.cost = Some(0.75);
    for e in [&own, &platform, &platform] {
        usage::record(backend.store.as_ref(), &org.org_id, e)
            .await
            .unwrap();
    }
    let r = call(&app, Method::GET, "/v1/manage/org", Some(&org.admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["monthly_spend"], 1.75);
    assert_eq!(r.body["monthly_spend_own"], 0.25);
    assert_eq!(r.body["monthly_spend_platform"], 1.5);
    // The suites' operator lends platform keys to every org (testkit's default); no limit of its own.
    assert_eq!(
        r.body["platform_keys"],
        json!({"enabled": true, "monthly_limit": 0.0})
    );

    let start = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let body = json!({"start": start, "resolution": "month", "group_by": ["is_byok"]});
    let r = get_with_body(&app, "/v1/manage/org/usage", &org.admin, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let usage = r.body["usage"].as_object().unwrap();
    assert_eq!(usage.len(), 1, "{}", r.text);
    let entry = usage.values().next().unwrap();
    assert_eq!(
        (
            entry["spend"].clone(),
            entry["own_spend"].clone(),
            entry["platform_spend"].clone()
        ),
        (json!(1.75), json!(0.25), json!(1.5))
    );
    for group in entry["groups"].as_array().unwrap() {
        let expected = if group["is_byok"] == true {
            (json!(0.25), json!(0.25), json!(0.0))
        } else {
            (json!(1.5), json!(0.0), json!(1.5))
        };
        assert_eq!(
            (
                group["spend"].clone(),
                group["own_spend"].clone(),
                group["platform_spend"].clone()
            ),
            expected,
            "{group}"
        );
    }
}
