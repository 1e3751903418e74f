//! The org's platform-key entitlement for the hot path: whether it may use the operator's platform keys
//! (its own setting, else the operator's default) and its platform spend this month against its optional
//! platform limit. Both read from the store once and served from memory for the cache TTL (the spend raised
//! locally by every platform-key request this instance bills), so a warm request makes no store call for
//! them; an operator's change (`byok org set`) reaches every instance within the TTL. Only a route that
//! would use a platform key asks.

use std::time::Duration;

use byok_shared::Result;
use byok_shared::error::{Error, ErrorKind};
use byok_shared::repo::usage;
use byok_shared::routing::Withheld;
use byok_shared::store::Store;

use crate::cache::orgs::OrgCache;
use crate::usage_writes::UsageWrites;

/// The org's setting itself is read through [`OrgCache`] (one cached org record for every setting).
pub struct Entitlements {
    /// Org → USD spent on platform keys this month.
    spend: moka::future::Cache<String, f64>,
}

impl Entitlements {
    pub fn new(ttl: Duration) -> Self {
        Self {
            spend: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// Why the org may not use platform keys now, or `None` when it may.
    pub async fn withheld(
        &self,
        orgs: &OrgCache,
        store: &dyn Store,
        writes: &UsageWrites,
        org_id: &str,
        default: bool,
    ) -> Result<Option<Withheld>> {
        let entitlement = orgs.get(store, org_id).await?.platform_entitlement(default);
        if !entitlement.enabled {
            return Ok(Some(Withheld {
                outcome: "not_entitled",
                error: Error::forbidden(
                    "this organisation may not use the operator's platform keys; store your own \
                     provider key, or ask the operator to enable platform keys",
                ),
            }));
        }
        let limit = entitlement.monthly_limit;
        if limit <= 0.0 {
            return Ok(None);
        }
        let spent = self
            .spend
            .try_get_with(org_id.to_owned(), async {
                // Writes still running behind earlier responses count too.
                writes.settled().await;
                let now = chrono::Utc::now();
                usage::month_spend_split(store, org_id, None, now)
                    .await
                    .map(|s| s.platform)
            })
            .await
            .map_err(|e: std::sync::Arc<Error>| (*e).clone())?;
        if spent >= limit {
            return Ok(Some(Withheld {
                outcome: "platform_limit",
                error: Error::new(
                    ErrorKind::SpendLimit,
                    format!(
                        "this organisation reached its monthly limit of {limit} USD on the operator's \
                         platform keys (spent {spent:.6} USD)"
                    ),
                ),
            }));
        }
        Ok(None)
    }

    /// Raise the cached platform spend after billing a platform-key request on this instance.
    pub async fn add_platform_spend(&self, org_id: &str, cost: f64) {
        if let Some(current) = self.spend.get(org_id).await {
            self.spend.insert(org_id.to_owned(), current + cost).await;
        }
    }
}
