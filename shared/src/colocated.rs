//! The router's in-memory state, as the management functions may reach it when they share its process.
//!
//! On Lambda every function is its own process: a key rotated through the keys function cannot reach the
//! router's caches, which converge within their TTL (`BYOK_CACHE_TTL_MS`), and nothing is connected here.
//! The local server (`byok serve`, cli/src/server.rs) runs every function in one process; there, and only
//! there, it connects the router's caches with [`crate::AppState::connect`], so that a change made through
//! the API takes effect at once and `explain` sees the router's cooldowns.

use async_trait::async_trait;

use crate::domain::policy::CooldownView;
use crate::domain::provider::Provider;

/// A change made through the management API that a cache elsewhere in the process may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'a> {
    /// A provider key was stored, rotated or deleted (`org_id: None`: the platform's).
    ProviderKey {
        org_id: Option<&'a str>,
        provider: Provider,
    },
    /// One of the org's policies changed (which may change every policy nesting it).
    Policies { org_id: &'a str },
    /// The org's own settings changed (its auto-caching default).
    Org { org_id: &'a str },
}

#[async_trait]
pub trait Colocated: Send + Sync {
    /// Forget what `change` makes stale.
    async fn changed(&self, change: Change<'_>);

    /// `org_id`'s view of the router's target health.
    fn health<'a>(&'a self, org_id: &'a str) -> Box<dyn CooldownView + 'a>;
}
