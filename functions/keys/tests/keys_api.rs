//! The key CRUD function through its router, on both backends.

use axum::http::{Method, StatusCode};
use byok_shared::domain::permissions::{Completions, Manage};
use byok_shared::domain::provider::Provider;
use byok_shared::error::ErrorKind;
use byok_shared::repo::provider_keys::{self, Owner};
use byok_testkit::http::{assert_error, call};
use byok_testkit::{Backend, TestBackend, fixtures, logs};
use serde_json::{Value, json};

byok_testkit::on_both_backends!(
    crud_round_trip_with_audit,
    second_create_conflicts_even_under_concurrency,
    other_orgs_see_404,
    permissions_are_enforced,
    bad_input_names_the_field,
    plaintext_never_reaches_store_responses_or_logs,
    moved_ciphertext_does_not_decrypt,
    audit_pages_and_refuses_foreign_cursors,
);

const OPENAI_KEY: &str = "sk-proj-test-openai-AAAA1111";
const ROTATED_KEY: &str = "sk-proj-test-openai-BBBB2222";

struct Setup {
    backend: TestBackend,
    app: axum::Router,
    org: fixtures::TestOrg,
}

async fn setup(kind: Backend) -> Setup {
    logs::capture();
    let backend = TestBackend::new(kind).await;
    let app = byok_keys::router(backend.state(|_| {}));
    let org = fixtures::org(backend.store.as_ref(), "Acme").await;
    Setup { backend, app, org }
}

fn create_body(provider: &str, key: &str) -> Value {
    json!({ "provider": provider, "api_key": key, "label": "prod" })
}

async fn crud_round_trip_with_audit(kind: Backend) {
    let Setup { app, org, .. } = setup(kind).await;
    let key = Some(org.admin.as_str());

    let created = call(
        &app,
        Method::POST,
        "/v1/byok",
        key,
        Some(create_body("openai", OPENAI_KEY)),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["provider"], "openai");
    assert_eq!(created.body["hint"], "1111");
    assert_eq!(created.body["label"], "prod");
    assert_eq!(created.body["version"], 1);
    assert_eq!(
        created.body["created_by"]["api_key_id"],
        org.admin_key_id.as_str()
    );
    assert_eq!(created.body["created_by"]["name"], "admin");
    for field in [
        "created_at",
        "updated_at",
        "last_verified_at",
        "last_used_at",
        "last_error",
    ] {
        assert!(
            created.body.get(field).is_some(),
            "{field} missing: {}",
            created.text
        );
    }

    let listed = call(&app, Method::GET, "/v1/byok", key, None).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);

    let one = call(&app, Method::GET, "/v1/byok/openai", key, None).await;
    assert_eq!(one.body, created.body);

    let rotate = json!({ "api_key": ROTATED_KEY, "version": 1 });
    let rotated = call(
        &app,
        Method::PUT,
        "/v1/byok/openai",
        key,
        Some(rotate.clone()),
    )
    .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    assert_eq!(
        (
            rotated.body["version"].clone(),
            rotated.body["hint"].clone()
        ),
        (json!(2), json!("2222"))
    );
    assert_eq!(rotated.body["label"], "prod", "label kept when not given");
    assert_eq!(rotated.body["created_at"], created.body["created_at"]);

    let stale = call(&app, Method::PUT, "/v1/byok/openai", key, Some(rotate)).await;
    assert_error(&stale, StatusCode::CONFLICT);

    let deleted = call(&app, Method::DELETE, "/v1/byok/openai", key, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_error(
        &call(&app, Method::GET, "/v1/byok/openai", key, None).await,
        StatusCode::NOT_FOUND,
    );
    assert_error(
        &call(&app, Method::DELETE, "/v1/byok/openai", key, None).await,
        StatusCode::NOT_FOUND,
    );

    let audit = call(&app, Method::GET, "/v1/byok/audit", key, None).await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text);
    let actions: Vec<&str> = audit.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "rotate", "delete"]);
    assert!(
        audit.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"]["api_key_id"] == org.admin_key_id.as_str())
    );
}

