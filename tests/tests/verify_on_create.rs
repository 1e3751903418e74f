//! `POST /v1/byok?verify=true` through the merged server against a mock provider: an accepted key is saved
//! as verified, a rejected key is refused with 422 and the provider's reason, a provider that cannot be
//! reached gives 502; nothing is saved unless the provider accepted the key.

use axum::http::{Method, StatusCode};
use byok_mock_providers::{Kind, MockProvider};
use byok_testkit::http::{assert_error, call};
use byok_testkit::{Backend, TestBackend, fixtures};
use serde_json::json;

#[tokio::test]
async fn verify_before_saving() {
    let backend = TestBackend::new(Backend::Embedded).await;
    let anthropic = MockProvider::start(Kind::Anthropic).await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let app = byok_cli::server::app(backend.state(|c| {
        c.providers.anthropic = anthropic.base_url();
        c.providers.xai = closed;
    }));
    let org = fixtures::org(backend.store.as_ref(), "Acme").await;
    let admin = Some(org.admin.as_str());

    let rejected = json!({"provider": "anthropic", "api_key": "sk-ant-invalid-0000"});
    let r = call(
        &app,
        Method::POST,
        "/v1/byok?verify=true",
        admin,
        Some(rejected),
    )
    .await;
    let error = assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["param"], "api_key");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("anthropic rejected the key"),
        "{}",
        r.text
    );
    assert!(!r.text.contains("sk-ant-invalid-0000"));
    assert_error(
        &call(&app, Method::GET, "/v1/byok/anthropic", admin, None).await,
        StatusCode::NOT_FOUND,
    );

    let down = json!({"provider": "xai", "api_key": "xai-somekey-1234"});
    assert_error(
        &call(
            &app,
            Method::POST,
            "/v1/byok?verify=true",
            admin,
            Some(down),
        )
        .await,
        StatusCode::BAD_GATEWAY,
    );
    assert_error(
        &call(&app, Method::GET, "/v1/byok/xai", admin, None).await,
        StatusCode::NOT_FOUND,
    );

    let good = json!({"provider": "anthropic", "api_key": "sk-ant-good-5678"});
    let r = call(
        &app,
        Method::POST,
        "/v1/byok?verify=true",
        admin,
        Some(good),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.body["last_verified_at"].is_string(), "{}", r.text);
    let seen = anthropic.requests();
    assert_eq!(
        seen.iter()
            .filter(|q| q.path.starts_with("/v1/models"))
            .count(),
        2,
        "a free list-models call per verify"
    );
    assert_error(
        &call(
            &app,
            Method::POST,
            "/v1/byok?verify=maybe",
            admin,
            Some(json!({"provider": "openai", "api_key": "k"})),
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
}
