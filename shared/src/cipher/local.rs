//! Local cipher: AES-256-GCM under a master key file (created on first run, mode 0600), a random 96-bit nonce
//! per encryption and the encryption context as associated data.
//!
//! Ciphertext layout: `0x01 | nonce (12) | ciphertext + tag (16)`.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use async_trait::async_trait;
use zeroize::Zeroizing;

use super::{Cipher, CipherError, EncryptionContext};
use crate::secret::Secret;

const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 12;

pub struct LocalCipher {
    aead: Aes256Gcm,
}

impl LocalCipher {
    /// Load the master key at `path`, creating it (0600, 32 random bytes) if it does not exist.
    pub fn open_or_create(path: &Path) -> std::io::Result<Self> {
        let key = match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(mut file) => {
                let key = Aes256Gcm::generate_key(OsRng);
                file.write_all(&key)?;
                file.sync_all()?;
                Zeroizing::new(key.to_vec())
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(std::io::Error::new(
                        ErrorKind::PermissionDenied,
                        format!(
                            "master key {} is readable by others (mode {mode:o}); chmod 600 it",
                            path.display()
                        ),
                    ));
                }
                let mut buf = Zeroizing::new(Vec::with_capacity(32));
                std::fs::File::open(path)?.read_to_end(&mut buf)?;
                buf
            }
            Err(e) => return Err(e),
        };
        if key.len() != 32 {
            return Err(std::io::Error::new(
                ErrorKind::InvalidData,
                "master key file must hold 32 bytes",
            ));
        }
        Ok(Self {
            aead: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key)),
        })
    }
}

fn associated_data(context: &EncryptionContext) -> Vec<u8> {
    // Sorted map as JSON: unambiguous, and the same fields KMS gets.
    serde_json::to_vec(&context.as_map()).unwrap_or_default()
}

#[async_trait]
impl Cipher for LocalCipher {
    async fn encrypt(
        &self,
        plaintext: &Secret,
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, CipherError> {
        let nonce = Aes256Gcm::generate_nonce(OsRng);
        let aad = associated_data(context);
        let sealed = self
            .aead
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.expose().as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| CipherError::Unavailable("encryption failed".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    async fn decrypt(
        &self,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Secret, CipherError> {
        let (&version, rest) = ciphertext.split_first().ok_or(CipherError::Rejected)?;
        if version != FORMAT_V1 || rest.len() < NONCE_LEN + 16 {
            return Err(CipherError::Rejected);
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let aad = associated_data(context);
        let plain = Zeroizing::new(
            self.aead
                .decrypt(
                    Nonce::from_slice(nonce),
                    Payload {
                        msg: sealed,
                        aad: &aad,
                    },
                )
                .map_err(|_| CipherError::Rejected)?,
        );
        let text = std::str::from_utf8(&plain).map_err(|_| CipherError::Rejected)?;
        Ok(Secret::new(text))
    }
}
