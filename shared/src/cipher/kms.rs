//! AWS KMS adapter: `Encrypt`/`Decrypt` with the encryption context `{org, provider, record}`.

use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use zeroize::Zeroizing;

use super::{Cipher, CipherError, EncryptionContext};
use crate::secret::Secret;

pub struct KmsCipher {
    client: Client,
    key_id: String,
}

impl KmsCipher {
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
        }
    }
}

fn map_err<E, R>(e: SdkError<E, R>) -> CipherError
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match &e {
        SdkError::ServiceError(service) => match service.err().code() {
            Some("InvalidCiphertextException") | Some("IncorrectKeyException") => {
                CipherError::Rejected
            }
            code => CipherError::Unavailable(format!(
                "kms {}: {}",
                code.unwrap_or("error"),
                service.err().message().unwrap_or_default()
            )),
        },
        _ => CipherError::Unavailable("kms unreachable".into()),
    }
}

#[async_trait]
impl Cipher for KmsCipher {
    async fn encrypt(
        &self,
        plaintext: &Secret,
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, CipherError> {
        let mut request = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(plaintext.expose().as_bytes()));
        for (k, v) in context.as_map() {
            request = request.encryption_context(k, v);
        }
        let out = request.send().await.map_err(map_err)?;
        out.ciphertext_blob
            .map(Blob::into_inner)
            .ok_or_else(|| CipherError::Unavailable("kms returned no ciphertext".into()))
    }

    async fn decrypt(
        &self,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Secret, CipherError> {
        let mut request = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(ciphertext));
        for (k, v) in context.as_map() {
            request = request.encryption_context(k, v);
        }
        let out = request.send().await.map_err(map_err)?;
        let plain = Zeroizing::new(
            out.plaintext
                .map(Blob::into_inner)
                .ok_or(CipherError::Rejected)?,
        );
        let text = std::str::from_utf8(&plain).map_err(|_| CipherError::Rejected)?;
        Ok(Secret::new(text))
    }
}
