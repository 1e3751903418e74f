//! API-key management through the manage function's router, on both backends.

use axum::http::{Method, StatusCode};
use byok_shared::domain::permissions::{Completions, Manage};
use byok_shared::domain::usage::UsageEvent;
use byok_shared::repo::usage;
use byok_testkit::http::{assert_error, call};
use byok_testkit::{Backend, TestBackend, fixtures};
use serde_json::{Value, json};

byok_testkit::on_both_backends!(
    permission_matrix,
    secret_is_shown_once_and_works,
    no_escalation,
    last_admin_cannot_be_deleted_even_concurrently,
    deleted_and_expired_keys_get_401,
    limits_and_validation,
    usage_is_exact_grouped_and_windowed,
    other_orgs_see_404,
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

fn new_key(manage: &str, completions: &str) -> Value {
    json!({ "name": "app", "monthly_limit": 10, "permissions": { "manage": manage, "completions": completions } })
}

async fn create(app: &axum::Router, by: &str, body: Value) -> (String, String) {
    let r = call(app, Method::POST, "/v1/manage/apikey", Some(by), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    (
        r.body["api_key_id"].as_str().unwrap().to_owned(),
        r.body["api_key"].as_str().unwrap().to_owned(),
    )
}

async fn permission_matrix(kind: Backend) {
    let Setup { backend, app, org } = setup(kind).await;
    // A target no wider than any manage:write key, so only the permission decides.
    let (target, _) = create(&app, &org.admin, new_key("none", "none")).await;
    let combos = [
        (Manage::None, Completions::None),
        (Manage::None, Completions::Write),
        (Manage::Read, Completions::None),
        (Manage::Read, Completions::Write),
        (Manage::Write, Completions::None),
        (Manage::Write, Completions::Write),
    ];
    for (manage, completions) in combos {
        let key = fixtures::key(backend.store.as_ref(), &org.org_id, manage, completions).await;
        let reads = [
            (Method::GET, "/v1/manage/org".to_owned()),
            (
                Method::GET,
                "/v1/manage/org/usage?start=2026-11-01T00:00:00Z".to_owned(),
            ),
            (Method::GET, "/v1/manage/apikey".to_owned()),
            (Method::GET, format!("/v1/manage/apikey/{target}")),
            (
                Method::GET,
                format!("/v1/manage/apikey/{target}/usage?start=2026-11-01T00:00:00Z"),
            ),
        ];
        for (method, path) in reads {
            let r = call(&app, method, &path, Some(&key), None).await;
            let expected = if manage >= Manage::Read {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(
                r.status, expected,
                "{manage:?}/{completions:?} {path}: {}",
                r.text
            );
        }
        let limit = call(
            &app,
            Method::POST,
            &format!("/v1/manage/apikey/{target}/limit"),
            Some(&key),
            Some(json!({"monthly_limit": 5})),
        )
        .await;
        let created = call(
            &app,
            Method::POST,
            "/v1/manage/apikey",
            Some(&key),
            Some(new_key("none", "none")),
        )
        .await;
        let write_expected = if manage == Manage::Write {
            [StatusCode::NO_CONTENT, StatusCode::CREATED]
        } else {
            [StatusCode::FORBIDDEN; 2]
        };
        assert_eq!(
            [limit.status, created.status],
            write_expected,
            "{manage:?}/{completions:?}"
        );
    }
    // Deletion last: only manage:write may delete.
    let reader = fixtures::key(
        backend.store.as_ref(),
        &org.org_id,
        Manage::Read,
        Completions::Write,
    )
    .await;
    assert_error(
        &call(
            &app,
            Method::DELETE,
            &format!("/v1/manage/apikey/{target}"),
            Some(&reader),
            None,
        )
        .await,
        StatusCode::FORBIDDEN,
    );
    assert_eq!(
        call(
            &app,
            Method::DELETE,
            &format!("/v1/manage/apikey/{target}"),
            Some(&org.admin),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &call(&app, Method::GET, "/v1/manage/org", None, None).await,
        StatusCode::UNAUTHORIZED,
    );
}

async fn secret_is_shown_once_and_works(kind: Backend) {
    let Setup { app, org, .. } = setup(kind).await;
    let (id, secret) = create(&app, &org.admin, json!({
        "name": "reporting", "monthly_limit": 25.5, "permissions": {"manage": "read", "completions": "none"},
        "allowed_models": ["openai/gpt-4.1-mini", "policy/cheap", "anthropic/*"]
    })).await;
    assert!(secret.starts_with("bgk_") && secret.len() == 68, "{secret}");
    let one = call(
        &app,
        Method::GET,
        &format!("/v1/manage/apikey/{id}"),
        Some(&org.admin),
        None,
    )
    .await;
    assert_eq!(one.body["name"], "reporting");
    assert_eq!(one.body["monthly_limit"], 25.5);
    assert_eq!(one.body["monthly_spend"], 0.0);
    assert_eq!(
        one.body["permissions"],
        json!({"manage": "read", "completions": "none"})
    );
    assert_eq!(
        one.body["allowed_models"],
        json!(["openai/gpt-4.1-mini", "policy/cheap", "anthropic/*"])
    );
    assert_eq!(
        one.body["created_by"],
        json!({"id": org.admin_key_id, "email": null})
    );
    assert_eq!(
        (one.body["id"].clone(), one.body["logging"].clone()),
        (json!(id), json!(false))
    );
    let listed = call(
        &app,
        Method::GET,
        "/v1/manage/apikey",
        Some(&org.admin),
        None,
    )
    .await;
    assert_eq!(listed.body["keys"].as_array().unwrap().len(), 2);
    for text in [&one.text, &listed.text] {
        assert!(
            !text.contains(&secret[4..]) && !text.contains("key_hash"),
            "secret or hash exposed: {text}"
        );
    }
    let me = call(&app, Method::GET, "/v1/manage/org", Some(&secret), None).await;
    assert_eq!(
        (me.status, me.body["org_id"].clone()),
        (StatusCode::OK, json!(org.org_id))
    );
    assert_eq!(me.body["id"], json!(org.org_id));
}

async fn no_escalation(kind: Backend) {
    let Setup { backend, app, org } = setup(kind).await;
    let manager = fixtures::key(
        backend.store.as_ref(),
        &org.org_id,
        Manage::Write,
        Completions::None,
    )
    .await;
    let escalate = call(
        &app,
        Method::POST,
        "/v1/manage/apikey",
        Some(&manager),
        Some(new_key("write", "write")),
    )
    .await;
    assert_eq!(
        assert_error(&escalate, StatusCode::FORBIDDEN)["param"],
        "permissions"
    );
    create(&app, &manager, new_key("read", "none")).await;
    let reader = fixtures::key(
        backend.store.as_ref(),
        &org.org_id,
        Manage::Read,
        Completions::Write,
    )
    .await;
    assert_error(
        &call(
            &app,
            Method::POST,
            "/v1/manage/apikey",
            Some(&reader),
            Some(new_key("none", "none")),
        )
        .await,
        StatusCode::FORBIDDEN,
    );
}

async fn last_admin_cannot_be_deleted_even_concurrently(kind: Backend) {
    let Setup { app, org, .. } = setup(kind).await;
    let last = call(
        &app,
        Method::DELETE,
        &format!("/v1/manage/apikey/{}", org.admin_key_id),
        Some(&org.admin),
        None,
    )
    .await;
    assert_error(&last, StatusCode::CONFLICT);
    let (second_id, second) = create(&app, &org.admin, new_key("write", "write")).await;
    // Two admins delete each other at once: at most one may succeed, and one admin always remains.
    let (path_a, path_b) = (
        format!("/v1/manage/apikey/{second_id}"),
        format!("/v1/manage/apikey/{}", org.admin_key_id),
    );
    let (a, b) = tokio::join!(
        call(&app, Method::DELETE, &path_a, Some(&org.admin), None),
        call(&app, Method::DELETE, &path_b, Some(&second), None),
    );
    let ok = [a.status, b.status]
        .iter()
        .filter(|s| **s == StatusCode::NO_CONTENT)
        .count();
    assert_eq!(ok, 1, "{} / {}", a.text, b.text);
    let survivor = if a.status == StatusCode::NO_CONTENT {
        &org.admin
    } else {
        &second
    };
    assert_eq!(
        call(&app, Method::GET, "/v1/manage/org", Some(survivor), None)
            .await
            .status,
        StatusCode::OK
    );
}

async fn deleted_and_expired_keys_get_401(kind: Backend) {
    let Setup { app, org, .. } = setup(kind).await;
    let (id, secret) = create(&app, &org.admin, new_key("read", "none")).await;
    assert_eq!(
        call(&app, Method::GET, "/v1/manage/org", Some(&secret), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        call(
            &app,
            Method::DELETE,
            &format!("/v1/manage/apikey/{id}"),
            Some(&org.admin),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &call(&app, Method::GET, "/v1/manage/org", Some(&secret), None).await,
        StatusCode::UNAUTHORIZED,
    );
    assert_error(
        &call(
            &app,
            Method::GET,
            &format!("/v1/manage/apikey/{id}"),
            Some(&org.admin),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    );

    let soon = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let mut body = new_key("read", "none");
    body["expires_at"] = json!(soon);
    let (_, expiring) = create(&app, &org.admin, body).await;
    assert_eq!(
        call(&app, Method::GET, "/v1/manage/org", Some(&expiring), None)
            .await
            .status,
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(1700)).await;
    let expired = call(&app, Method::GET, "/v1/manage/org", Some(&expiring), None).await;
    assert!(
        assert_error(&expired, StatusCode::UNAUTHORIZED)["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    let mut past = new_key("read", "none");
    past["expires_at"] = json!("2020-01-01T00:00:00Z");
    let refused = call(
        &app,
        Method::POST,
        "/v1/manage/apikey",
        Some(&org.admin),
        Some(past),
    )
    .await;
    assert_eq!(
        assert_error(&refused, StatusCode::BAD_REQUEST)["param"],
        "expires_at"
    );
}

async fn limits_and_validation(kind: Backend) {
    let Setup { app, org, .. } = setup(kind).await;
    let (id, _) = create(&app, &org.admin, new_key("none", "write")).await;
    let path = format!("/v1/manage/apikey/{id}/limit");
    assert_eq!(
        call(
            &app,
            Method::POST,
            &path,
            Some(&org.admin),
            Some(json!({"monthly_limit": 0}))
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(
            &app,
            Method::GET,
            &format!("/v1/manage/apikey/{id}"),
            Some(&org.admin),
            None
        )
        .await
        .body["monthly_limit"],
        0.0
    );
    assert_eq!(
        assert_error(
            &call(
                &app,
                Method::POST,
                &path,
                Some(&org.admin),
                Some(json!({"monthly_limit": -1}))
            )
            .await,
            StatusCode::BAD_REQUEST
        )["param"],
        "monthly_limit"
    );
    let cases = [
        (json!({"name": " ", "permissions": {}}), Some("name")),
        (
            json!({"name": "a", "permissions": {}, "allowed_models": ["mistral/large"]}),
            Some("allowed_models[0]"),
        ),
        (
            json!({"name": "a", "permissions": {}, "allowed_models": ["openai/ok", "nope"]}),
            Some("allowed_models[1]"),
        ),
        (
            json!({"name": "a", "permissions": {"manage": "root"}}),
            None,
        ),
        (
            json!({"name": "a", "permissions": {}, "org_id": "org_x"}),
            None,
        ),
    ];
    for (body, param) in cases {
        let r = call(
            &app,
            Method::POST,
            "/v1/manage/apikey",
            Some(&org.admin),
            Some(body.clone()),
        )
        .await;
        let error = assert_error(&r, StatusCode::BAD_REQUEST);
        if let Some(param) = param {
            assert_eq!(error["param"], param, "{body}");
        }
    }
    assert_error(
        &call(
            &app,
            Method::GET,
            "/v1/manage/apikey/key_nonexistent",
            Some(&org.admin),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    );
    assert_error(
        &call(
            &app,
            Method::GET,
            &format!("/v1/manage/apikey/{id}/usage?start=2026-11-01T00:00:00Z&resolution=week"),
            Some(&org.admin),
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
    assert_error(
        &call(
            &app,
            Method::GET,
            &format!("/v1/manage/apikey/{id}/usage?start=2026-11-01T00:00:00Z&group_by=color"),
            Some(&org.admin),
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
}

fn event(
    at: &str,
    key: &str,
    provider: &str,
    model: &str,
    byok: bool,
    user: Option<&str>,
    cost: Option<f64>,
) -> UsageEvent {
    UsageEvent {
        at: at.parse().unwrap(),
        api_key_id: key.into(),
        provider: provider.into(),
        model: model.into(),
        model_requested: format!("{provider}/{model}"),
        is_byok: byok,
        user_id: user.map(Into::into),
        origin_title: None,
        extra: Default::default(),
        input_tokens: 100,
        output_tokens: 20,
        cached_tokens: 10,
        reasoning_tokens: 5,
        cache_write_tokens: 0,
        cost,
        error: false,
    }
}

async fn usage_is_exact_grouped_and_windowed(kind: Backend) {
    let Setup { backend, app, org } = setup(kind).await;
    let store = backend.store.as_ref();
    let (id, _) = create(&app, &org.admin, new_key("none", "write")).await;
    let events = [
        event(
            "2026-10-31T23:10:00Z",
            &id,
            "openai",
            "gpt-4.1-mini",
            true,
            Some("u1"),
            Some(0.25),
        ),
        event(
            "2026-11-01T00:05:00Z",
            &id,
            "openai",
            "gpt-4.1-mini",
            true,
            Some("u1"),
            Some(0.5),
        ),
        event(
            "2026-11-01T00:59:00Z",
            &id,
            "anthropic",
            "claude-sonnet-4-5",
            false,
            Some("u2"),
            Some(1.0),
        ),
        event(
            "2026-11-02T10:00:00Z",
            &id,
            "xai",
            "grok-unknown",
            false,
            None,
            None,
        ),
        event(
            "2026-11-02T10:30:00Z",
            &org.admin_key_id,
            "openai",
            "gpt-4.1-mini",
            true,
            None,
            Some(2.0),
        ),
    ];
    let writes = events.iter().map(|e| usage::record(store, &org.org_id, e));
    for r in futures::future::join_all(writes).await {
        r.unwrap();
    }
    let get = |path: String| {
        let (app, admin) = (app.clone(), org.admin.clone());
        async move {
            let r = call(&app, Method::GET, &path, Some(&admin), None).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
            r.body["usage"].as_object().unwrap().clone()
        }
    };
    // (period, group value, requests, spend) of each group, periods in order.
    let flat = |usage: &serde_json::Map<String, Value>, dim: &str| {
        let mut out = Vec::new();
        for (period, entry) in usage {
            for g in entry["groups"].as_array().unwrap() {
                out.push((
                    period.clone(),
                    g[dim].clone(),
                    g["requests"].as_i64().unwrap(),
                    g["spend"].as_f64().unwrap(),
                ));
            }
        }
        out
    };
    let nov = "start=2026-11-01T00:00:00Z&end=2026-12-01T00:00:00Z";
    let by_day = get(format!(
        "/v1/manage/apikey/{id}/usage?{nov}&resolution=day&group_by=provider_used"
    ))
    .await;
    assert_eq!(
        flat(&by_day, "provider_used"),
        [
            ("2026-11-01T00:00:00Z".into(), json!("anthropic"), 1, 1.0),
            ("2026-11-01T00:00:00Z".into(), json!("openai"), 1, 0.5),
            ("2026-11-02T00:00:00Z".into(), json!("xai"), 1, 0.0),
        ]
    );
    let day1 = &by_day["2026-11-01T00:00:00Z"];
    assert_eq!(
        (day1["requests"].clone(), day1["spend"].clone()),
        (json!(2), json!(1.5)),
        "period totals"
    );
    assert_eq!(
        by_day["2026-11-02T00:00:00Z"]["unpriced_requests"], 1,
        "unknown prices are counted apart, not as zero cost"
    );

    let by_byok = get(format!(
        "/v1/manage/apikey/{id}/usage?{nov}&resolution=month&group_by=is_byok"
    ))
    .await;
    let byok: Vec<(Value, i64, i64)> = by_byok["2026-11-01T00:00:00Z"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["is_byok"].clone(),
                g["requests"].as_i64().unwrap(),
                g["input_tokens"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(byok, [(json!(false), 2, 200), (json!(true), 1, 100)]);

    let hourly = get(format!("/v1/manage/apikey/{id}/usage?start=2026-11-01T00:00:00Z&end=2026-11-01T01:00:00Z&resolution=hour&group_by=user_id")).await;
    assert_eq!(hourly.len(), 1, "{hourly:?}");
    assert_eq!(
        hourly["2026-11-01T00:00:00Z"]["groups"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Without `end`, the window is the 24 hours after `start`.
    let default_end = get(format!(
        "/v1/manage/apikey/{id}/usage?start=2026-11-01T00:00:00Z"
    ))
    .await;
    assert_eq!(
        default_end.keys().collect::<Vec<_>>(),
        ["2026-11-01T00:00:00Z"]
    );
    assert!(
        default_end["2026-11-01T00:00:00Z"].get("groups").is_none(),
        "no group_by, no groups"
    );

    let org_rows = get("/v1/manage/org/usage?start=2026-10-01T00:00:00Z&end=2026-12-01T00:00:00Z&resolution=month&group_by=api_key_id".to_owned()).await;
    let mut got: Vec<(String, Value, i64)> = flat(&org_rows, "api_key_id")
        .into_iter()
        .map(|(p, k, n, _)| (p[..7].to_owned(), k, n))
        .collect();
    got.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    let mut expected = vec![
        ("2026-10".to_owned(), json!(id), 1),
        ("2026-11".to_owned(), json!(id), 3),
        ("2026-11".to_owned(), json!(org.admin_key_id), 1),
    ];
    expected.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    assert_eq!(got, expected);
    let nov_spend = usage::month_spend(
        store,
        &org.org_id,
        Some(&id),
        "2026-11-15T00:00:00Z".parse().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(nov_spend, 1.5);
    let org_spend = usage::month_spend(
        store,
        &org.org_id,
        None,
        "2026-11-15T00:00:00Z".parse().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(org_spend, 3.5);
}

async fn other_orgs_see_404(kind: Backend) {
    let Setup { backend, app, org } = setup(kind).await;
    let other = fixtures::org(backend.store.as_ref(), "Other").await;
    let (id, secret) = create(&app, &org.admin, new_key("read", "write")).await;
    let b = Some(other.admin.as_str());
    for (method, path, body) in [
        (Method::GET, format!("/v1/manage/apikey/{id}"), None),
        (
            Method::GET,
            format!("/v1/manage/apikey/{id}/usage?start=2026-11-01T00:00:00Z"),
            None,
        ),
        (
            Method::PATCH,
            format!("/v1/manage/apikey/{id}"),
            Some(json!({"name": "taken"})),
        ),
        (
            Method::POST,
            format!("/v1/manage/apikey/{id}/limit"),
            Some(json!({"monthly_limit": 1})),
        ),
        (Method::DELETE, format!("/v1/manage/apikey/{id}"), None),
    ] {
        assert_error(
            &call(&app, method, &path, b, body).await,
            StatusCode::NOT_FOUND,
        );
    }
    let listed = call(&app, Method::GET, "/v1/manage/apikey", b, None).await;
    assert_eq!(
        listed.body["keys"].as_array().unwrap().len(),
        1,
        "only its own admin key"
    );
    assert_eq!(
        call(&app, Method::GET, "/v1/manage/org", Some(&secret), None)
            .await
            .status,
        StatusCode::OK,
        "A's key untouched"
    );
    let mine = call(
        &app,
        Method::GET,
        &format!("/v1/manage/apikey/{id}"),
        Some(&org.admin),
        None,
    )
    .await;
    assert_eq!(mine.body["monthly_limit"], 10.0);
}
