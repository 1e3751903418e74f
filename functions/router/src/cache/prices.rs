//! The operator's price table for the hot path: loaded once and served from memory for the cache TTL, so a
//! warm request makes no store call for prices. An operator's change (`byok price set|import`) reaches
//! every instance within the TTL.

use std::sync::Arc;
use std::time::Duration;

use byok_shared::Result;
use byok_shared::cache::TtlCache;
use byok_shared::domain::price::PriceTable;
use byok_shared::repo::prices;
use byok_shared::store::Store;

pub struct PriceCache {
    cache: TtlCache<(), Arc<PriceTable>>,
}

impl PriceCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            cache: TtlCache::new(1, ttl),
        }
    }

    /// The current table. A failed load is not cached.
    pub async fn get(&self, store: &dyn Store) -> Result<Arc<PriceTable>> {
        self.cache
            .get_or_try_load(&(), async { prices::load(store).await.map(Arc::new) })
            .await
    }
}
