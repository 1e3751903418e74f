//! Object-level authorisation across the merged server: org B's admin key against every route that names
//! one of org A's resources gets 404 (existence does not leak), never data, never a change. Plus the body
//! size limit on every route.

use axum::http::{Method, StatusCode};
use byok_testkit::http::{assert_error, assert_error_at, call};
use byok_testkit::{Backend, TestBackend, fixtures};
use serde_json::{Value, json};

byok_testkit::on_both_backends!(org_b_cannot_reach_org_a, oversized_bodies_get_413);

async fn app(backend: &TestBackend) -> axum::Router {
    byok_cli::server::app(backend.state(|c| c.max_body_bytes = 64 * 1024))
}

async fn org_b_cannot_reach_org_a(kind: Backend) {
    let backend = TestBackend::new(kind).await;
    let app = app(&backend).await;
    let a = fixtures::org(backend.store.as_ref(), "A").await;
    let b = fixtures::org(backend.store.as_ref(), "B").await;
    let admin_a = Some(a.admin.as_str());
    let created = call(
        &app,
        Method::POST,
        "/v1/byok",
        admin_a,
        Some(json!({"provider": "openai", "api_key": "sk-org-a-secret"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let policy = json!({"name": "main", "type": "fallback", "steps": [{"model": "openai/gpt-4.1-mini", "key_source": "own"}]});
    assert_eq!(
        call(&app, Method::POST, "/v1/policies", admin_a, Some(policy))
            .await
            .status,
        StatusCode::CREATED
    );
    let key = call(
        &app,
        Method::POST,
        "/v1/manage/apikey",
        admin_a,
        Some(json!({"name": "app", "permissions": {"completions": "write"}})),
    )
    .await;
    let key_id = key.body["api_key_id"].as_str().unwrap().to_owned();
    // A request of org A's, in its request log (refused before any provider call).
    let logged = call(
        &app,
        Method::POST,
        "/v1/chat/completions",
        admin_a,
        Some(json!({"model": "policy/absent", "messages": [{"role": "user", "content": "Hi"}]})),
    )
    .await;
    assert_eq!(logged.status, StatusCode::NOT_FOUND, "{}", logged.text);
    let request_id = logged.headers["x-request-id"].to_str().unwrap().to_owned();
    let log = call(
        &app,
        Method::GET,
        &format!("/v1/manage/logs/{request_id}"),
        admin_a,
        None,
    )
    .await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text);

    let before = snapshot(&app, &a.admin, &key_id).await;
    let requests: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/v1/byok/openai".into(), None),
        (
            Method::PUT,
            "/v1/byok/openai".into(),
            Some(json!({"api_key": "sk-hijack"})),
        ),
        (Method::DELETE, "/v1/byok/openai".into(), None),
        (Method::GET, "/v1/policies/main".into(), None),
        (
            Method::PUT,
            "/v1/policies/main".into(),
            Some(json!({"type": "fallback", "steps": [{"model": "xai/grok-4"}], "version": 1})),
        ),
        (Method::DELETE, "/v1/policies/main".into(), None),
        (
            Method::POST,
            "/v1/policies/main/explain".into(),
            Some(json!({})),
        ),
        (Method::GET, format!("/v1/manage/apikey/{key_id}"), None),
        (Method::GET, format!("/v1/manage/logs/{request_id}"), None),
        (
            Method::POST,
            format!("/v1/manage/apikey/{key_id}/limit"),
            Some(json!({"monthly_limit": 1})),
        ),
        (
            Method::GET,
            format!("/v1/manage/apikey/{key_id}/usage?start=2026-01-01T00:00:00Z"),
            None,
        ),
        (
            Method::PATCH,
            format!("/v1/manage/apikey/{key_id}"),
            Some(json!({"name": "taken over"})),
        ),
        (Method::DELETE, format!("/v1/manage/apikey/{key_id}"), None),
        (Method::POST, "/v1/byok/openai/verify".into(), None),
        (
            Method::POST,
            "/v1/chat/completions".into(),
            Some(json!({"model": "policy/main", "messages": []})),
        ),
        (
            Method::POST,
            "/v1/messages".into(),
            Some(json!({"model": "policy/main", "max_tokens": 8, "messages": []})),
        ),
        (
            Method::POST,
            "/v1/embeddings".into(),
            Some(json!({"model": "policy/main", "input": ["x"]})),
        ),
    ];
    for (method, path, body) in requests {
        let r = call(&app, method.clone(), &path, Some(&b.admin), body).await;
        assert_error_at(&path, &r, StatusCode::NOT_FOUND);
        assert!(
            !r.text.contains(&a.org_id) && !r.text.contains("sk-org-a"),
            "{method} {path} leaked: {}",
            r.text
        );
    }
    // Lists are scoped too.
    for path in [
        "/v1/byok",
        "/v1/policies",
        "/v1/manage/apikey",
        "/v1/byok/audit",
        "/v1/manage/org/usage?start=2026-01-01T00:00:00Z",
        "/v1/models",
    ] {
        let r = call(&app, Method::GET, path, Some(&b.admin), None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(
            !r.text.contains(&a.org_id)
                && !r.text.contains(&key_id)
                && !r.text.contains("\"main\""),
            "{path} leaked: {}",
            r.text
        );
    }
    // B's request log holds B's requests (those just refused), none of A's.
    let r = call(
        &app,
        Method::GET,
        "/v1/manage/logs?limit=200",
        Some(&b.admin),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        !r.text.contains(&request_id)
            && !r.text.contains(&a.admin_key_id)
            && !r.text.contains("policy/absent"),
        "/v1/manage/logs leaked: {}",
        r.text
    );
    assert!(
        !r.body["data"].as_array().unwrap().is_empty(),
        "B's own requests are logged"
    );
    assert_eq!(
        snapshot(&app, &a.admin, &key_id).await,
        before,
        "org A's resources changed"
    );
}

/// Org A's resources as A sees them.
async fn snapshot(app: &axum::Router, admin: &str, key_id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for path in [
        "/v1/byok/openai".to_owned(),
        "/v1/policies/main".to_owned(),
        format!("/v1/manage/apikey/{key_id}"),
    ] {
        let r = call(app, Method::GET, &path, Some(admin), None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        out.push(r.body);
    }
    out
}

async fn oversized_bodies_get_413(kind: Backend) {
    let backend = TestBackend::new(kind).await;
    let app = app(&backend).await;
    let a = fixtures::org(backend.store.as_ref(), "A").await;
    let huge = json!({"provider": "openai", "api_key": "k", "label": "x".repeat(128 * 1024)});
    for path in ["/v1/byok", "/v1/policies", "/v1/manage/apikey"] {
        let r = call(&app, Method::POST, path, Some(&a.admin), Some(huge.clone())).await;
        assert_error(&r, StatusCode::PAYLOAD_TOO_LARGE);
    }
    assert_eq!(
        call(&app, Method::GET, "/v1/byok", Some(&a.admin), None)
            .await
            .body["data"],
        json!([])
    );
}
