//! The AWS SDK's shared configuration for the DynamoDB and KMS clients.

use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// The SDK's defaults with: bounded calls (a hung backend gives 503, not a hang), the process's shared TLS
/// roots ([`crate::tls`]), and, when the environment holds keys (as Lambda's always does: the execution
/// role's), those keys directly. The default credentials chain would pick the same keys first, but building
/// the rest of it (profile files, web identity with its own STS client, container and instance metadata)
/// was about 7 % of the router's Lambda init by `perf`.
pub async fn load(timeouts: TimeoutConfig) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .http_client(crate::tls::aws_http_client());
    if env_keys() {
        loader = loader.credentials_provider(EnvironmentVariableCredentialsProvider::new());
    }
    loader.load().await
}

/// Both halves of an access key are in the environment (else the default chain looks elsewhere).
fn env_keys() -> bool {
    ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
        .iter()
        .all(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}
