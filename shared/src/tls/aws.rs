//! The AWS SDK's HTTPS client on the shared roots: the SDK's own default client (rustls on aws-lc, the
//! connector settings and sleep of each SDK client, the proxy from the environment), with its trust store
//! given instead of loaded again.

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// What `aws-config`'s default HTTPS client is (as of `BehaviorVersion::v2025_08_07`), on [`super::native_pem`].
/// `build_with_connector_fn` is the hook `aws-smithy-runtime` builds that default with. It is hidden from the
/// docs, so an SDK upgrade may move it: this file would then stop compiling, and `shared/tests/tls_roots.rs`
/// checks that the client still trusts exactly the shared roots.
pub fn aws_http_client() -> SharedHttpClient {
    let context = TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(super::native_pem()))
        .build()
        .expect("a TLS context with only a trust store builds");
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector = ConnectorBuilder::default()
            .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(context.clone());
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}
