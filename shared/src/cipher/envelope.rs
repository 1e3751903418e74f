//! Envelope encryption through the cipher port, for data larger than one KMS `Encrypt` call takes (4,096
//! bytes of plaintext), such as captured request log payloads: a fresh random AES-256-GCM data key per
//! message encrypts the data here, and only the data key goes through the port (KMS `Encrypt`/`Decrypt`,
//! or the local master key) under the message's encryption context. The same context is the data's
//! associated data, so a sealed message copied to another record fails to open, as a direct ciphertext
//! does. One port call each way, as before.
//!
//! Layout: `0xE1 | wrapped key length (u16, big endian) | wrapped key | nonce (12) | ciphertext + tag (16)`.
//! The AEAD is aws-lc-rs, the crypto provider rustls already links into every binary.

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use super::{Cipher, CipherError, EncryptionContext};
use crate::secret::Secret;

/// The first byte of a sealed message (neither KMS ciphertext blobs nor the local cipher's start with it).
pub const FORMAT: u8 = 0xE1;
const KEY_LEN: usize = 32;
const TAG_LEN: usize = 16;

fn associated_data(context: &EncryptionContext) -> Vec<u8> {
    serde_json::to_vec(&context.as_map()).unwrap_or_default()
}

fn failed() -> CipherError {
    CipherError::Unavailable("encryption failed".into())
}

/// Encrypt `plaintext` (any length) under `context`.
pub async fn seal(
    cipher: &dyn Cipher,
    plaintext: &[u8],
    context: &EncryptionContext,
) -> Result<Vec<u8>, CipherError> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    aws_lc_rs::rand::fill(key.as_mut()).map_err(|_| failed())?;
    let wrapped = cipher
        .encrypt(&Secret::new(STANDARD.encode(key.as_ref())), context)
        .await?;
    let wrapped_len = u16::try_from(wrapped.len())
        .map_err(|_| CipherError::Unavailable("wrapped data key too long".into()))?;
    let aead = RandomizedNonceKey::new(&AES_256_GCM, key.as_ref()).map_err(|_| failed())?;
    let mut data = Vec::with_capacity(plaintext.len() + TAG_LEN);
    data.extend_from_slice(plaintext);
    let nonce = aead
        .seal_in_place_append_tag(Aad::from(associated_data(context)), &mut data)
        .map_err(|_| failed())?;
    let mut out = Vec::with_capacity(3 + wrapped.len() + NONCE_LEN + data.len());
    out.push(FORMAT);
    out.extend_from_slice(&wrapped_len.to_be_bytes());
    out.extend_from_slice(&wrapped);
    out.extend_from_slice(nonce.as_ref());
    out.extend_from_slice(&data);
    Ok(out)
}

/// Decrypt what [`seal`] made under the same `context`; anything else (moved, tampered, truncated) is
/// [`CipherError::Rejected`].
pub async fn open(
    cipher: &dyn Cipher,
    sealed: &[u8],
    context: &EncryptionContext,
) -> Result<Zeroizing<Vec<u8>>, CipherError> {
    let rest = match sealed.split_first() {
        Some((&FORMAT, rest)) if rest.len() >= 2 => rest,
        _ => return Err(CipherError::Rejected),
    };
    let (len, rest) = rest.split_at(2);
    let wrapped_len = usize::from(u16::from_be_bytes([len[0], len[1]]));
    if rest.len() < wrapped_len + NONCE_LEN + TAG_LEN {
        return Err(CipherError::Rejected);
    }
    let (wrapped, rest) = rest.split_at(wrapped_len);
    let (nonce, data) = rest.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CipherError::Rejected)?;
    let key_text = cipher.decrypt(wrapped, context).await?;
    let key = Zeroizing::new(
        STANDARD
            .decode(key_text.expose())
            .map_err(|_| CipherError::Rejected)?,
    );
    let aead = RandomizedNonceKey::new(&AES_256_GCM, &key).map_err(|_| CipherError::Rejected)?;
    let mut data = Zeroizing::new(data.to_vec());
    let plain_len = aead
        .open_in_place(nonce, Aad::from(associated_data(context)), &mut data)
        .map_err(|_| CipherError::Rejected)?
        .len();
    data.truncate(plain_len);
    Ok(data)
}

#[cfg(all(test, feature = "local"))]
mod tests {
    use super::*;
    use crate::cipher::local::LocalCipher;

    #[tokio::test]
    async fn seals_more_than_a_kms_call_takes_and_binds_the_context() {
        let dir = tempfile::tempdir().unwrap();
        let cipher = LocalCipher::open_or_create(&dir.path().join("master.key")).unwrap();
        let here = EncryptionContext::new("org_a", "request_log", "req_1");
        let data = "é".repeat(40_000);
        let sealed = seal(&cipher, data.as_bytes(), &here).await.unwrap();
        assert_eq!(sealed[0], FORMAT);
        assert!(!sealed.windows(4).any(|w| w == "éé".as_bytes()));
        let opened = open(&cipher, &sealed, &here).await.unwrap();
        assert_eq!(opened.as_slice(), data.as_bytes());

        for elsewhere in [
            EncryptionContext::new("org_b", "request_log", "req_1"),
            EncryptionContext::new("org_a", "request_log", "req_2"),
        ] {
            assert_eq!(
                open(&cipher, &sealed, &elsewhere).await.unwrap_err(),
                CipherError::Rejected
            );
        }
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(
            open(&cipher, &tampered, &here).await.unwrap_err(),
            CipherError::Rejected
        );
        for cut in [0, 1, 3, sealed.len() - 1] {
            assert!(open(&cipher, &sealed[..cut], &here).await.is_err(), "{cut}");
        }
    }
}
