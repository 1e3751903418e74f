//! Spend budgets in the store: a counter beside the monthly spend of a key or an org
//! (`ORG#<org>` / `SPEND#<api_key_id|org>#<YYYYMM>`): `budget_nanos` for a key's or the org's whole spend,
//! `platform_budget_nanos` (on the org's item) for the org's spend on the operator's platform keys. Each
//! holds the recorded spend it counts (usage recording adds every cost, or every platform-key cost, to it
//! in the same add as the spend) plus the leases instances hold; a lease is granted only if the counter
//! stays within the limit (`domain::spend` has the arithmetic, README "Spend limits" the bound).

use crate::error::Result;
use crate::repo::org_pk;
use crate::repo::usage::{ORG_SPEND, spend_sk};
use crate::store::{Bounded, Ceiling, Store};

pub(crate) const BUDGET: &str = "budget_nanos";
/// The org's platform-key budget: its platform-key spend plus the leases on it.
pub(crate) const PLATFORM_BUDGET: &str = "platform_budget_nanos";

/// Whose budget: one API key's, the whole org's, or the org's spend on the operator's platform keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner<'a> {
    Key(&'a str),
    Org,
    Platform,
}

impl Owner<'_> {
    fn who(&self) -> &str {
        match self {
            Owner::Key(id) => id,
            Owner::Org | Owner::Platform => ORG_SPEND,
        }
    }

    /// The budget's counter on its spend item.
    fn counter(&self) -> &'static str {
        match self {
            Owner::Key(_) | Owner::Org => BUDGET,
            Owner::Platform => PLATFORM_BUDGET,
        }
    }
}

/// What a bounded change of a budget did: `Ok(counter after)` or `Err(counter now)` when refused.
pub type Change = std::result::Result<i64, i64>;

/// Change this instance's lease on a budget by `delta` (a grant, a renewal: new grant minus old) if the
/// budget counter stays within `limit` nano-dollars. `month` is the lease's `YYYYMM`.
pub async fn lease(
    store: &dyn Store,
    org_id: &str,
    owner: Owner<'_>,
    month: &str,
    delta: i64,
    limit: i64,
) -> Result<Change> {
    let counter = owner.counter();
    let ceiling = Ceiling { counter, limit };
    let sk = spend_sk(owner.who(), month);
    let value = |c: &crate::store::Counters| c.get(counter).copied().unwrap_or(0);
    Ok(
        match store
            .add_within(&org_pk(org_id), &sk, &[(counter, delta)], ceiling)
            .await?
        {
            Bounded::Added(c) => Ok(value(&c)),
            Bounded::Refused(c) => Err(value(&c)),
        },
    )
}

/// Give back `amount` of a lease (what the store holds for it), unconditionally.
pub async fn release(
    store: &dyn Store,
    org_id: &str,
    owner: Owner<'_>,
    month: &str,
    amount: i64,
) -> Result<()> {
    if amount != 0 {
        let sk = spend_sk(owner.who(), month);
        store
            .add(&org_pk(org_id), &sk, &[(owner.counter(), -amount)])
            .await?;
    }
    Ok(())
}
