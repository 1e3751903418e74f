//! The Lambda routers, built without the OpenAPI document, serve every operation the document shows.

use byok_testkit::routes::assert_serves_every_operation;
use byok_testkit::{Backend, TestBackend};

#[tokio::test]
async fn the_plain_routers_serve_every_documented_operation() {
    let (_, doc) = byok_console::routes::<()>().split_for_parts();
    assert_serves_every_operation(&byok_console::app(), &doc).await;
    let backend = TestBackend::new(Backend::Embedded).await;
    assert_serves_every_operation(&byok_console::router(backend.state(|_| {})), &doc).await;
}
