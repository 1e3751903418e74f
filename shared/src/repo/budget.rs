//! Spend budgets in the store: the `budget_nanos` counter beside the monthly spend of a key or an org
//! (`ORG#<org>` / `SPEND#<api_key_id|org>#<YYYYMM>`). It holds the recorded spend (usage recording adds
//! every cost to it) plus the leases instances hold; a lease is granted only if the counter stays within
//! the limit (`domain::spend` has the arithmetic, README "Spend limits" the bound).

use crate::error::Result;
use crate::repo::org_pk;
use crate::repo::usage::{ORG_SPEND, spend_sk};
use crate::store::{Bounded, Ceiling, Store};

pub(crate) const BUDGET: &str = "budget_nanos";

/// Whose budget: one API key's, or the whole org's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner<'a> {
    Key(&'a str),
    Org,
}

impl Owner<'_> {
    fn who(&self) -> &str {
        match self {
            Owner::Key(id) => id,
            Owner::Org => ORG_SPEND,
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
    let ceiling = Ceiling {
        counter: BUDGET,
        limit,
    };
    let sk = spend_sk(owner.who(), month);
    let value = |c: &crate::store::Counters| c.get(BUDGET).copied().unwrap_or(0);
    Ok(
        match store
            .add_within(&org_pk(org_id), &sk, &[(BUDGET, delta)], ceiling)
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
            .add(&org_pk(org_id), &sk, &[(BUDGET, -amount)])
            .await?;
    }
    Ok(())
}
