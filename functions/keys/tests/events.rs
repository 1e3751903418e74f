//! Every API Gateway fixture in events/byok-keys, parsed by lambda_http as on Lambda, through the router.

use axum::http::StatusCode;
use byok_shared::domain::provider::Provider;
use byok_shared::repo::provider_keys::{self, Owner};
use byok_shared::secret::Secret;
use byok_testkit::{Backend, TestBackend, events, fixtures};
use serde_json::json;

#[tokio::test]
async fn every_fixture_is_served() {
    let backend = TestBackend::new(Backend::Embedded).await;
    let (store, cipher) = (backend.store.as_ref(), backend.cipher.as_ref());
    let org = fixtures::org(store, "Acme").await;
    for provider in [Provider::Anthropic, Provider::Xai] {
        provider_keys::create(
            store,
            cipher,
            Owner::Org(&org.org_id),
            provider,
            &Secret::new("seeded-key-1234"),
            None,
            None,
        )
        .await
        .unwrap();
    }
    let app = byok_keys::router(backend.state(|_| {}));
    let expected = [
        ("create.json", StatusCode::CREATED),
        ("rotate.json", StatusCode::OK),
        ("get.json", StatusCode::OK),
        ("list.json", StatusCode::OK),
        ("delete.json", StatusCode::NO_CONTENT),
        ("audit.json", StatusCode::OK),
    ];
    let r = events::run_fixtures("byok-keys", &app, &org.admin, &expected, str::to_owned).await;

    // What each fixture asked for happened, and the answers show records, never keys.
    let created = &r["create.json"].body;
    assert_eq!(
        (&created["provider"], &created["label"], &created["hint"]),
        (&json!("openai"), &json!("production"), &json!("0000")),
        "{created}"
    );
    assert_eq!(created["version"], 1);
    assert_eq!(
        created["created_by"]["api_key_id"],
        org.admin_key_id.as_str()
    );
    let rotated = &r["rotate.json"].body;
    assert_eq!(
        (&rotated["provider"], &rotated["version"], &rotated["hint"]),
        (&json!("openai"), &json!(2), &json!("1111")),
        "{rotated}"
    );
    let got = &r["get.json"].body;
    assert_eq!(
        (&got["provider"], &got["hint"]),
        (&json!("anthropic"), &json!("1234")),
        "{got}"
    );
    let mut listed: Vec<&str> = r["list.json"].body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|k| k["provider"].as_str().expect("provider"))
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, ["anthropic", "openai", "xai"]);
    assert_eq!(r["delete.json"].text, "", "204 has no body");
    let audit: Vec<(&str, &str)> = r["audit.json"].body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["provider"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        audit.ends_with(&[
            ("create", "openai"),
            ("rotate", "openai"),
            ("delete", "xai")
        ]),
        "{audit:?}"
    );
    for (name, response) in &r {
        for secret in ["TEST0000000000", "TEST1111111111", "seeded-key"] {
            assert!(
                !response.text.contains(secret),
                "{name} shows a key: {}",
                response.text
            );
        }
        assert!(
            response.body.get("api_key").is_none(),
            "{name}: {}",
            response.text
        );
    }
    assert_eq!(
        provider_keys::decrypt(store, cipher, Owner::Org(&org.org_id), Provider::OpenAi)
            .await
            .unwrap()
            .expect("stored")
            .expose(),
        "sk-proj-TEST1111111111111111111111111111111111111111",
        "rotate.json's key is the one stored"
    );
    assert!(
        provider_keys::decrypt(store, cipher, Owner::Org(&org.org_id), Provider::Xai)
            .await
            .unwrap()
            .is_none(),
        "delete.json deleted the xai key"
    );
}
