//! Hard spend limits, the instance's side: the leases this instance holds on budgets (a key's, an org's,
//! the org's spend on platform keys), spent from memory by holds of each request's estimate
//! (`byok_shared::domain::spend` has the arithmetic, `repo::budget` the store side, README "Spend limits"
//! the bound).
//!
//! A warm request takes its hold from the live lease with no store call. When the lease is missing,
//! expired, of last month, or too small, one bounded add renews it (new grant minus old, refused if the
//! budget would pass the limit; a second one when the first guessed what is left wrong). Renewals of one
//! budget on this instance run one at a time. A hold that is dropped unsettled (the request went away before
//! billing) is released at cost 0; a lease nobody holds anything on is returned once expired, by a
//! sweeper task, and at shutdown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use byok_shared::domain::spend::{LeasePolicy, Ledger, lease_size};
use byok_shared::domain::usage::{from_nanos, month_key};
use byok_shared::error::{Error, ErrorKind};
use byok_shared::repo::budget::{self, Owner};
use byok_shared::store::Store;
use byok_shared::{AppState, Result};
use tokio::time::Instant;

/// Whose budget, owned: the map key (always with the org, so two orgs never share a slot).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Budget {
    Key(String),
    Org,
    /// The org's spend on the operator's platform keys.
    Platform,
}

impl Budget {
    fn owner(&self) -> Owner<'_> {
        match self {
            Budget::Key(id) => Owner::Key(id),
            Budget::Org => Owner::Org,
            Budget::Platform => Owner::Platform,
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Budget::Key(_) => "this API key",
            Budget::Org => "this organisation",
            Budget::Platform => "this organisation's spend on the operator's platform keys",
        }
    }
}

type SlotKey = (String, Budget);

/// This instance's lease on one budget.
struct Slot {
    org_id: String,
    budget: Budget,
    state: Mutex<Lease>,
    /// Held while renewing, so one renewal of a budget runs at a time on this instance.
    renewing: tokio::sync::Mutex<()>,
}

struct Lease {
    ledger: Ledger,
    /// The month the grant sits in (`YYYYMM`).
    month: String,
    expires: Instant,
    /// The limit the grant was asked under: another (a changed limit) forces a renewal.
    limit: i64,
    /// The budget counter without our grant, as last seen (a guess of what the others hold).
    others: i64,
}

impl Slot {
    fn lease(&self) -> std::sync::MutexGuard<'_, Lease> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

struct Inner {
    slots: Mutex<HashMap<SlotKey, Arc<Slot>>>,
    policy: LeasePolicy,
    ttl: Duration,
    sweeper: std::sync::Once,
}

pub struct Budgets {
    inner: Arc<Inner>,
}

/// One request's hold on one budget; released at cost 0 if dropped unsettled.
pub struct Hold {
    slot: Arc<Slot>,
    amount: i64,
    settled: bool,
}

impl Hold {
    /// The request really cost `cost` nano-dollars.
    pub fn settle(mut self, cost: i64) {
        self.slot.lease().ledger.settle(self.amount, cost);
        self.settled = true;
    }
}

impl std::fmt::Debug for Hold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hold")
            .field("amount", &self.amount)
            .finish()
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if !self.settled {
            self.slot.lease().ledger.settle(self.amount, 0);
        }
    }
}

/// The next step of a renewal, decided under the lease's lock and done without it.
enum Step {
    /// Return last month's grant (month, amount).
    Release(String, i64),
    /// Change the grant from the first to the second amount.
    Ask(i64, i64),
    /// What is left (limit minus the others' given) cannot serve the request.
    Refuse(i64),
}

/// Renewal attempts of one request before it is refused: the first may guess what is left wrong, a
/// later one may lose to other instances' grants.
const ATTEMPTS: usize = 4;

