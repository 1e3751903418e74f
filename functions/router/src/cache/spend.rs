//! The monthly spend limit, checked before any provider is called (412 when reached).
//!
//! Spend is read from the store's monthly counter and kept in memory for the cache TTL (and raised locally
//! by every request this instance serves), so a warm request makes no store call for it. Across instances
//! the overshoot is bounded by what the others serve within one TTL.

use std::time::Duration;

use byok_shared::Result;
use byok_shared::auth::Caller;
use byok_shared::error::{Error, ErrorKind};
use byok_shared::repo::usage;
use byok_shared::store::Store;

use crate::usage_writes::UsageWrites;

pub struct SpendCache {
    cache: moka::future::Cache<String, f64>,
}

impl SpendCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            cache: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl)
                .build(),
        }
    }

    pub async fn check(
        &self,
        store: &dyn Store,
        writes: &UsageWrites,
        caller: &Caller,
    ) -> Result<()> {
        let limit = caller.key.monthly_limit;
        if limit <= 0.0 {
            return Ok(());
        }
        let id = caller.api_key_id().to_owned();
        let spent = self
            .cache
            .try_get_with(id.clone(), async {
                // Writes still running behind earlier responses count too.
                writes.settled().await;
                usage::month_spend(store, caller.org_id(), Some(&id), chrono::Utc::now()).await
            })
            .await?;
        if spent >= limit {
            return Err(Error::new(
                ErrorKind::SpendLimit,
                format!(
                    "this API key reached its monthly limit of {limit} USD (spent {spent:.6} USD)"
                ),
            ));
        }
        Ok(())
    }

    /// Raise the cached spend after serving a request on this instance.
    pub async fn add(&self, api_key_id: &str, cost: f64) {
        if let Some(current) = self.cache.get(api_key_id).await {
            self.cache
                .insert(api_key_id.to_owned(), current + cost)
                .await;
        }
    }
}
