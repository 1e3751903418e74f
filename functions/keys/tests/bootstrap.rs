//! The real `byok-keys` bootstrap, started as Lambda starts it (Runtime API, environment), on DynamoDB
//! Local and KMS (moto), answering an API Gateway fixture: what `sam local invoke` would run.

use byok_shared::domain::provider::Provider;
use byok_shared::repo::provider_keys::{self, Owner};
use byok_testkit::lambda::fixture_with_key;
use byok_testkit::{Backend, TestBackend, fixtures, runtime_api};

#[tokio::test]
async fn the_bootstrap_stores_a_key_through_kms() {
    let b = TestBackend::new(Backend::Aws).await;
    let org = fixtures::org(b.store.as_ref(), "Acme").await;
    let event = fixture_with_key("byok-keys", "create.json", &org.admin);
    let r = runtime_api::invoke(env!("CARGO_BIN_EXE_byok-keys"), &event, &b.lambda_env()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(!r.streamed);
    let owner = Owner::Org(&org.org_id);
    let plain =
        provider_keys::decrypt(b.store.as_ref(), b.cipher.as_ref(), owner, Provider::OpenAi)
            .await
            .unwrap();
    assert!(
        plain.unwrap().expose().starts_with("sk-proj-TEST0000"),
        "sealed with the stack's KMS key and context"
    );
}