impl Budgets {
    pub fn new(lease_cap_nanos: i64, ttl: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                slots: Mutex::new(HashMap::new()),
                policy: LeasePolicy {
                    cap: lease_cap_nanos,
                    share: 4,
                },
                ttl,
                sweeper: std::sync::Once::new(),
            }),
        }
    }

    fn slot(&self, org_id: &str, budget: &Budget) -> Arc<Slot> {
        let mut slots = self
            .inner
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slots
            .entry((org_id.to_owned(), budget.clone()))
            .or_insert_with(|| {
                Arc::new(Slot {
                    org_id: org_id.to_owned(),
                    budget: budget.clone(),
                    state: Mutex::new(Lease {
                        ledger: Ledger::default(),
                        month: String::new(),
                        expires: Instant::now(),
                        limit: 0,
                        others: 0,
                    }),
                    renewing: tokio::sync::Mutex::new(()),
                })
            })
            .clone()
    }

    /// Hold `need` nano-dollars of `budget` (of `org_id`), whose limit is `limit`; refused with the spend
    /// limit error (412) when it does not fit.
    pub async fn reserve(
        &self,
        app: &AppState,
        org_id: &str,
        budget: &Budget,
        limit: i64,
        need: i64,
    ) -> Result<Hold> {
        self.start_sweeper(app);
        let store = app.store();
        let slot = self.slot(org_id, budget);
        let month = month_key(chrono::Utc::now());
        if let Some(hold) = try_hold(&slot, &month, limit, need) {
            return Ok(hold);
        }
        let _renewing = slot.renewing.lock().await;
        if let Some(hold) = try_hold(&slot, &month, limit, need) {
            return Ok(hold);
        }
        // Holds are settled only once their usage is recorded (`usage::Billing`), so the budget counter
        // already holds every cost this ledger has settled, and the unsettled holds move to the new grant.
        // What the others hold, as the store last said while this request renewed.
        let mut others_now = None;
        for _ in 0..ATTEMPTS {
            let step = {
                let mut lease = slot.lease();
                if lease.month != month {
                    // Last month's grant goes back to last month; its holds carry over.
                    let (old_month, old) = (lease.month.clone(), lease.ledger.granted());
                    lease.ledger.regrant(0, None);
                    lease.month.clone_from(&month);
                    lease.others = 0;
                    Step::Release(old_month, old)
                } else {
                    let others = others_now.unwrap_or(lease.others);
                    let total = lease.ledger.outstanding() + need;
                    let spent = lease.ledger.spent();
                    match lease_size(self.inner.policy, limit, others, total, spent) {
                        Some(wanted) => Step::Ask(lease.ledger.granted(), wanted),
                        None if others_now.is_some() => Step::Refuse(others),
                        // Our guess of the others may be stale: ask the store for the least that serves.
                        None => Step::Ask(lease.ledger.granted(), total),
                    }
                }
            };
            let (old, wanted) = match step {
                Step::Release(old_month, old) => {
                    budget::release(store, org_id, budget.owner(), &old_month, old).await?;
                    continue;
                }
                Step::Refuse(others) => return Err(refusal(budget, limit, others, need)),
                Step::Ask(old, wanted) => (old, wanted),
            };
            let changed =
                budget::lease(store, org_id, budget.owner(), &month, wanted - old, limit).await?;
            let mut lease = slot.lease();
            match changed {
                Ok(after) => {
                    lease.others = after - wanted;
                    lease.expires = Instant::now() + self.inner.ttl;
                    lease.limit = limit;
                    // Holds taken on the old lease meanwhile move over too; if they leave no room for
                    // this one, renew again.
                    if lease.ledger.regrant(wanted, Some(need)) {
                        return Ok(Hold {
                            slot: slot.clone(),
                            amount: need,
                            settled: false,
                        });
                    }
                    others_now = Some(lease.others);
                }
                Err(now) => {
                    lease.others = now - old;
                    others_now = Some(lease.others);
                }
            }
        }
        let others = slot.lease().others;
        Err(refusal(budget, limit, others, need))
    }

    fn start_sweeper(&self, app: &AppState) {
        self.inner.sweeper.call_once(|| {
            let (inner, app) = (Arc::downgrade(&self.inner), app.clone());
            let every = self.inner.ttl.max(Duration::from_secs(1));
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let Some(inner) = inner.upgrade() else { return };
                    sweep(&inner, app.store(), false).await;
                }
            });
        });
    }

    /// Give back every lease nobody holds anything on (shutdown, best effort).
    pub async fn release_all(&self, store: &dyn Store) {
        sweep(&self.inner, store, true).await;
    }
}

/// A hold on the live lease of `month` granted under `limit`, if it has room.
fn try_hold(slot: &Arc<Slot>, month: &str, limit: i64, need: i64) -> Option<Hold> {
    let mut lease = slot.lease();
    let live = lease.month == month && lease.limit == limit && lease.expires > Instant::now();
    (live && lease.ledger.try_hold(need)).then(|| Hold {
        slot: slot.clone(),
        amount: need,
        settled: false,
    })
}

/// Return expired (or, with `all`, every) leases without unsettled holds.
async fn sweep(inner: &Inner, store: &dyn Store, all: bool) {
    let slots: Vec<Arc<Slot>> = inner
        .slots
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .values()
        .cloned()
        .collect();
    let now = Instant::now();
    for slot in slots {
        let Ok(_renewing) = slot.renewing.try_lock() else {
            continue;
        };
        let (month, grant) = {
            let mut lease = slot.lease();
            let idle = lease.ledger.outstanding() == 0 && lease.ledger.granted() != 0;
            if !idle || !(all || lease.expires <= now) {
                continue;
            }
            let grant = lease.ledger.granted();
            lease.ledger.regrant(0, None);
            (lease.month.clone(), grant)
        };
        let owner = slot.budget.owner();
        if let Err(e) = budget::release(store, &slot.org_id, owner, &month, grant).await {
            tracing::warn!(error = %e.message, "an unused spend lease could not be returned");
        }
    }
}

fn refusal(budget: &Budget, limit: i64, others: i64, need: i64) -> Error {
    let left = (limit - others).max(0);
    Error::new(
        ErrorKind::SpendLimit,
        format!(
            "{} reached its monthly limit of {} USD: this request may cost up to {:.6} USD and {:.6} USD is left (a lower max_tokens reserves less)",
            budget.describe(),
            from_nanos(limit),
            from_nanos(need),
            from_nanos(left),
        ),
    )
}

