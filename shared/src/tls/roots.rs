//! The process's CA roots, built once ([`RootsSource`]), and the provider client's TLS configuration on them.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, OnceLock};

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;

use super::RootsSource;

/// The source the configuration chose; set by [`use_roots`] before any client is built.
static SOURCE: OnceLock<RootsSource> = OnceLock::new();

/// Choose the roots' source for this process (the configuration's `BYOK_TLS_ROOTS`). Only the first call
/// counts, and only before the first TLS client is built; without it, the environment decides the same way.
pub fn use_roots(source: RootsSource) {
    let _ = SOURCE.set(source);
}

static ROOTS: LazyLock<Arc<RootCertStore>> = LazyLock::new(|| {
    let source = *SOURCE.get_or_init(|| {
        RootsSource::from_lookup(&|k| std::env::var(k).ok()).unwrap_or(RootsSource::Platform)
    });
    let store = match source {
        RootsSource::Platform => platform_roots(),
        RootsSource::Bundled => bundled_roots(),
    };
    tracing::debug!(?source, roots = store.len(), "TLS roots loaded");
    Arc::new(store)
});

/// Every distinct platform certificate that parses as a trust anchor.
fn platform_roots() -> RootCertStore {
    let loaded = rustls_native_certs::load_native_certs();
    for error in &loaded.errors {
        tracing::warn!(%error, "a platform CA certificate could not be read");
    }
    distinct_roots(loaded.certs)
}

/// Mozilla's roots as `webpki-roots` compiles them in: already trust anchors, nothing parsed.
fn bundled_roots() -> RootCertStore {
    RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned())
}

/// The certificates that parse as trust anchors, each once (Debian-style stores hold each CA twice: in the
/// bundle and in a file of its own).
fn distinct_roots(certs: Vec<CertificateDer<'static>>) -> RootCertStore {
    let mut seen = HashSet::new();
    let mut store = RootCertStore::empty();
    for cert in certs {
        if seen.insert(cert.as_ref().to_vec()) {
            let _ = store.add(cert);
        }
    }
    if store.is_empty() {
        tracing::warn!("no platform CA certificates found: TLS connections will fail");
    }
    store
}

/// The provider client's TLS: what `reqwest` builds for itself (its default crypto provider, TLS 1.2 and 1.3,
/// ALPN h2 then http/1.1), verified against the shared roots.
pub fn provider_config() -> rustls::ClientConfig {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the default crypto provider supports the default TLS versions")
        .with_root_certificates(ROOTS.clone())
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_root_is_kept_once() {
        let certs = rustls_native_certs::load_native_certs().certs;
        let distinct: HashSet<_> = certs.iter().map(|c| c.as_ref().to_vec()).collect();
        let twice = certs.iter().chain(&certs).cloned().collect();
        let store = distinct_roots(twice);
        assert!(!store.is_empty(), "this machine has CA roots");
        assert!(store.len() <= distinct.len());
        assert_eq!(store.len(), platform_roots().len());
    }

    #[test]
    fn the_bundled_roots_hold_the_cas_of_aws_and_the_providers() {
        let subjects: Vec<String> = bundled_roots()
            .roots
            .iter()
            .map(|anchor| String::from_utf8_lossy(anchor.subject.as_ref()).into_owned())
            .collect();
        // DynamoDB and KMS (Amazon Trust Services); OpenAI, Anthropic and xAI behind Cloudflare or Google
        // (Google Trust Services, DigiCert, ISRG).
        for name in [
            "Amazon Root CA 1",
            "GTS Root R1",
            "GTS Root R4",
            "DigiCert Global Root G2",
            "ISRG Root X1",
        ] {
            assert!(
                subjects.iter().any(|s| s.contains(name)),
                "{name} is bundled"
            );
        }
    }

    #[test]
    fn the_provider_config_offers_h2_and_http1() {
        let config = provider_config();
        assert_eq!(
            config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }
}
