//! Every API Gateway fixture in events/byok-keys, parsed by lambda_http as on Lambda, through the router.

use axum::http::StatusCode;
use byok_shared::domain::provider::Provider;
use byok_shared::repo::provider_keys::{self, Owner};
use byok_shared::secret::Secret;
use byok_testkit::{Backend, TestBackend, events, fixtures};

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
    events::run_fixtures("byok-keys", &app, &org.admin, &expected, str::to_owned).await;
}
