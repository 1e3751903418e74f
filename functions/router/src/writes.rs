//! The store writes requests leave behind them, and how a batch of them is written: usage counters summed
//! per row, rate-limit corrections, last-used times (once per window and batch), log records in one
//! transaction. Where and when a batch runs is `usage_writes`' job: on Lambda a batch of one, awaited in
//! the request; in `byok serve` behind the responses.

use std::collections::HashMap;

use byok_shared::auth::Caller;
use byok_shared::domain::provider::Provider;
use byok_shared::domain::usage::{UsageEvent, to_nanos};
use byok_shared::repo::provider_keys::{self, Owner};
use byok_shared::repo::{apikeys, usage};
use chrono::{DateTime, Utc};

use crate::log_writes::{self, Pending};
use crate::ratelimit::Ticket;
use crate::reserve::Reservation;
use crate::state::Gateway;

/// One request's writes: its usage when billed, its log record when kept. Boxed: the jobs of a batch wait
/// in a queue that grows one push at a time, and a job held by value (about 1.1 KB) made each of its
/// reallocations copy the whole queue into fresh memory (about 0.8 µs per request in `byok serve` at c=32).
pub struct Job(Box<Parts>);

struct Parts {
    usage: Option<(Billed, Reservation)>,
    log: Option<Pending>,
}

/// A billed request: what its usage writes add, and the rate-limit ticket they correct.
pub struct Billed {
    pub caller: Caller,
    pub provider: Provider,
    pub event: UsageEvent,
    pub rate: Option<Ticket>,
}

impl Job {
    /// A billed request's writes; `reservation` (its spend holds) is settled to its cost once they are done.
    pub fn billed(usage: Billed, reservation: Reservation, log: Option<Pending>) -> Self {
        Self(Box::new(Parts {
            usage: Some((usage, reservation)),
            log,
        }))
    }

    pub fn logged(log: Pending) -> Self {
        Self(Box::new(Parts {
            usage: None,
            log: Some(log),
        }))
    }
}

/// Run `job` where the router's writes run (`usage_writes`).
pub async fn run(gateway: &Gateway, job: Job) {
    let writer = gateway.clone();
    let write = move |batch| write(writer.clone(), batch);
    gateway.caches().usage_writes.run(job, write).await;
}

/// Write a batch: its usage, rate corrections, last-used times and log records side by side (one store
/// wait, not four in a row); then settle each request's spend holds to its cost. They are settled once the
/// usage is written, so a lease renewal never misses a cost this instance settled, and not after the log
/// records, which need not hold them up.
async fn write(gateway: Gateway, batch: Vec<Job>) {
    let (mut billed, mut holds, mut logs) = (Vec::new(), Vec::new(), Vec::new());
    for job in batch {
        let Parts { usage, log } = *job.0;
        if let Some((b, reservation)) = usage {
            let cost = b.event.cost.map_or(0, to_nanos);
            holds.push((reservation, cost, usage::platform_cost_nanos(&b.event)));
            billed.push(b);
        }
        logs.extend(log);
    }
    let store = gateway.app().store();
    let usage = async {
        let events: Vec<_> = billed
            .iter()
            .map(|b| (b.caller.org_id(), &b.event))
            .collect();
        if !events.is_empty()
            && let Err(e) = usage::record_many(store, &events).await
        {
            tracing::error!(error = %e.message, requests = events.len(), "usage could not be recorded");
        }
    };
    let rates = futures::future::join_all(billed.iter().filter_map(|b| {
        let tokens = b.event.input_tokens.saturating_add(b.event.output_tokens);
        b.rate
            .as_ref()
            .map(|ticket| ticket.settle(&gateway, tokens))
    }));
    let marks = mark_used(&gateway, &billed);
    let logs = async {
        if !logs.is_empty() {
            log_writes::write(&gateway, logs).await;
        }
    };
    let usage = async {
        futures::join!(usage, rates, marks);
        for (reservation, cost, platform) in holds {
            reservation.settle(cost, platform);
        }
    };
    futures::join!(usage, logs);
}

/// A last-used time to write: an API key's, or an org's own provider key's.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Used<'a> {
    ApiKey {
        org_id: &'a str,
        api_key_id: &'a str,
    },
    OwnKey {
        org_id: &'a str,
        provider: Provider,
    },
}

/// The last-used times of the batch's API keys and own provider keys, each written at most once a minute
/// per instance (`cache::last_used`), at the latest request's time.
async fn mark_used(gateway: &Gateway, billed: &[Billed]) {
    // Keyed by what is marked: a window's name is written once per key and batch, not per request.
    let mut used: HashMap<Used<'_>, DateTime<Utc>> = HashMap::new();
    for b in billed.iter().filter(|b| !b.event.error) {
        let (org_id, at) = (b.caller.org_id(), b.event.at);
        let api_key_id = b.caller.api_key_id();
        used.insert(Used::ApiKey { org_id, api_key_id }, at);
        if b.event.is_byok {
            let provider = b.provider;
            used.insert(Used::OwnKey { org_id, provider }, at);
        }
    }
    let store = gateway.app().store();
    let marks = &gateway.caches().last_used;
    let writes = used.into_iter().map(|(what, at)| async move {
        let window = match what {
            Used::ApiKey { api_key_id, .. } => format!("apikey#{api_key_id}"),
            Used::OwnKey { org_id, provider } => format!("byok#{org_id}#{provider}"),
        };
        if !marks.first_in_window(window).await {
            return;
        }
        match what {
            Used::ApiKey { org_id, api_key_id } => {
                if let Err(e) = apikeys::mark_used(store, org_id, api_key_id, at).await {
                    tracing::warn!(error = %e.message, "API key last-used time could not be recorded");
                }
            }
            Used::OwnKey { org_id, provider } => {
                let update = provider_keys::record_health(store, Owner::Org(org_id), provider, |h| {
                    h.last_used_at = Some(at)
                });
                if let Err(e) = update.await {
                    tracing::warn!(error = %e.message, "key last-used time could not be recorded");
                }
            }
        }
    });
    futures::future::join_all(writes).await;
}
