//! The org's own record for the hot path (its auto-caching default, its platform-key entitlement), read
//! once and served from memory for the cache TTL: one cache for every setting the router reads, so a cold
//! request reads the org at most once. A change through the API on this instance invalidates at once.

use std::sync::Arc;

use byok_shared::cache::TtlCache;
use byok_shared::domain::org::Org;
use byok_shared::error::Result;
use byok_shared::repo::orgs;
use byok_shared::store::Store;

pub struct OrgCache {
    cache: TtlCache<String, Arc<Org>>,
}

impl OrgCache {
    pub fn new(ttl: std::time::Duration) -> Self {
        Self {
            cache: TtlCache::new(20_000, ttl),
        }
    }

    /// The org's record.
    pub async fn get(&self, store: &dyn Store, org_id: &str) -> Result<Arc<Org>> {
        self.cache
            .get_or_try_load(org_id, async {
                orgs::get(store, org_id).await.map(Arc::new)
            })
            .await
    }

    /// Whether the org's record is in memory now.
    pub fn contains(&self, org_id: &str) -> bool {
        self.cache.contains(org_id)
    }

    /// The org's auto-caching default (`None`: not set).
    pub async fn auto_cache(&self, store: &dyn Store, org_id: &str) -> Result<Option<bool>> {
        Ok(self.get(store, org_id).await?.auto_cache)
    }

    pub fn invalidate(&self, org_id: &str) {
        self.cache.remove(org_id);
    }
}
