//! The cipher port's contract on both adapters: local AES-256-GCM and KMS (moto enforces the context).

use byok_shared::cipher::{CipherError, EncryptionContext};
use byok_shared::secret::Secret;
use byok_testkit::{Backend, TestBackend};

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod local_aes_gcm {
            $(#[tokio::test]
            async fn $name() { super::$name(byok_testkit::Backend::Embedded).await })*
        }
        mod kms {
            $(#[tokio::test]
            async fn $name() { super::$name(byok_testkit::Backend::Aws).await })*
        }
    };
}

on_both_backends!(
    round_trip,
    moved_ciphertext_fails,
    tampered_ciphertext_fails,
    ciphertext_hides_plaintext
);

fn ctx(org: &str, provider: &str, record: &str) -> EncryptionContext {
    EncryptionContext::new(org, provider, record)
}

const KEY: &str = "sk-proj-contract-test-1234567890";

async fn round_trip(backend: Backend) {
    let b = TestBackend::new(backend).await;
    let c = ctx("org_a", "openai", "pk_1");
    let sealed = b.cipher.encrypt(&Secret::new(KEY), &c).await.unwrap();
    assert_eq!(b.cipher.decrypt(&sealed, &c).await.unwrap().expose(), KEY);
    let again = b.cipher.encrypt(&Secret::new(KEY), &c).await.unwrap();
    assert_ne!(sealed, again, "every encryption is randomised");
}

async fn moved_ciphertext_fails(backend: Backend) {
    let b = TestBackend::new(backend).await;
    let sealed = b
        .cipher
        .encrypt(&Secret::new(KEY), &ctx("org_a", "openai", "pk_1"))
        .await
        .unwrap();
    for wrong in [
        ctx("org_b", "openai", "pk_1"),
        ctx("org_a", "anthropic", "pk_1"),
        ctx("org_a", "openai", "pk_2"),
    ] {
        assert_eq!(
            b.cipher.decrypt(&sealed, &wrong).await.unwrap_err(),
            CipherError::Rejected,
            "{wrong:?}"
        );
    }
}

async fn tampered_ciphertext_fails(backend: Backend) {
    let b = TestBackend::new(backend).await;
    let c = ctx("org_a", "openai", "pk_1");
    let sealed = b.cipher.encrypt(&Secret::new(KEY), &c).await.unwrap();
    // Each is the ciphertext's fault, never the key service's: `Rejected` (a 500 naming a bad stored key),
    // not `Unavailable` (a 503 that tells the caller to retry what can never succeed).
    for at in [sealed.len() / 2, sealed.len() - 1] {
        let mut bad = sealed.clone();
        bad[at] ^= 0x01;
        assert_eq!(
            b.cipher.decrypt(&bad, &c).await.unwrap_err(),
            CipherError::Rejected,
            "flipped byte {at}"
        );
    }
    assert_eq!(
        b.cipher
            .decrypt(&sealed[..sealed.len() - 1], &c)
            .await
            .unwrap_err(),
        CipherError::Rejected,
        "truncated"
    );
    assert_eq!(
        b.cipher.decrypt(&[], &c).await.unwrap_err(),
        CipherError::Rejected,
        "empty"
    );
}

async fn ciphertext_hides_plaintext(backend: Backend) {
    let b = TestBackend::new(backend).await;
    let sealed = b
        .cipher
        .encrypt(&Secret::new(KEY), &ctx("org_a", "openai", "pk_1"))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&sealed);
    assert!(
        !text.contains("contract-test"),
        "plaintext visible in ciphertext"
    );
}
