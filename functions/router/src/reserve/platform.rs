//! One request's hold on its org's platform budget (the org's monthly limit on spend on the operator's
//! platform keys). Taken through the same leases as a key's budget (`cache::spend`, `Budget::Platform`),
//! just before the request's first platform-key attempt, so a route that is served on the org's own key
//! first never holds (nor waits on) the platform budget. Later platform attempts of the request reuse the
//! verdict. A hold that does not fit withholds the platform keys for this request (the engine skips those
//! steps as `skipped_platform_limit`, and a route left with nothing to try answers the 412 limit error).

use byok_shared::Result;
use byok_shared::domain::spend;
use byok_shared::error::ErrorKind;
use byok_shared::routing::Withheld;
use tokio::sync::OnceCell;

use crate::cache::entitlement;
use crate::cache::spend::{Budget, Hold};
use crate::state::Gateway;

/// The org's platform limit in nano-dollars, if it is entitled to platform keys and has one (through the
/// hot-path cache of the org record).
pub async fn org_limit(gateway: &Gateway, org_id: &str) -> Result<Option<i64>> {
    let app = gateway.app();
    let default = app.config().platform_keys_default;
    let entitlement = entitlement::of(&gateway.caches().orgs, app.store(), org_id, default).await?;
    Ok(entitlement
        .enabled
        .then(|| spend::limit_nanos(entitlement.monthly_limit))
        .flatten())
}

/// `Default`: no platform limit applies, nothing is held.
#[derive(Default)]
pub struct PlatformHold {
    /// The org's platform limit, nano-dollars.
    limit: Option<i64>,
    /// The most the request may cost on a platform key, nano-dollars (the dearest platform step).
    estimate: i64,
    /// Once asked: the hold, or why the platform keys are withheld.
    verdict: OnceCell<std::result::Result<Hold, Withheld>>,
}

impl PlatformHold {
    pub fn new(limit: i64, estimate: i64) -> Self {
        Self {
            limit: Some(limit),
            estimate,
            verdict: OnceCell::new(),
        }
    }

    /// Before a platform-key attempt of `org_id`: hold the estimate (once per request). `Some` when it
    /// does not fit; a store failure is an error (the engine skips the attempt as unavailable, and the
    /// next platform attempt asks again).
    pub async fn take(&self, gateway: &Gateway, org_id: &str) -> Result<Option<Withheld>> {
        let Some(limit) = self.limit else {
            return Ok(None);
        };
        let verdict = self
            .verdict
            .get_or_try_init(|| async {
                let budgets = &gateway.caches().spend;
                let platform = Budget::Platform;
                let held = budgets
                    .reserve(gateway.app(), org_id, &platform, limit, self.estimate)
                    .await;
                match held {
                    Ok(hold) => Ok(Ok(hold)),
                    Err(error) if error.kind == ErrorKind::SpendLimit => Ok(Err(Withheld {
                        outcome: "platform_limit",
                        error,
                    })),
                    Err(e) => Err(e),
                }
            })
            .await?;
        Ok(verdict.as_ref().err().cloned())
    }

    /// The request's platform-key spend was `cost` nano-dollars (0 when its own key served it).
    pub fn settle(self, cost: i64) {
        if let Some(Ok(hold)) = self.verdict.into_inner() {
            hold.settle(cost);
        }
    }
}
