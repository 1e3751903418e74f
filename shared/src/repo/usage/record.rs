//! Recording requests' usage: the combination's dimensions (once a month), the hourly bucket, the key's and
//! the org's monthly spend. A batch of requests is summed first: requests of one org, hour and combination
//! make one bucket add, requests of one key one spend add, so a batch costs an add per distinct row, not
//! three per request.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};

use super::{Dims, MAX_DIMS_PER_MONTH, ORG_SPEND, dims_count_sk, dims_pk, spend_sk, usage_pk};
use crate::cache::TtlCache;
use crate::domain::usage::{UsageEvent, month_key, to_nanos};
use crate::error::Result;
use crate::repo::{budget, org_pk, to_body};
use crate::store::{Item, Store};

/// Combinations this process knows are stored (`<org>#<month>#<hash>`) → the hash their usage is counted
/// under (their own, or their collapsed one past the cap), so a repeated combination costs no store call.
/// Bounded in size and age; a miss only costs the look-up again.
static DESCRIBED: std::sync::LazyLock<TtlCache<String, String>> =
    std::sync::LazyLock::new(|| TtlCache::new(100_000, std::time::Duration::from_secs(3600)));

/// Record one request: [`record_many`] of one.
pub async fn record(store: &dyn Store, org_id: &str, event: &UsageEvent) -> Result<()> {
    record_bounded(store, org_id, event, MAX_DIMS_PER_MONTH).await
}

/// [`record`] with the cap on distinct combinations given (tests use a small one).
pub async fn record_bounded(
    store: &dyn Store,
    org_id: &str,
    event: &UsageEvent,
    max_dims: i64,
) -> Result<()> {
    record_many_bounded(store, &[(org_id, event)], max_dims).await
}

/// Record requests, each with its org: its dimensions (once per month, an idempotent put, skipped when this
/// process has written them already), its usage bucket, the key's and the org's monthly spend. Requests that
/// share a row are summed into one add; the adds are issued concurrently, and each is exact under
/// concurrency. The fan-out is at most four adds per request given (callers bound their batches). On an
/// error the adds that did not fail still count; the first error is returned.
pub async fn record_many(store: &dyn Store, events: &[(&str, &UsageEvent)]) -> Result<()> {
    record_many_bounded(store, events, MAX_DIMS_PER_MONTH).await
}

/// What one combination's requests of one hour add to its bucket.
#[derive(Default)]
struct Sums {
    requests: i64,
    errors: i64,
    input_tokens: i64,
    output_tokens: i64,
    cached_tokens: i64,
    reasoning_tokens: i64,
    cache_write_tokens: i64,
    cost_nanos: i64,
    unpriced_requests: i64,
}

impl Sums {
    fn add(&mut self, event: &UsageEvent) {
        let tokens = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.requests += 1;
        self.errors += i64::from(event.error);
        self.input_tokens = self.input_tokens.saturating_add(tokens(event.input_tokens));
        self.output_tokens = self
            .output_tokens
            .saturating_add(tokens(event.output_tokens));
        self.cached_tokens = self
            .cached_tokens
            .saturating_add(tokens(event.cached_tokens));
        self.reasoning_tokens = self
            .reasoning_tokens
            .saturating_add(tokens(event.reasoning_tokens));
        self.cache_write_tokens = self
            .cache_write_tokens
            .saturating_add(tokens(event.cache_write_tokens));
        self.cost_nanos = self.cost_nanos.saturating_add(cost_nanos(event));
        self.unpriced_requests += i64::from(event.cost.is_none() && !event.error);
    }

