//! The router function's state: the shared [`AppState`] (ports, configuration, provider client) plus the
//! caches only the router uses. Built once per cold start, or once by the local server, which also connects
//! the caches to the management functions' changes (`byok_shared::colocated`).

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::FromRef;
use byok_shared::AppState;
use byok_shared::colocated::{Change, Colocated};
use byok_shared::domain::policy::CooldownView;
use byok_shared::routing::cooldown::Cooldowns;

use crate::cache::keys::KeyCache;
use crate::cache::last_used::LastUsed;
use crate::cache::orgs::OrgCache;
use crate::cache::policies::PolicyCache;
use crate::cache::prices::PriceCache;
use crate::cache::spend::Budgets;
use crate::usage_writes::Batched;
use crate::writes::Job;

#[derive(Clone)]
pub struct Gateway {
    app: AppState,
    caches: Arc<Caches>,
}

/// The router's in-memory state.
pub struct Caches {
    pub keys: KeyCache,
    pub policies: PolicyCache,
    pub orgs: OrgCache,
    pub prices: PriceCache,
    /// This instance's leases on spend budgets.
    pub spend: Budgets,
    pub cooldowns: Cooldowns,
    pub last_used: LastUsed,
    /// Where the writes requests leave behind them run (`writes`).
    pub usage_writes: Batched<Job>,
}

impl Gateway {
    pub fn new(app: AppState) -> Self {
        let ttl = app.config().cache_ttl;
        let usage_writes = if app.config().usage_behind_response {
            Batched::behind_response()
        } else {
            Batched::inline()
        };
        let caches = Caches {
            keys: KeyCache::new(ttl),
            policies: PolicyCache::new(ttl),
            orgs: OrgCache::new(ttl),
            prices: PriceCache::new(ttl),
            spend: Budgets::new(
                app.config().spend.lease_cap_nanos,
                app.config().spend.lease_ttl,
            ),
            cooldowns: Cooldowns::default(),
            last_used: LastUsed::default(),
            usage_writes,
        };
        Self {
            app,
            caches: Arc::new(caches),
        }
    }

    /// Starts loading what every request needs and no caller decides (the price table), so a cold start's
    /// first request does not wait for it after authenticating: on Lambda it loads while the runtime polls
    /// for the first event. A failed load is not cached; the first request then loads it itself. Needs a
    /// running Tokio runtime (without one, does nothing).
    pub fn prefetch(&self) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let gateway = self.clone();
            runtime.spawn(async move {
                let _ = gateway.caches.prices.get(gateway.app.store()).await;
            });
        }
    }

    pub fn app(&self) -> &AppState {
        &self.app
    }

    pub fn caches(&self) -> &Caches {
        &self.caches
    }

    /// The caches, to connect to the other functions' changes when they share this process.
    pub fn colocated(&self) -> Arc<dyn Colocated> {
        self.caches.clone()
    }

    /// Returns once every usage write started so far has finished (read-your-writes, and shutdown).
    pub async fn settled(&self) {
        self.caches.usage_writes.settled().await;
    }

    /// At shutdown: wait for the usage writes, then give back the spend leases nothing holds (best effort).
    pub async fn shutdown(&self) {
        self.settled().await;
        self.caches.spend.release_all(self.app.store()).await;
    }
}

impl FromRef<Gateway> for AppState {
    fn from_ref(gateway: &Gateway) -> AppState {
        gateway.app.clone()
    }
}

#[async_trait]
impl Colocated for Caches {
    async fn changed(&self, change: Change<'_>) {
        match change {
            Change::ProviderKey { org_id, provider } => {
                self.keys.invalidate(org_id, provider);
            }
            Change::Policies { org_id } => self.policies.invalidate_org(org_id),
            Change::Org { org_id } => self.orgs.invalidate(org_id),
        }
    }

    fn health<'a>(&'a self, org_id: &'a str) -> Box<dyn CooldownView + 'a> {
        Box::new(self.cooldowns.of(org_id))
    }
}
