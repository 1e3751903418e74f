//! Every API Gateway fixture in events/byok-manage, parsed by lambda_http as on Lambda, through the router.

use axum::http::StatusCode;
use byok_shared::domain::permissions::{Completions, Manage, Permissions};
use byok_shared::repo::apikeys::{self, NewKey};
use byok_testkit::{Backend, TestBackend, events, fixtures};

const FIXTURE_ID: &str = "key_01jf3k8v5q2w7r9t4y6m8n0p2c";

#[tokio::test]
async fn every_fixture_is_served() {
    let backend = TestBackend::new(Backend::Embedded).await;
    let store = backend.store.as_ref();
    let org = fixtures::org(store, "Acme").await;
    let new = NewKey {
        name: "seeded".into(),
        permissions: Permissions {
            manage: Manage::None,
            completions: Completions::Write,
        },
        monthly_limit: 5.0,
        allowed_models: Vec::new(),
        expires_at: None,
        labels: Default::default(),
        default_model: None,
    };
    let (seeded, _) = apikeys::create(store, &org.org_id, new, None)
        .await
        .unwrap();
    let app = byok_manage::router(backend.state(|_| {}));
    let expected = [
        ("apikey-create.json", StatusCode::CREATED),
        ("apikey-create-put.json", StatusCode::CREATED),
        ("apikey-list.json", StatusCode::OK),
        ("apikey-get.json", StatusCode::OK),
        ("apikey-limit.json", StatusCode::NO_CONTENT),
        ("apikey-patch.json", StatusCode::OK),
        ("apikey-usage.json", StatusCode::OK),
        ("org-get.json", StatusCode::OK),
        ("org-usage.json", StatusCode::OK),
        ("apikey-delete.json", StatusCode::NO_CONTENT),
    ];
    events::run_fixtures("byok-manage", &app, &org.admin, &expected, |text| {
        text.replace(FIXTURE_ID, &seeded.api_key_id)
    })
    .await;
}