    fn deltas(&self) -> [(&'static str, i64); 9] {
        [
            ("requests", self.requests),
            ("errors", self.errors),
            ("input_tokens", self.input_tokens),
            ("output_tokens", self.output_tokens),
            ("cached_tokens", self.cached_tokens),
            ("reasoning_tokens", self.reasoning_tokens),
            ("cache_write_tokens", self.cache_write_tokens),
            ("cost_nanos", self.cost_nanos),
            ("unpriced_requests", self.unpriced_requests),
        ]
    }
}

fn cost_nanos(event: &UsageEvent) -> i64 {
    event.cost.map(to_nanos).unwrap_or(0)
}

/// The adds of a batch, summed per row.
#[derive(Default)]
struct Adds(HashMap<(String, String), Vec<(&'static str, i64)>>);

impl Adds {
    fn add(&mut self, pk: String, sk: String, deltas: &[(&'static str, i64)]) {
        let row = self.0.entry((pk, sk)).or_default();
        for &(name, delta) in deltas {
            match row.iter_mut().find(|(n, _)| *n == name) {
                Some((_, sum)) => *sum = sum.saturating_add(delta),
                None => row.push((name, delta)),
            }
        }
    }
}

/// The start of the hour `at` falls in, as Unix hours.
fn unix_hour(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(3600)
}

async fn record_many_bounded(
    store: &dyn Store,
    events: &[(&str, &UsageEvent)],
    max_dims: i64,
) -> Result<()> {
    let mut buckets: HashMap<(&str, i64, Dims), Sums> = HashMap::new();
    let mut adds = Adds::default();
    for &(org_id, event) in events {
        let (hour, dims) = (unix_hour(event.at), Dims::of(event));
        buckets.entry((org_id, hour, dims)).or_default().add(event);
        // The budget counters hold recorded spend too (plus leases: `repo::budget`): the key's and the
        // org's every cost, the org's platform budget the platform-key costs.
        let (month, cost, platform) = (
            month_key(event.at),
            cost_nanos(event),
            platform_cost_nanos(event),
        );
        let org_total = [
            ("cost_nanos", cost),
            ("platform_cost_nanos", platform),
            ("requests", 1),
            (budget::BUDGET, cost),
            (budget::PLATFORM_BUDGET, platform),
        ];
        let org = org_pk(org_id);
        // The key's row: every counter but the platform budget, which only the org has.
        adds.add(
            org.clone(),
            spend_sk(&event.api_key_id, &month),
            &org_total[..4],
        );
        adds.add(org, spend_sk(ORG_SPEND, &month), &org_total);
    }
    // Where each combination's usage is counted: known, or looked up (and stored) now, concurrently. When
    // the look-up fails the usage still counts, under the combination's own hash (a bucket whose
    // dimensions are missing reads as unknown dimensions), and the error is returned once the adds are done.
    let described = futures::future::join_all(buckets.keys().map(|(org_id, hour, dims)| {
        let month = month_key(hour_start(*hour));
        async move {
            let known = memo(org_id, &month, dims);
            match DESCRIBED.get(&known) {
                Some(hash) => Ok((hash, None)),
                None => describe(store, org_id, &month, dims, max_dims)
                    .await
                    .map(|(hash, new)| (hash.clone(), new.then_some((known, hash)))),
            }
        }
    }))
    .await;
    let mut failed = None;
    let mut stored_now = Vec::new();
    for (((org_id, hour, dims), sums), described) in buckets.iter().zip(described) {
        let (hash, new) = described.unwrap_or_else(|e| {
            failed.get_or_insert(e);
            (dims.hash(), None)
        });
        let at = hour_start(*hour);
        let month = month_key(at);
        let sk = format!("{}#{hash}", at.format("%Y%m%d%H"));
        adds.add(usage_pk(org_id, &month), sk, &sums.deltas());
        // A combination this batch stored first is counted beside its usage.
        if let Some(memo) = new {
            adds.add(org_pk(org_id), dims_count_sk(&month), &[("n", 1)]);
            stored_now.push(memo);
        }
    }
    // Unhurried: `serve` writes them behind the response, so SQLite may hold them to commit them with others'.
    let written = futures::future::join_all(
        adds.0
            .iter()
            .map(|((pk, sk), deltas)| store.add_unhurried(pk, sk, deltas)),
    )
    .await;
    for result in written {
        if let Err(e) = result {
            failed.get_or_insert(e.into());
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    for (known, hash) in stored_now {
        DESCRIBED.insert(known, hash);
    }
    Ok(())
}

fn hour_start(hour: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(hour.saturating_mul(3600), 0)
        .single()
        .unwrap_or_default()
}

/// The part of a request's cost (nano-dollars) that counts as spend on the operator's platform keys: all
/// of it unless it was served on the org's own key (a request no attempt answered counts as platform).
pub fn platform_cost_nanos(event: &UsageEvent) -> i64 {
    if event.is_byok { 0 } else { cost_nanos(event) }
}

/// Make sure the combination is stored and return the hash its usage counts under: its own when it is
/// stored already or the org is under its cap (then it is stored), else its collapsed one; and whether this
/// call stored it (the caller then counts it beside its usage writes, and remembers it once counted).
/// Concurrent first writers may each count it once, so the cap can be passed by the number of writers
/// racing at that moment, never more. Cold, it costs two round trips: the two reads together, then the put.
async fn describe(
    store: &dyn Store,
    org_id: &str,
    month: &str,
    dims: &Dims,
    max_dims: i64,
) -> Result<(String, bool)> {
    let hash = dims.hash();
    let pk = dims_pk(org_id, month);
    let count_sk = dims_count_sk(month);
    let org = org_pk(org_id);
    let (stored, count) = futures::join!(store.get(&pk, &hash), store.get(&org, &count_sk));
    if stored?.is_some() {
        remember(org_id, month, dims, &hash).await;
        return Ok((hash, false));
    }
    let count = count?
        .and_then(|i| i.counters.get("n").copied())
        .unwrap_or(0);
    if count >= max_dims {
        let collapsed = dims.collapse();
        let collapsed_hash = collapsed.hash();
        // Idempotent: every collapsed combination of one key, provider and kind is this one item.
        store
            .put(&Item::new(pk, collapsed_hash.clone(), to_body(&collapsed)?))
            .await?;
        remember(org_id, month, dims, &collapsed_hash).await;
        return Ok((collapsed_hash, false));
    }
    match store
        .put_if_absent(&Item::new(pk, hash.clone(), to_body(dims)?))
        .await
    {
        Ok(()) => Ok((hash, true)),
        Err(crate::store::StoreError::Conflict) => {
            remember(org_id, month, dims, &hash).await;
            Ok((hash, false))
        }
        Err(e) => Err(e.into()),
    }
}

/// This process knows where the combination's usage is counted.
async fn remember(org_id: &str, month: &str, dims: &Dims, hash: &str) {
    DESCRIBED.insert(memo(org_id, month, dims), hash.to_owned());
}

/// The key of a combination in [`DESCRIBED`].
fn memo(org_id: &str, month: &str, dims: &Dims) -> String {
    format!("{org_id}#{month}#{}", dims.hash())
}
