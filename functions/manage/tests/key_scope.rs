//! No restriction shedding (issue 18) and per-key settings (`PATCH /v1/manage/apikey/{id}`), on both
//! backends: a key creates, changes and deletes only keys no wider than itself in permissions, monthly
//! limit, allowed models and expiry; it cannot widen itself; the last *live* admin cannot be removed.

use axum::http::{Method, StatusCode};
use byok_shared::domain::permissions::{Completions, Manage, Permissions};
use byok_shared::repo::apikeys::{self, NewKey};
use byok_testkit::http::{assert_error, call};
use byok_testkit::{Backend, TestBackend, fixtures};
use chrono::{Duration, Utc};
use serde_json::{Value, json};

byok_testkit::on_both_backends!(
    create_matrix,
    change_and_delete_matrix,
    a_key_cannot_widen_itself,
    last_live_admin,
    patch_edits_the_settings,
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

/// A restricted manager: manage:write, completions:write, $10 a month, openai only, expiring in 30 days.
async fn restricted(s: &Setup) -> (String, String, chrono::DateTime<Utc>) {
    let expires = (Utc::now() + Duration::days(30)).with_nanosecond_zero();
    let new = NewKey {
        name: "manager".into(),
        permissions: Permissions::ADMIN,
        monthly_limit: 10.0,
        allowed_models: vec!["openai/*".into(), "policy/main".into()],
        expires_at: Some(expires),
        labels: Default::default(),
        default_model: None,
        auto_cache: None,
        rate_limits: Default::default(),
        logging: false,
    };
    let (key, secret) = apikeys::create(s.backend.store.as_ref(), &s.org.org_id, new, None)
        .await
        .unwrap();
    (key.api_key_id, secret.expose().to_owned(), expires)
}

trait NanosZero {
    fn with_nanosecond_zero(self) -> Self;
}

impl NanosZero for chrono::DateTime<Utc> {
    fn with_nanosecond_zero(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap()
    }
}

fn days(n: i64) -> Value {
    json!(Utc::now() + Duration::days(n))
}

async fn create_matrix(kind: Backend) {
    let s = setup(kind).await;
    let (_, manager, expires) = restricted(&s).await;
    let within = json!({"name": "w", "monthly_limit": 5, "allowed_models": ["openai/gpt-4.1-mini", "policy/main"],
        "expires_at": days(10), "permissions": {"manage": "read", "completions": "write"}});
    let r = call(
        &s.app,
        Method::POST,
        "/v1/manage/apikey",
        Some(&manager),
        Some(within.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // Equal is within.
    let equal = json!({"name": "e", "monthly_limit": 10, "allowed_models": ["openai/*"], "expires_at": expires,
        "permissions": {"manage": "write", "completions": "write"}});
    let r = call(
        &s.app,
        Method::POST,
        "/v1/manage/apikey",
        Some(&manager),
        Some(equal),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // Omitted restrictions are inherited, not dropped.
    let r = call(
        &s.app,
        Method::POST,
        "/v1/manage/apikey",
        Some(&manager),
        Some(json!({"name": "plain"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["api_key_id"].as_str().unwrap();
    let got = call(
        &s.app,
        Method::GET,
        &format!("/v1/manage/apikey/{id}"),
        Some(&s.org.admin),
        None,
    )
    .await;
    assert_eq!(got.body["monthly_limit"], 10.0);
    assert_eq!(
        got.body["allowed_models"],
        json!(["openai/*", "policy/main"])
    );
    assert_eq!(got.body["expires_at"], json!(expires));
    // Each restriction, widened alone.
    let wider = [
        (json!({"monthly_limit": 0}), "monthly_limit"),
        (json!({"monthly_limit": 10.01}), "monthly_limit"),
        (json!({"allowed_models": []}), "allowed_models"),
        (json!({"allowed_models": ["anthropic/*"]}), "allowed_models"),
        (json!({"allowed_models": ["policy/*"]}), "allowed_models"),
        (json!({"expires_at": days(31)}), "expires_at"),
    ];
    for (change, field) in wider {
        let mut body = within.clone();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = call(
            &s.app,
            Method::POST,
            "/v1/manage/apikey",
            Some(&manager),
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            assert_error(&r, StatusCode::FORBIDDEN)["param"],
            field,
            "{body}"
        );
    }
    // Permissions, with a manager that lacks completions.
    let no_completions = fixtures::key(
        s.backend.store.as_ref(),
        &s.org.org_id,
        Manage::Write,
        Completions::None,
    )
    .await;
    let r = call(
        &s.app,
        Method::POST,
        "/v1/manage/apikey",
        Some(&no_completions),
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(
        assert_error(&r, StatusCode::FORBIDDEN)["param"],
        "permissions",
        "Requesty's default completions:write is wider than this manager"
    );
    let listed = call(
        &s.app,
        Method::GET,
        "/v1/manage/apikey",
        Some(&s.org.admin),
        None,
    )
    .await;
    assert_eq!(
        listed.body["keys"].as_array().unwrap().len(),
        6,
        "nothing half-written: {}",
        listed.text
    );
}

async fn change_and_delete_matrix(kind: Backend) {
    let s = setup(kind).await;
    let (_, manager, _) = restricted(&s).await;
    // A wider key (made by the admin: unlimited, every model, no expiry).
    let r = call(
        &s.app,
        Method::POST,
        "/v1/manage/apikey",
        Some(&s.org.admin),
        Some(json!({"name": "wide"})),
    )
    .await;
    let wide = r.body["api_key_id"].as_str().unwrap().to_owned();
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/v1/manage/apikey/{wide}"),
            Some(json!({"name": "mine now"})),
        ),
        (
            Method::PATCH,
            format!("/v1/manage/apikey/{wide}"),
            Some(json!({"monthly_limit": 1})),
        ),
        (
            Method::POST,
            format!("/v1/manage/apikey/{wide}/limit"),
            Some(json!({"monthly_limit": 1})),
        ),
        (Method::DELETE, format!("/v1/manage/apikey/{wide}"), None),
    ] {
        assert_error(
            &call(&s.app, method, &path, Some(&manager), body).await,
            StatusCode::FORBIDDEN,
        );
    }
    let got = call(
        &s.app,
        Method::GET,
        &format!("/v1/manage/apikey/{wide}"),
        Some(&s.org.admin),
        None,
    )
    .await;
    assert_eq!(
        (got.body["name"].clone(), got.body["monthly_limit"].clone()),
        (json!("wide"), json!(0.0)),
        "untouched"
    );
    // A key within the manager: changes that keep it within pass, each widening is refused.
    let r = call(
        &s.app,
        Method::POST,
        "/v1/manage/apikey",
        Some(&manager),
        Some(json!({"name": "narrow", "monthly_limit": 5, "expires_at": days(5)})),
    )
    .await;
    let narrow = r.body["api_key_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/manage/apikey/{narrow}");
    let ok = call(&s.app, Method::PATCH, &path, Some(&manager),
        Some(json!({"monthly_limit": 8, "allowed_models": ["openai/gpt-4.1-mini"], "expires_at": days(20)}))).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    for (body, field) in [
        (json!({"monthly_limit": 0}), "monthly_limit"),
        (json!({"monthly_limit": 50}), "monthly_limit"),
        (json!({"allowed_models": []}), "allowed_models"),
        (json!({"expires_at": null}), "expires_at"),
        (json!({"expires_at": days(40)}), "expires_at"),
        (
            json!({"permissions": {"manage": "write", "completions": "write"}, "monthly_limit": 100}),
            "monthly_limit",
        ),
    ] {
        let r = call(
            &s.app,
            Method::PATCH,
            &path,
            Some(&manager),
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            assert_error(&r, StatusCode::FORBIDDEN)["param"],
            field,
            "{body}"
        );
    }
    let limit = call(
        &s.app,
        Method::POST,
        &format!("{path}/limit"),
        Some(&manager),
        Some(json!({"monthly_limit": 11})),
    )
    .await;
    assert_eq!(
        assert_error(&limit, StatusCode::FORBIDDEN)["param"],
        "monthly_limit"
    );
    let got = call(&s.app, Method::GET, &path, Some(&s.org.admin), None).await;
    assert_eq!(
        got.body["monthly_limit"], 8.0,
        "refused changes wrote nothing"
    );
    assert_eq!(
        call(&s.app, Method::DELETE, &path, Some(&manager), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

async fn a_key_cannot_widen_itself(kind: Backend) {
    let s = setup(kind).await;
    let (id, manager, _) = restricted(&s).await;
    for path in [
        "/v1/manage/apikey/self/limit".to_owned(),
        format!("/v1/manage/apikey/{id}/limit"),
    ] {
        for limit in [0.0, 20.0] {
            let r = call(
                &s.app,
                Method::POST,
                &path,
                Some(&manager),
                Some(json!({"monthly_limit": limit})),
            )
            .await;
            assert_eq!(
                assert_error(&r, StatusCode::FORBIDDEN)["param"],
                "monthly_limit",
                "{path} {limit}"
            );
        }
    }
    for (body, field) in [
        (json!({"expires_at": null}), "expires_at"),
        (json!({"allowed_models": []}), "allowed_models"),
        (
            json!({"allowed_models": ["openai/*", "anthropic/*"]}),
            "allowed_models",
        ),
    ] {
        let r = call(
            &s.app,
            Method::PATCH,
            "/v1/manage/apikey/self",
            Some(&manager),
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            assert_error(&r, StatusCode::FORBIDDEN)["param"],
            field,
            "{body}"
        );
    }
    // Narrowing itself is fine, and binds at once.
    let r = call(
        &s.app,
        Method::POST,
        "/v1/manage/apikey/self/limit",
        Some(&manager),
        Some(json!({"monthly_limit": 4})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = call(
        &s.app,
        Method::POST,
        "/v1/manage/apikey/self/limit",
        Some(&manager),
        Some(json!({"monthly_limit": 10})),
    )
    .await;
    assert_eq!(
        assert_error(&r, StatusCode::FORBIDDEN)["param"],
        "monthly_limit",
        "cannot raise it back"
    );
}

async fn last_live_admin(kind: Backend) {
    let s = setup(kind).await;
    // A second admin that has expired: it no longer counts.
    let new = NewKey {
        name: "old admin".into(),
        permissions: Permissions::ADMIN,
        monthly_limit: 0.0,
        allowed_models: Vec::new(),
        expires_at: Some(Utc::now() - Duration::seconds(1)),
        labels: Default::default(),
        default_model: None,
        auto_cache: None,
        rate_limits: Default::default(),
        logging: false,
    };
    apikeys::create(s.backend.store.as_ref(), &s.org.org_id, new, None)
        .await
        .unwrap();
    let path = format!("/v1/manage/apikey/{}", s.org.admin_key_id);
    assert_error(
        &call(&s.app, Method::DELETE, &path, Some(&s.org.admin), None).await,
        StatusCode::CONFLICT,
    );
    let demote = call(
        &s.app,
        Method::PATCH,
        "/v1/manage/apikey/self",
        Some(&s.org.admin),
        Some(json!({"permissions": {"manage": "read", "completions": "write"}})),
    )
    .await;
    assert_error(&demote, StatusCode::CONFLICT);
    // With a live second admin, the first may go.
    let r = call(&s.app, Method::POST, "/v1/manage/apikey", Some(&s.org.admin),
        Some(json!({"name": "new admin", "permissions": {"manage": "write", "completions": "write"}}))).await;
    let second = r.body["api_key"].as_str().unwrap().to_owned();
    let demote = call(
        &s.app,
        Method::PATCH,
        "/v1/manage/apikey/self",
        Some(&s.org.admin),
        Some(json!({"permissions": {"manage": "read", "completions": "write"}})),
    )
    .await;
    assert_eq!(demote.status, StatusCode::OK, "{}", demote.text);
    // Now the second admin is the last live one.
    let r = call(
        &s.app,
        Method::DELETE,
        "/v1/manage/apikey/self",
        Some(&second),
        None,
    )
    .await;
    assert_error(&r, StatusCode::CONFLICT);
}

async fn patch_edits_the_settings(kind: Backend) {
    let s = setup(kind).await;
    let r = call(
        &s.app,
        Method::POST,
        "/v1/manage/apikey",
        Some(&s.org.admin),
        Some(json!({"name": "app"})),
    )
    .await;
    let (id, secret) = (
        r.body["api_key_id"].as_str().unwrap().to_owned(),
        r.body["api_key"].as_str().unwrap().to_owned(),
    );
    let path = format!("/v1/manage/apikey/{id}");
    let soon = (Utc::now() + Duration::days(3)).with_nanosecond_zero();
    let r = call(&s.app, Method::PATCH, &path, Some(&s.org.admin), Some(json!({
        "name": "renamed", "labels": {"team": "red"}, "allowed_models": ["openai/*", "policy/main"],
        "expires_at": soon, "default_model": "policy/main"
    }))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["name"], "renamed");
    assert_eq!(r.body["labels"], json!({"team": "red"}));
    assert_eq!(r.body["allowed_models"], json!(["openai/*", "policy/main"]));
    assert_eq!(r.body["expires_at"], json!(soon));
    assert_eq!(r.body["default_model"], "policy/main");
    // Only what is sent changes; null clears.
    let r = call(
        &s.app,
        Method::PATCH,
        &path,
        Some(&s.org.admin),
        Some(json!({"default_model": null, "expires_at": null})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (
            r.body["name"].clone(),
            r.body["default_model"].clone(),
            r.body["expires_at"].clone()
        ),
        (json!("renamed"), Value::Null, Value::Null)
    );
    for (body, param) in [
        (
            json!({"default_model": "anthropic/claude-sonnet-4-5"}),
            Some("default_model"),
        ),
        (json!({"default_model": "openai/*"}), Some("default_model")),
        (json!({"default_model": "nonsense"}), Some("default_model")),
        (json!({"name": ""}), Some("name")),
        (
            json!({"labels": {"bad name": "x"}}),
            Some("labels.bad name"),
        ),
        (
            json!({"expires_at": "2020-01-01T00:00:00Z"}),
            Some("expires_at"),
        ),
        (json!({"colour": "red"}), None),
    ] {
        let r = call(
            &s.app,
            Method::PATCH,
            &path,
            Some(&s.org.admin),
            Some(body.clone()),
        )
        .await;
        let e = assert_error(&r, StatusCode::BAD_REQUEST);
        if let Some(param) = param {
            assert_eq!(e["param"], param, "{body}");
        }
    }
    // A narrower allow-list must keep allowing the default.
    call(
        &s.app,
        Method::PATCH,
        &path,
        Some(&s.org.admin),
        Some(json!({"default_model": "policy/main"})),
    )
    .await;
    let r = call(
        &s.app,
        Method::PATCH,
        &path,
        Some(&s.org.admin),
        Some(json!({"allowed_models": ["openai/*"]})),
    )
    .await;
    assert_eq!(
        assert_error(&r, StatusCode::BAD_REQUEST)["param"],
        "default_model"
    );
    // An expiry set through PATCH takes effect at once for the key itself (cache invalidated).
    let r = call(
        &s.app,
        Method::PATCH,
        &path,
        Some(&s.org.admin),
        Some(json!({"expires_at": Utc::now() + Duration::milliseconds(300)})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_error(
        &call(
            &s.app,
            Method::GET,
            "/v1/manage/apikey/self",
            Some(&secret),
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
    );
}
