//! `rpm` and `tpm` on gateway API keys: set on create and PATCH, shown on read, validated, cleared with
//! `null`, inherited from the creating key by default, and never wider than the key that sets them. On both
//! backends.

use axum::http::{Method, StatusCode};
use byok_testkit::http::{Response, assert_error, call};
use byok_testkit::{Backend, TestBackend, fixtures};
use serde_json::{Value, json};

byok_testkit::on_both_backends!(rpm_and_tpm_are_set_read_and_bounded_by_the_creator);

async fn send(
    app: &axum::Router,
    method: Method,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> Response {
    call(app, method, path, Some(key), body).await
}

async fn rpm_and_tpm_are_set_read_and_bounded_by_the_creator(kind: Backend) {
    let backend = TestBackend::new(kind).await;
    let app = byok_manage::router(backend.state(|_| {}));
    let org = fixtures::org(backend.store.as_ref(), "Acme").await;
    let admin = org.admin.as_str();

    // Create with limits; read them back.
    let r = send(
        &app,
        Method::POST,
        "/v1/manage/apikey",
        admin,
        Some(json!({"name": "app", "rpm": 60, "tpm": 100000})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["api_key_id"].as_str().unwrap().to_owned();
    let path = format!("/v1/manage/apikey/{id}");
    let got = send(&app, Method::GET, &path, admin, None).await;
    assert_eq!(
        (got.body["rpm"].clone(), got.body["tpm"].clone()),
        (json!(60), json!(100000))
    );

    // PATCH one, clear the other.
    let r = send(
        &app,
        Method::PATCH,
        &path,
        admin,
        Some(json!({"rpm": 30, "tpm": null})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (r.body["rpm"].clone(), r.body["tpm"].clone()),
        (json!(30), Value::Null)
    );

    // Bad values are 400 naming the field, and change nothing.
    for (body, param) in [
        (json!({"rpm": 0}), "rpm"),
        (json!({"tpm": 0}), "tpm"),
        (json!({"rpm": 2_000_000}), "rpm"),
    ] {
        let r = send(&app, Method::PATCH, &path, admin, Some(body.clone())).await;
        let error = assert_error(&r, StatusCode::BAD_REQUEST);
        assert_eq!(error["param"], param, "{body}");
    }
    for body in [json!({"rpm": -1}), json!({"rpm": 1.5}), json!({"tpm": "x"})] {
        let r = send(&app, Method::PATCH, &path, admin, Some(body.clone())).await;
        assert_error(&r, StatusCode::BAD_REQUEST);
    }
    let r = send(
        &app,
        Method::POST,
        "/v1/manage/apikey",
        admin,
        Some(json!({"name": "bad", "rpm": 0})),
    )
    .await;
    assert_error(&r, StatusCode::BAD_REQUEST);
    let got = send(&app, Method::GET, &path, admin, None).await;
    assert_eq!(
        (got.body["rpm"].clone(), got.body["tpm"].clone()),
        (json!(30), Value::Null)
    );

    // A manage:write key limited to 10 rpm: what it creates inherits the limit, and it can neither
    // create a key wider than itself nor widen itself.
    let r = send(
        &app,
        Method::POST,
        "/v1/manage/apikey",
        admin,
        Some(json!({"name": "sub-admin", "rpm": 10,
            "permissions": {"manage": "write", "completions": "write"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let sub = r.body["api_key"].as_str().unwrap().to_owned();
    let r = send(
        &app,
        Method::POST,
        "/v1/manage/apikey",
        &sub,
        Some(json!({"name": "child"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let child = r.body["api_key_id"].as_str().unwrap().to_owned();
    let got = send(
        &app,
        Method::GET,
        &format!("/v1/manage/apikey/{child}"),
        admin,
        None,
    )
    .await;
    assert_eq!(got.body["rpm"], 10, "inherited from the creating key");
    for body in [
        json!({"name": "wider", "rpm": 11}),
        json!({"name": "unlimited", "rpm": null}),
    ] {
        let r = send(
            &app,
            Method::POST,
            "/v1/manage/apikey",
            &sub,
            Some(body.clone()),
        )
        .await;
        let error = assert_error(&r, StatusCode::FORBIDDEN);
        assert_eq!(error["param"], "rpm", "{body}");
    }
    let r = send(
        &app,
        Method::PATCH,
        "/v1/manage/apikey/self",
        &sub,
        Some(json!({"rpm": null})),
    )
    .await;
    assert_eq!(assert_error(&r, StatusCode::FORBIDDEN)["param"], "rpm");
    let r = send(
        &app,
        Method::PATCH,
        "/v1/manage/apikey/self",
        &sub,
        Some(json!({"rpm": 5})),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "narrowing itself is fine: {}",
        r.text
    );
    // Nor may it touch a key without limits (wider than itself).
    let r = send(
        &app,
        Method::PATCH,
        &format!("/v1/manage/apikey/{}", org.admin_key_id),
        &sub,
        Some(json!({"name": "renamed"})),
    )
    .await;
    assert_error(&r, StatusCode::FORBIDDEN);
}
