//! Admission by budget: before any provider call, a request with a spend limit holds its estimate (its
//! body's size as input tokens plus its `max_tokens`, or the operator's cap, at the dearest price its route
//! may be served at) on this instance's lease of the key's budget (`cache::spend`); refused with the
//! spend-limit error (412) when it does not fit. A route that may use a platform key, of an org with a
//! platform limit, also carries the estimate of its platform steps, held on the org's platform budget just
//! before its first platform-key attempt (`platform`). The holds are settled to the real cost once the usage is recorded
//! (`usage::Billing`), or released if the request ends without billing.

mod platform;

use byok_shared::Result;
use byok_shared::auth::Caller;
use byok_shared::domain::policy::KeyKind;
use byok_shared::domain::policy::route::{Route, RouteStep};
use byok_shared::domain::spend;
use byok_shared::routing::Work;

pub use self::platform::PlatformHold;
use crate::cache::spend::{Budget, Hold};
use crate::state::Gateway;

/// A request's holds on the budgets it counts against (none without a limit).
pub struct Reservation {
    /// On the API key's budget.
    holds: Vec<Hold>,
    /// On the org's platform budget, taken only if a platform-key attempt comes.
    platform: PlatformHold,
}

impl Reservation {
    /// The request really cost `cost` nano-dollars, `platform_cost` of them counted as spend on the
    /// operator's platform keys (`repo::usage::platform_cost_nanos`): settle every hold to its part.
    pub fn settle(self, cost: i64, platform_cost: i64) {
        for hold in self.holds {
            hold.settle(cost);
        }
        self.platform.settle(platform_cost);
    }

    /// The hold on the org's platform budget, for the engine's key ring.
    pub fn platform(&self) -> &PlatformHold {
        &self.platform
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
    let limit = spend::limit_nanos(caller.key.monthly_limit);
    let platform_step = |step: &&RouteStep| step.key_source.order().contains(&KeyKind::Platform);
    let platform_limit = if route.attempts().any(|step| platform_step(&step)) {
        platform::org_limit(gateway, caller.org_id()).await?
    } else {
        None
    };
    let mut reservation = Reservation {
        holds: Vec::new(),
        platform: PlatformHold::default(),
    };
    if limit.is_none() && platform_limit.is_none() {
        return Ok(reservation);
    }
    let need = spend::request_need(body, embeddings, config.spend.default_output_tokens);
    // Admission by price ran first: every step of a limited request, and every platform step a platform
    // key could serve, has a price.
    let table = gateway.caches().prices.get(gateway.app().store()).await?;
    if let Some(platform_limit) = platform_limit {
        let prices = route
            .attempts()
            .filter(platform_step)
            .filter_map(|step| table.price(step.provider, &step.model));
        reservation.platform = PlatformHold::new(platform_limit, spend::estimate(prices, need));
    }
    let Some(limit) = limit else {
        return Ok(reservation);
    };
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
    reservation.holds.push(hold);
    Ok(reservation)
}
