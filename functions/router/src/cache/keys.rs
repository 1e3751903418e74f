//! Provider keys for the hot path: decrypted once, then served from memory for the cache TTL. Entries are
//! `Arc<Secret>`, so the plaintext is zeroized when the last user drops it after eviction.

use std::sync::Arc;
use std::time::Duration;

use byok_shared::Result;
use byok_shared::cache::TtlCache;
use byok_shared::cipher::Cipher;
use byok_shared::domain::policy::KeyKind;
use byok_shared::domain::provider::Provider;
use byok_shared::repo::provider_keys::{self, Owner};
use byok_shared::secret::Secret;
use byok_shared::store::Store;

/// Whose key: `Some(org)` for an org's own, `None` for the platform's.
type Whose = (Option<String>, Provider);

pub struct KeyCache {
    cache: TtlCache<Whose, Option<Arc<Secret>>>,
}

impl KeyCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            cache: TtlCache::new(50_000, ttl),
        }
    }

    /// The plaintext key of this kind for `org_id` and `provider`, `None` when none is stored. Errors
    /// (store or KMS down, a ciphertext that does not decrypt) are not cached.
    pub async fn get(
        &self,
        store: &dyn Store,
        cipher: &dyn Cipher,
        org_id: &str,
        provider: Provider,
        kind: KeyKind,
    ) -> Result<Option<Arc<Secret>>> {
        let org = match kind {
            KeyKind::Own => Some(org_id.to_owned()),
            KeyKind::Platform => None,
        };
        let owner = match kind {
            KeyKind::Own => Owner::Org(org_id),
            KeyKind::Platform => Owner::Platform,
        };
        self.cache
            .get_or_try_load(&(org, provider), async move {
                provider_keys::decrypt(store, cipher, owner, provider)
                    .await
                    .map(|k| k.map(Arc::new))
            })
            .await
    }

    /// Forget a key at once (after a change on this instance); other instances converge within the TTL.
    pub fn invalidate(&self, org_id: Option<&str>, provider: Provider) {
        self.cache.remove(&(org_id.map(str::to_owned), provider));
    }
}
