//! Admission by budget: before any provider call, a request with a spend limit holds its estimate (its
//! body's size as input tokens plus its `max_tokens`, or the operator's cap, at the dearest price its route
//! may be served at) on this instance's lease of the key's budget (`cache::spend`); refused with the
//! spend-limit error (412) when it does not fit. The hold is settled to the real cost once the usage is
//! recorded (`usage::Billing`), or released if the request ends without billing.

use byok_shared::Result;
use byok_shared::auth::Caller;
use byok_shared::domain::policy::route::Route;
use byok_shared::domain::spend;
use byok_shared::routing::Work;

use crate::cache::spend::{Budget, Hold};
use crate::state::Gateway;

/// A request's holds on the budgets it counts against (none without a limit).
pub struct Reservation {
    holds: Vec<Hold>,
}

impl Reservation {
    /// The request really cost `cost` nano-dollars: settle every hold to it.
    pub fn settle(self, cost: i64) {
        for hold in self.holds {
            hold.settle(cost);
        }
    }
}

pub async fn reserve(
    gateway: &Gateway,
    caller: &Caller,
    route: &Route,
    work: &Work<'_>,
) -> Result<Reservation> {
    let config = gateway.app().config();
    let (body, embeddings) = match work {
        Work::Chat { body, .. } => (*body, false),
        Work::Embeddings { body } => (*body, true),
    };
    let need = spend::request_need(body, embeddings, config.spend.default_output_tokens);
    let mut holds = Vec::new();
    let Some(limit) = spend::limit_nanos(caller.key.monthly_limit) else {
        return Ok(Reservation { holds });
    };
    // Admission by price ran first: every step of a limited request has a price.
    let table = gateway.caches().prices.get(gateway.app().store()).await?;
    let prices = route
        .attempts()
        .filter_map(|step| table.price(step.provider, &step.model));
    let estimate = spend::estimate(prices, need);
    let budget = Budget::Key(caller.api_key_id().to_owned());
    let hold = gateway
        .caches()
        .spend
        .reserve(gateway.app(), caller.org_id(), &budget, limit, estimate)
        .await?;
    holds.push(hold);
    Ok(Reservation { holds })
}
