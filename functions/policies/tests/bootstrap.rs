//! The real `byok-policies` bootstrap under a Lambda Runtime API, on DynamoDB Local.

use byok_testkit::lambda::fixture_with_key;
use byok_testkit::{Backend, TestBackend, fixtures, runtime_api};

#[tokio::test]
async fn the_bootstrap_answers_a_fixture() {
    let b = TestBackend::new(Backend::Aws).await;
    let org = fixtures::org(b.store.as_ref(), "Acme").await;
    let event = fixture_with_key("byok-policies", "create.json", &org.admin);
    let r = runtime_api::invoke(env!("CARGO_BIN_EXE_byok-policies"), &event, &b.lambda_env()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.contains("fast-chat"), "{}", r.body);
}
