//! The cipher port: envelope-free authenticated encryption of provider keys, bound to where they live.
//!
//! The encryption context names the org, the provider and the record id; it is authenticated (KMS
//! encryption context, AES-GCM associated data), so a ciphertext copied to another row fails to decrypt.
//! Data larger than a KMS call takes goes through [`envelope`] (a data key per message, wrapped by the port).

pub mod envelope;
pub mod kms;
#[cfg(feature = "local")]
pub mod local;

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::secret::Secret;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionContext {
    pub org: String,
    pub provider: String,
    pub record: String,
}

impl EncryptionContext {
    pub fn new(
        org: impl Into<String>,
        provider: impl Into<String>,
        record: impl Into<String>,
    ) -> Self {
        Self {
            org: org.into(),
            provider: provider.into(),
            record: record.into(),
        }
    }

    /// The context as the KMS map, and (serialised in sorted order) as AES-GCM associated data.
    pub fn as_map(&self) -> BTreeMap<&'static str, &str> {
        BTreeMap::from([
            ("org", self.org.as_str()),
            ("provider", self.provider.as_str()),
            ("record", self.record.as_str()),
        ])
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    /// The ciphertext is not valid for this context (moved, tampered, or another key).
    #[error("the ciphertext does not decrypt under this context")]
    Rejected,
    /// The key service could not be reached or refused to work.
    #[error("cipher unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Cipher: Send + Sync + 'static {
    async fn encrypt(
        &self,
        plaintext: &Secret,
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, CipherError>;
    async fn decrypt(
        &self,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Secret, CipherError>;
}
