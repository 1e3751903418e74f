//! The real `byok-manage` bootstrap under a Lambda Runtime API, on DynamoDB Local.

use byok_testkit::lambda::fixture_with_key;
use byok_testkit::{Backend, TestBackend, fixtures, runtime_api};

#[tokio::test]
async fn the_bootstrap_answers_a_fixture() {
    let b = TestBackend::new(Backend::Aws).await;
    let org = fixtures::org(b.store.as_ref(), "Acme").await;
    let event = fixture_with_key("byok-manage", "org-get.json", &org.admin);
    let r = runtime_api::invoke(env!("CARGO_BIN_EXE_byok-manage"), &event, &b.lambda_env()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(&org.org_id), "{}", r.body);
}
