//! Gateway API keys: the secret's format, its hash, and the stored record.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::permissions::Permissions;
use crate::secret::Secret;

/// Readable prefix of every gateway key secret.
pub const SECRET_PREFIX: &str = "bgk_";
/// 32 random bytes, hex: 64 characters.
const SECRET_BODY_LEN: usize = 64;

/// A new random secret: `bgk_` + 64 hex characters (256 bits of entropy).
pub fn generate_secret() -> Secret {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(bytes.as_mut());
    Secret::new(format!("{SECRET_PREFIX}{}", hex::encode(bytes.as_ref())))
}

/// True when the presented value has exactly the format of a gateway secret. Checked before hashing, so
/// nothing of arbitrary shape from a header ever reaches the store.
pub fn is_well_formed(presented: &str) -> bool {
    presented.strip_prefix(SECRET_PREFIX).is_some_and(|body| {
        body.len() == SECRET_BODY_LEN
            && body
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// SHA-256 of the whole secret, hex. The secret has 256 bits of entropy, so a fast hash is the right tool
/// (no password stretching needed) and lets the hash serve as the lookup key.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub api_key_id: String,
    pub org_id: String,
    pub name: String,
    pub key_hash: String,
    pub permissions: Permissions,
    /// USD per calendar month (UTC); 0 means unlimited.
    pub monthly_limit: f64,
    /// Models or `policy/<name>` entries this key may use; empty means all.
    #[serde(default)]
    pub allowed_models: Vec<String>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub created_by: Option<String>,
    /// Free-form labels (Requesty's `labels`): name → value.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    /// `<provider>/<model>` or `policy/<name>` used when a request names model `default` or none.
    #[serde(default)]
    pub default_model: Option<String>,
    /// Auto caching for requests that do not say (`requesty.auto_cache`); `None`: off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_cache: Option<bool>,
    /// Requests and tokens per minute (`rpm`, `tpm`); absent means unlimited.
    #[serde(default, flatten)]
    pub rate_limits: super::rate_limit::RateLimits,
    /// Requesty's `logging`: capture each request's and response's body (truncated, encrypted) in the
    /// request log. Off unless set.
    #[serde(default)]
    pub logging: bool,
}

impl ApiKey {
    pub fn is_expired(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_well_formed_and_distinct() {
        let a = generate_secret();
        let b = generate_secret();
        assert!(is_well_formed(a.expose()));
        assert_ne!(a.expose(), b.expose());
        assert_eq!(hash_secret(a.expose()).len(), 64);
    }

    #[test]
    fn rejects_other_shapes() {
        assert!(!is_well_formed(""));
        assert!(!is_well_formed("bgk_"));
        assert!(!is_well_formed(&format!("bgk_{}", "G".repeat(64))));
        assert!(!is_well_formed(&format!("bgk_{}' OR 1=1", "a".repeat(64))));
        assert!(!is_well_formed(&format!("sk-{}", "a".repeat(64))));
    }
}