async fn second_create_conflicts_even_under_concurrency(kind: Backend) {
    let Setup { app, org, .. } = setup(kind).await;
    let first = call(
        &app,
        Method::POST,
        "/v1/byok",
        Some(&org.admin),
        Some(create_body("xai", "xai-one")),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = call(
        &app,
        Method::POST,
        "/v1/byok",
        Some(&org.admin),
        Some(create_body("xai", "xai-two")),
    )
    .await;
    assert_error(&again, StatusCode::CONFLICT);

    let attempts = (0..32).map(|i| {
        let (app, admin) = (app.clone(), org.admin.clone());
        async move {
            call(
                &app,
                Method::POST,
                "/v1/byok",
                Some(&admin),
                Some(create_body("anthropic", &format!("sk-ant-{i:04}"))),
            )
            .await
            .status
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (1, 31), "{statuses:?}");
}

async fn other_orgs_see_404(kind: Backend) {
    let Setup { backend, app, org } = setup(kind).await;
    let other = fixtures::org(backend.store.as_ref(), "Other").await;
    call(
        &app,
        Method::POST,
        "/v1/byok",
        Some(&org.admin),
        Some(create_body("google", "AIzaSyTestKey0000")),
    )
    .await;
    let b = Some(other.admin.as_str());
    assert_error(
        &call(&app, Method::GET, "/v1/byok/google", b, None).await,
        StatusCode::NOT_FOUND,
    );
    let rotate = json!({ "api_key": "AIzaSyStolen" });
    assert_error(
        &call(&app, Method::PUT, "/v1/byok/google", b, Some(rotate)).await,
        StatusCode::NOT_FOUND,
    );
    assert_error(
        &call(&app, Method::DELETE, "/v1/byok/google", b, None).await,
        StatusCode::NOT_FOUND,
    );
    let listed = call(&app, Method::GET, "/v1/byok", b, None).await;
    assert_eq!(listed.body["data"], json!([]));
    assert_eq!(
        call(&app, Method::GET, "/v1/byok/audit", b, None)
            .await
            .body["data"],
        json!([])
    );
    let still = call(&app, Method::GET, "/v1/byok/google", Some(&org.admin), None).await;
    assert_eq!(
        (still.status, still.body["version"].clone()),
        (StatusCode::OK, json!(1))
    );
}

async fn permissions_are_enforced(kind: Backend) {
    let Setup { backend, app, org } = setup(kind).await;
    let store = backend.store.as_ref();
    let reader = fixtures::key(store, &org.org_id, Manage::Read, Completions::None).await;
    let app_only = fixtures::key(store, &org.org_id, Manage::None, Completions::Write).await;
    call(
        &app,
        Method::POST,
        "/v1/byok",
        Some(&org.admin),
        Some(create_body("openai", OPENAI_KEY)),
    )
    .await;

    assert_eq!(
        call(&app, Method::GET, "/v1/byok", Some(&reader), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, Method::GET, "/v1/byok/openai", Some(&reader), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_error(
        &call(
            &app,
            Method::POST,
            "/v1/byok",
            Some(&reader),
            Some(create_body("xai", "xai-k")),
        )
        .await,
        StatusCode::FORBIDDEN,
    );
    assert_error(
        &call(
            &app,
            Method::PUT,
            "/v1/byok/openai",
            Some(&reader),
            Some(json!({"api_key": "sk-x"})),
        )
        .await,
        StatusCode::FORBIDDEN,
    );
    assert_error(
        &call(&app, Method::DELETE, "/v1/byok/openai", Some(&reader), None).await,
        StatusCode::FORBIDDEN,
    );
    for (method, path) in [
        (Method::GET, "/v1/byok"),
        (Method::GET, "/v1/byok/openai"),
        (Method::GET, "/v1/byok/audit"),
        (Method::DELETE, "/v1/byok/openai"),
    ] {
        assert_error(
            &call(&app, method.clone(), path, Some(&app_only), None).await,
            StatusCode::FORBIDDEN,
        );
        assert_error(
            &call(&app, method, path, None, None).await,
            StatusCode::UNAUTHORIZED,
        );
    }
    assert_eq!(
        call(&app, Method::GET, "/v1/byok/openai", Some(&org.admin), None)
            .await
            .body["version"],
        1
    );
}

async fn bad_input_names_the_field(kind: Backend) {
    let Setup { app, org, .. } = setup(kind).await;
    let post = |body: Value| {
        let (app, admin) = (app.clone(), org.admin.clone());
        async move { call(&app, Method::POST, "/v1/byok", Some(&admin), Some(body)).await }
    };
    let cases = [
        (json!({"provider": "mistral", "api_key": "k"}), "provider"),
        (json!({"provider": "openai", "api_key": ""}), "api_key"),
        (json!({"provider": "openai", "api_key": "   "}), "api_key"),
        (
            json!({"provider": "openai", "api_key": "sk-\u{0}x"}),
            "api_key",
        ),
        (
            json!({"provider": "openai", "api_key": "x".repeat(600)}),
            "api_key",
        ),
        (
            json!({"provider": "openai", "api_key": "sk-ok", "label": "x".repeat(101)}),
            "label",
        ),
    ];
    for (body, field) in cases {
        let response = post(body.clone()).await;
        let error = assert_error(&response, StatusCode::BAD_REQUEST);
        assert_eq!(error["param"], field, "{body}: {}", response.text);
    }
    let unknown =
        post(json!({"provider": "openai", "api_key": "sk-ok", "api_base": "http://evil"})).await;
    assert!(
        assert_error(&unknown, StatusCode::BAD_REQUEST)["message"]
            .as_str()
            .unwrap()
            .contains("api_base")
    );
    let missing = post(json!({"provider": "openai"})).await;
    assert!(
        assert_error(&missing, StatusCode::BAD_REQUEST)["message"]
            .as_str()
            .unwrap()
            .contains("api_key")
    );
    let request = axum::http::Request::post("/v1/byok")
        .header("authorization", format!("Bearer {}", org.admin))
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{not json"))
        .unwrap();
    assert_error(
        &byok_testkit::http::send(&app, request).await,
        StatusCode::BAD_REQUEST,
    );
    assert_error(
        &call(
            &app,
            Method::GET,
            "/v1/byok/mistral",
            Some(&org.admin),
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
    assert_eq!(
        call(&app, Method::GET, "/v1/byok", Some(&org.admin), None)
            .await
            .body["data"],
        json!([]),
        "nothing written"
    );
}

async fn plaintext_never_reaches_store_responses_or_logs(kind: Backend) {
    let Setup { backend, app, org } = setup(kind).await;
    let secrets = [
        "sk-proj-leakcheck-9f8e7d6c",
        "sk-ant-leakcheck-5b4a3928",
        "AIzaLeakcheck-77665544",
        "xai-leakcheck-33221100",
    ];
    let mut responses = String::new();
    for (provider, secret) in ["openai", "anthropic", "google", "xai"].iter().zip(secrets) {
        responses += &call(
            &app,
            Method::POST,
            "/v1/byok",
            Some(&org.admin),
            Some(create_body(provider, secret)),
        )
        .await
        .text;
        let rotated = format!("{secret}-rotated");
        responses += &call(
            &app,
            Method::PUT,
            &format!("/v1/byok/{provider}"),
            Some(&org.admin),
            Some(json!({"api_key": rotated})),
        )
        .await
        .text;
    }
    responses += &call(&app, Method::GET, "/v1/byok", Some(&org.admin), None)
        .await
        .text;
    responses += &call(&app, Method::GET, "/v1/byok/audit", Some(&org.admin), None)
        .await
        .text;
    let raw = backend.raw_dump().await;
    assert!(
        raw.contains("BYOK#openai"),
        "the dump covers the stored records"
    );
    let logged = logs::captured();
    for secret in secrets {
        let body = &secret[secret.len() - 12..];
        for (place, text) in [
            ("responses", &responses),
            ("store", &raw),
            ("logs", &logged),
        ] {
            assert!(!text.contains(body), "{place} contain key material {body}");
        }
    }
    assert!(
        !responses.contains("ciphertext"),
        "ciphertext exposed: {responses}"
    );
}

async fn moved_ciphertext_does_not_decrypt(kind: Backend) {
    let Setup { backend, app, org } = setup(kind).await;
    let (store, cipher) = (backend.store.as_ref(), backend.cipher.as_ref());
    call(
        &app,
        Method::POST,
        "/v1/byok",
        Some(&org.admin),
        Some(create_body("openai", OPENAI_KEY)),
    )
    .await;
    let owner = Owner::Org(&org.org_id);
    let plain = provider_keys::decrypt(store, cipher, owner, Provider::OpenAi)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(plain.expose(), OPENAI_KEY);

    // Copy the stored row verbatim into another org's partition: the context no longer matches.
    let other = fixtures::org(store, "Thief").await;
    let mut row = store
        .get(&format!("ORG#{}", org.org_id), "BYOK#openai")
        .await
        .unwrap()
        .unwrap();
    row.pk = format!("ORG#{}", other.org_id);
    store.put(&row).await.unwrap();
    // The cipher rejects it (`CipherError::Rejected`, which the repository reports as a stored key that does
    // not decrypt under its context), not a missing row or an unavailable key service.
    let rejected = |e: byok_shared::Error| {
        assert_eq!(e.kind, ErrorKind::Internal, "{e:?}");
        assert_eq!(
            e.message, "a stored provider key does not decrypt under its context",
            "{e:?}"
        );
    };
    let stolen =
        provider_keys::decrypt(store, cipher, Owner::Org(&other.org_id), Provider::OpenAi).await;
    rejected(stolen.expect_err("a ciphertext moved to another org decrypted"));
    // Same org, another provider's row.
    row.pk = format!("ORG#{}", org.org_id);
    row.sk = "BYOK#xai".into();
    store.put(&row).await.unwrap();
    rejected(
        provider_keys::decrypt(store, cipher, owner, Provider::Xai)
            .await
            .expect_err("a ciphertext moved to another provider's row decrypted"),
    );
}

/// Found by scripts/api-fuzz (schemathesis): a cursor the API never handed out was a 500 ("internal store
/// error"); it is the caller's 400, naming `cursor`. Real cursors still page.
async fn audit_pages_and_refuses_foreign_cursors(kind: Backend) {
    let Setup { app, org, .. } = setup(kind).await;
    let key = Some(org.admin.as_str());
    for provider in ["openai", "xai"] {
        let created = call(
            &app,
            Method::POST,
            "/v1/byok",
            key,
            Some(create_body(provider, OPENAI_KEY)),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    }
    let first = call(&app, Method::GET, "/v1/byok/audit?limit=1", key, None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let cursor = first.body["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let second = call(
        &app,
        Method::GET,
        &format!("/v1/byok/audit?limit=1&cursor={cursor}"),
        key,
        None,
    )
    .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    assert_eq!(second.body["data"][0]["provider"], "xai");
    // Not base64url, not UTF-8, and a well-formed cursor outside the audit trail (`BYOK#openai`).
    for bad in ["%C3%8C", "!!", "_w", "QllPSyNvcGVuYWk"] {
        let response = call(
            &app,
            Method::GET,
            &format!("/v1/byok/audit?cursor={bad}"),
            key,
            None,
        )
        .await;
        let error = assert_error(&response, StatusCode::BAD_REQUEST);
        assert_eq!(error["param"], "cursor", "{bad}");
    }
}
