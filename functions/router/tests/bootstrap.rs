//! The real `byok-router` bootstrap under a Lambda Runtime API with response streaming, on DynamoDB Local
//! and KMS (moto), decrypting the org's own key and streaming a mock provider's answer.

use byok_mock_providers::{Kind, MockProvider};
use byok_shared::domain::provider::Provider;
use byok_shared::repo::provider_keys::{self, Owner};
use byok_shared::secret::Secret;
use byok_testkit::lambda::fixture_with_key;
use byok_testkit::{Backend, TestBackend, fixtures, runtime_api};

#[tokio::test]
async fn the_bootstrap_streams_through_kms_and_the_provider() {
    let b = TestBackend::new(Backend::Aws).await;
    let anthropic = MockProvider::start(Kind::Anthropic).await;
    let org = fixtures::org(b.store.as_ref(), "Acme").await;
    let owner = Owner::Org(&org.org_id);
    let key = Secret::new("sk-ant-own-key-1111");
    provider_keys::create(
        b.store.as_ref(),
        b.cipher.as_ref(),
        owner,
        Provider::Anthropic,
        &key,
        None,
        None,
    )
    .await
    .unwrap();
    let mut env = b.lambda_env();
    env.push(("BYOK_ANTHROPIC_BASE_URL", anthropic.base_url()));
    let event = fixture_with_key("byok-router", "chat-completions-stream.json", &org.admin);
    let r = runtime_api::invoke(env!("CARGO_BIN_EXE_byok-router"), &event, &env).await;
    assert!(r.streamed, "the router answers in Lambda's streaming mode");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("mock anthropic") && r.body.trim_end().ends_with("data: [DONE]"),
        "{}",
        r.body
    );
    let seen = anthropic.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].header("x-api-key"),
        Some("sk-ant-own-key-1111"),
        "decrypted with KMS in the bootstrap"
    );
}
