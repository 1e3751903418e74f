//! The platform's CA roots, read once per process, and the provider client's TLS configuration on them.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use base64::Engine;
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;

/// Every distinct platform certificate that parses as a trust anchor, and the store built from them.
struct Roots {
    certs: Vec<CertificateDer<'static>>,
    store: Arc<RootCertStore>,
}

static NATIVE: LazyLock<Roots> = LazyLock::new(|| {
    let loaded = rustls_native_certs::load_native_certs();
    for error in &loaded.errors {
        tracing::warn!(%error, "a platform CA certificate could not be read");
    }
    let mut seen = HashSet::new();
    let mut store = RootCertStore::empty();
    let mut certs = Vec::new();
    for cert in loaded.certs {
        if seen.insert(cert.as_ref().to_vec()) && store.add(cert.clone()).is_ok() {
            certs.push(cert);
        }
    }
    if certs.is_empty() {
        tracing::warn!("no platform CA certificates found: TLS connections will fail");
    }
    Roots {
        certs,
        store: Arc::new(store),
    }
});

/// The provider client's TLS: what `reqwest` builds for itself (its default crypto provider, TLS 1.2 and 1.3,
/// ALPN h2 then http/1.1), verified against the shared roots.
pub fn provider_config() -> rustls::ClientConfig {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the default crypto provider supports the default TLS versions")
        .with_root_certificates(NATIVE.store.clone())
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config
}

/// The shared roots as one PEM bundle (the AWS SDK's trust store takes PEM).
pub(super) fn native_pem() -> Vec<u8> {
    let engine = &base64::engine::general_purpose::STANDARD;
    let mut pem = String::new();
    for cert in &NATIVE.certs {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        let text = engine.encode(cert.as_ref());
        for line in text.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    pem.into_bytes()
}

#[cfg(test)]
mod tests {
    use rustls_pki_types::pem::PemObject;

    use super::*;

    #[test]
    fn the_pem_bundle_holds_every_shared_root_once() {
        let back: Vec<_> = CertificateDer::pem_slice_iter(&native_pem())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back, NATIVE.certs);
        assert_eq!(NATIVE.store.len(), NATIVE.certs.len());
        let distinct: HashSet<_> = back.iter().map(|c| c.as_ref().to_vec()).collect();
        assert_eq!(distinct.len(), back.len());
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