#[cfg(test)]
mod tests {
    use byok_testkit::{Backend, TestBackend};

    use super::*;

    async fn counter(app: &AppState, org_id: &str, who: &str) -> (i64, i64) {
        let sk = format!("SPEND#{who}#{}", month_key(chrono::Utc::now()));
        let counters = app
            .store()
            .get(&format!("ORG#{org_id}"), &sk)
            .await
            .unwrap()
            .map(|i| i.counters)
            .unwrap_or_default();
        let c = |n: &str| counters.get(n).copied().unwrap_or(0);
        (c("budget_nanos"), c("cost_nanos"))
    }

    /// Two orgs, each with an org budget and a key budget of the same id: four slots, four store items;
    /// one org's exhausted budget refuses only that org, and only that budget.
    #[tokio::test]
    async fn budgets_are_per_org_and_owner() {
        let backend = TestBackend::new(Backend::Embedded).await;
        let app = backend.state(|_| {});
        let budgets = Budgets::new(1_000, Duration::from_secs(60));
        let key = Budget::Key("k1".into());
        let a = budgets
            .reserve(&app, "orgA", &Budget::Org, 100, 100)
            .await
            .unwrap();
        assert!(
            budgets
                .reserve(&app, "orgA", &Budget::Org, 100, 1)
                .await
                .is_err()
        );
        let b = budgets
            .reserve(&app, "orgB", &Budget::Org, 100, 60)
            .await
            .unwrap();
        let ka = budgets.reserve(&app, "orgA", &key, 100, 10).await.unwrap();
        let kb = budgets.reserve(&app, "orgB", &key, 100, 10).await.unwrap();
        assert_eq!(counter(&app, "orgA", "org").await.0, 100);
        // Org B's own budget is untouched by A's: its lease is its need (more than a quarter of the 100).
        assert_eq!(counter(&app, "orgB", "org").await.0, 60);
        // Each key's lease: a quarter of its 100.
        assert_eq!(counter(&app, "orgA", "k1").await.0, 25);
        assert_eq!(counter(&app, "orgB", "k1").await.0, 25);
        let err = budgets
            .reserve(&app, "orgA", &Budget::Org, 100, 1)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::SpendLimit);
        // The org's platform budget is a counter of its own on the org's item: A's exhausted org budget
        // leaves it whole, and its lease moves only that counter.
        let pa = budgets
            .reserve(&app, "orgA", &Budget::Platform, 100, 100)
            .await
            .unwrap();
        let err = budgets
            .reserve(&app, "orgA", &Budget::Platform, 100, 1)
            .await
            .unwrap_err();
        assert!(err.message.contains("platform keys"), "{}", err.message);
        let sk = format!("SPEND#org#{}", month_key(chrono::Utc::now()));
        let item = app.store().get("ORG#orgA", &sk).await.unwrap().unwrap();
        assert_eq!(item.counters["platform_budget_nanos"], 100);
        assert_eq!(counter(&app, "orgA", "org").await.0, 100);
        drop((a, b, ka, kb, pa));
    }

    /// A hold dropped unsettled frees its room at once; an expired lease nothing holds on goes back to the
    /// store by itself (the sweeper), and `release_all` gives back the rest.
    #[tokio::test]
    async fn unused_holds_and_leases_are_given_back() {
        let backend = TestBackend::new(Backend::Embedded).await;
        let app = backend.state(|_| {});
        let budgets = Budgets::new(1_000, Duration::from_millis(200));
        let key = Budget::Key("k1".into());
        let hold = budgets.reserve(&app, "org", &key, 100, 100).await.unwrap();
        drop(hold);
        let hold = budgets.reserve(&app, "org", &key, 100, 100).await.unwrap();
        assert_eq!(
            counter(&app, "org", "k1").await.0,
            100,
            "no second grant was needed"
        );
        drop(hold);
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(
            counter(&app, "org", "k1").await,
            (0, 0),
            "the sweeper returned the lease"
        );

        // A lowered limit is not served from a lease granted under the old one.
        let lowered = Budgets::new(1_000, Duration::from_secs(3600));
        let hold = lowered
            .reserve(&app, "org2", &key, 1_000, 10)
            .await
            .unwrap();
        // Its usage recorded (as `repo::usage::record` adds it), then settled.
        let sk = format!("SPEND#k1#{}", month_key(chrono::Utc::now()));
        let recorded = app.store().add("ORG#org2", &sk, &[("budget_nanos", 10)]);
        recorded.await.unwrap();
        hold.settle(10);
        let err = lowered
            .reserve(&app, "org2", &key, 15, 10)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::SpendLimit);

        let long = Budgets::new(1_000, Duration::from_secs(3600));
        let hold = long.reserve(&app, "org", &key, 100, 10).await.unwrap();
        hold.settle(0);
        assert!(counter(&app, "org", "k1").await.0 > 0);
        long.release_all(app.store()).await;
        assert_eq!(counter(&app, "org", "k1").await.0, 0);
    }
}
