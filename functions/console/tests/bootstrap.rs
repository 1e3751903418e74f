//! The real `byok-console` bootstrap under a Lambda Runtime API: no store, no KMS, no credentials.

use byok_testkit::runtime_api;

#[tokio::test]
async fn the_bootstrap_serves_the_page() {
    let event = byok_testkit::lambda::fixture_with_key("byok-console", "index.json", "unused");
    let r = runtime_api::invoke(env!("CARGO_BIN_EXE_byok-console"), &event, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<html"), "{}", r.body);
}
