//! Policies for the hot path: a policy and every policy it references, loaded once and served from memory
//! for the cache TTL. Changes through the API on this instance invalidate at once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use byok_shared::cache::TtlCache;
use byok_shared::domain::policy::Policy;
use byok_shared::error::{Error, Result};
use byok_shared::repo::policies;
use byok_shared::store::Store;

/// A policy with the nested policies it can reach.
pub struct Loaded {
    pub policy: Policy,
    pub references: BTreeMap<String, Policy>,
}

pub struct PolicyCache {
    cache: TtlCache<(String, String), Arc<Loaded>>,
}

impl PolicyCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            cache: TtlCache::new(20_000, ttl),
        }
    }

    /// The org's policy `name` (404 when absent), with its references.
    pub async fn get(&self, store: &dyn Store, org_id: &str, name: &str) -> Result<Arc<Loaded>> {
        self.cache
            .get_or_try_load(&(org_id.to_owned(), name.to_owned()), async {
                let record = policies::get(store, org_id, name).await?.ok_or_else(|| {
                    Error::not_found(format!("no policy named {name}")).with_param("model")
                })?;
                let references = policies::load_references(store, org_id, &record.policy).await?;
                Ok(Arc::new(Loaded {
                    policy: record.policy,
                    references,
                }))
            })
            .await
    }

    /// Forget every cached policy of the org: a change to one may change the routes of those nesting it.
    pub fn invalidate_org(&self, org_id: &str) {
        self.cache.remove_where(|(o, _)| o == org_id);
    }
}
