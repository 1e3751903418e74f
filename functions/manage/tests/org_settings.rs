//! `PATCH /v1/manage/org` (ours): the org's name and auto-caching default; only the fields sent change,
//! `null` clears the default; manage:write only; bad input is a 400 that changes nothing; one org's change
//! never shows in another. On both backends.

use axum::http::{Method, StatusCode};
use byok_shared::domain::permissions::{Completions, Manage, Permissions};
use byok_shared::repo::apikeys::{self, NewKey};
use byok_testkit::http::{assert_error, call};
use byok_testkit::{Backend, TestBackend, fixtures};
use serde_json::json;

byok_testkit::on_both_backends!(org_settings_change_only_what_is_sent);

async fn org_settings_change_only_what_is_sent(kind: Backend) {
    let backend = TestBackend::new(kind).await;
    let app = byok_manage::router(backend.state(|_| {}));
    let store = backend.store.as_ref();
    let (a, b) = (
        fixtures::org(store, "Acme").await,
        fixtures::org(store, "Other").await,
    );
    let patch = |key: String, body: serde_json::Value| {
        let app = app.clone();
        async move {
            call(
                &app,
                Method::PATCH,
                "/v1/manage/org",
                Some(&key),
                Some(body),
            )
            .await
        }
    };
    let get = |key: String| {
        let app = app.clone();
        async move { call(&app, Method::GET, "/v1/manage/org", Some(&key), None).await }
    };

    assert_eq!(get(a.admin.clone()).await.body["auto_cache"], json!(null));
    let r = patch(a.admin.clone(), json!({"auto_cache": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["auto_cache"], true);
    assert_eq!(r.body["name"], "Acme", "the name stays");
    let r = patch(a.admin.clone(), json!({"name": "Acme Corp"})).await;
    assert_eq!(
        (r.body["name"].clone(), r.body["auto_cache"].clone()),
        (json!("Acme Corp"), json!(true))
    );
    assert_eq!(get(a.admin.clone()).await.body["auto_cache"], true);
    assert_eq!(
        get(b.admin.clone()).await.body["auto_cache"],
        json!(null),
        "another org's setting"
    );

    // Bad input: a 400 naming the field, nothing changed.
    for (body, param) in [
        (json!({"auto_cache": "yes"}), None),
        (json!({"name": ""}), Some("name")),
        (json!({"colour": "red"}), None),
    ] {
        let r = patch(a.admin.clone(), body.clone()).await;
        let e = assert_error(&r, StatusCode::BAD_REQUEST);
        if let Some(param) = param {
            assert_eq!(e["param"], param, "{body}");
        }
    }
    let now = get(a.admin.clone()).await.body;
    assert_eq!(
        (now["name"].clone(), now["auto_cache"].clone()),
        (json!("Acme Corp"), json!(true))
    );

    // A manage:read key may look, not change.
    let reader = NewKey {
        name: "reader".into(),
        permissions: Permissions {
            manage: Manage::Read,
            completions: Completions::None,
        },
        monthly_limit: 0.0,
        allowed_models: Vec::new(),
        expires_at: None,
        labels: Default::default(),
        default_model: None,
        rate_limits: Default::default(),
        auto_cache: None,
        logging: false,
    };
    let (_, secret) = apikeys::create(store, &a.org_id, reader, None)
        .await
        .unwrap();
    assert_error(
        &patch(secret.expose().to_owned(), json!({"auto_cache": false})).await,
        StatusCode::FORBIDDEN,
    );

    // null clears it.
    let r = patch(a.admin.clone(), json!({"auto_cache": null})).await;
    assert_eq!(r.body["auto_cache"], json!(null), "{}", r.text);
}
