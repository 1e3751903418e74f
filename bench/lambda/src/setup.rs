//! The world the bootstrap runs in: a fresh DynamoDB Local table and KMS key (the emulators of
//! `scripts/test`), an org with its own Anthropic key sealed by KMS, the Anthropic mock, and a delay proxy in
//! front of each AWS endpoint (and a recording one, without delay, in front of the provider).

use std::time::Duration;

use byok_mock_providers::{Kind, MockProvider};
use byok_shared::domain::provider::Provider;
use byok_shared::repo::provider_keys::{self, Owner};
use byok_shared::secret::Secret;
use byok_testkit::{Backend, TestBackend, fixtures};

use crate::proxy::{self, Running};

pub struct World {
    pub backend: TestBackend,
    pub _provider: MockProvider,
    pub dynamodb: Running,
    pub kms: Running,
    pub anthropic: Running,
    pub admin_key: String,
}

impl World {
    pub async fn new(delay: Duration) -> Result<Self, String> {
        for var in ["BYOK_TEST_DYNAMODB_ENDPOINT", "BYOK_TEST_KMS_ENDPOINT"] {
            if std::env::var(var).is_err() {
                return Err(format!(
                    "{var} is not set: run through scripts/bench-lambda, which starts DynamoDB Local and moto"
                ));
            }
        }
        let backend = TestBackend::new(Backend::Aws).await;
        let org = fixtures::org(backend.store.as_ref(), "Bench").await;
        provider_keys::create(
            backend.store.as_ref(),
            backend.cipher.as_ref(),
            Owner::Org(&org.org_id),
            Provider::Anthropic,
            &Secret::new("sk-ant-bench-own-key-0000"),
            None,
            None,
        )
        .await
        .map_err(|e| e.to_string())?;
        let provider = MockProvider::start(Kind::Anthropic).await;
        let env = |k: &str| std::env::var(k).unwrap_or_default();
        Ok(Self {
            dynamodb: proxy::start("dynamodb", &env("BYOK_TEST_DYNAMODB_ENDPOINT"), delay).await,
            kms: proxy::start("kms", &env("BYOK_TEST_KMS_ENDPOINT"), delay).await,
            anthropic: proxy::start("provider", &provider.base_url(), Duration::ZERO).await,
            _provider: provider,
            backend,
            admin_key: org.admin,
        })
    }

    /// The router's environment: the deployed one, with the AWS endpoints behind the delay proxies.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env: Vec<(&'static str, String)> = self
            .backend
            .lambda_env()
            .into_iter()
            .filter(|(k, _)| !k.starts_with("AWS_ENDPOINT_URL_"))
            .collect();
        env.push(("AWS_ENDPOINT_URL_DYNAMODB", self.dynamodb.url.clone()));
        env.push(("AWS_ENDPOINT_URL_KMS", self.kms.url.clone()));
        env.push(("BYOK_ANTHROPIC_BASE_URL", self.anthropic.url.clone()));
        env
    }

    /// Every AWS call so far, both services, in start order.
    pub fn aws_calls(&self) -> Vec<proxy::Call> {
        let mut calls = self.dynamodb.calls();
        calls.extend(self.kms.calls());
        calls.sort_by_key(|c| c.start);
        calls
    }
}
