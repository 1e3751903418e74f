//! Every API Gateway fixture in events/byok-policies, parsed by lambda_http as on Lambda, through the router.

use axum::http::StatusCode;
use byok_testkit::{Backend, TestBackend, events, fixtures};

#[tokio::test]
async fn every_fixture_is_served() {
    let backend = TestBackend::new(Backend::Embedded).await;
    let org = fixtures::org(backend.store.as_ref(), "Acme").await;
    let app = byok_policies::router(backend.state(|_| {}));
    let expected = [
        ("create.json", StatusCode::CREATED),
        ("get.json", StatusCode::OK),
        ("list.json", StatusCode::OK),
        ("explain.json", StatusCode::OK),
        ("update.json", StatusCode::OK),
        ("delete.json", StatusCode::NO_CONTENT),
    ];
    events::run_fixtures("byok-policies", &app, &org.admin, &expected, str::to_owned).await;
}
