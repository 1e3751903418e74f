//! The Lambda router, built without the OpenAPI document, serves every operation the document shows.

use byok_testkit::routes::assert_serves_every_operation;
use byok_testkit::{Backend, TestBackend};

#[tokio::test]
async fn the_plain_router_serves_every_documented_operation() {
    let backend = TestBackend::new(Backend::Embedded).await;
    let app = byok_router::router(backend.state(|_| {}));
    let (_, doc) = byok_router::routes().split_for_parts();
    assert_serves_every_operation(&app, &doc).await;
}
