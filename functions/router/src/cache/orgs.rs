//! The org's own settings the hot path reads (its auto-caching default), served from memory for the cache
//! TTL. A change through the API on this instance invalidates at once.

use byok_shared::error::Result;
use byok_shared::repo::orgs;
use byok_shared::store::Store;

pub struct OrgCache {
    /// org id → its auto-caching default.
    cache: moka::future::Cache<String, Option<bool>>,
}

impl OrgCache {
    pub fn new(ttl: std::time::Duration) -> Self {
        Self {
            cache: moka::future::Cache::builder()
                .max_capacity(20_000)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// The org's auto-caching default (`None`: not set).
    pub async fn auto_cache(&self, store: &dyn Store, org_id: &str) -> Result<Option<bool>> {
        self.cache
            .try_get_with(org_id.to_owned(), async {
                Ok(orgs::get(store, org_id).await?.auto_cache)
            })
            .await
            .map_err(Into::into)
    }

    pub async fn invalidate(&self, org_id: &str) {
        self.cache.invalidate(org_id).await;
    }
}
