//! Billing a served (or failed) request: cost at the operator's prices, usage counters, the key's monthly spend,
//! and the own key's last-used time. Awaited before the response completes (Lambda freezes after it).

use byok_shared::auth::Caller;
use byok_shared::domain::policy::KeyKind;
use byok_shared::domain::policy::route::Route;
use byok_shared::domain::provider::Provider;
use byok_shared::domain::usage::{UsageEvent, to_nanos};
use byok_shared::providers::Usage;
use byok_shared::repo::provider_keys::{self, Owner};
use byok_shared::repo::{apikeys, usage};
use byok_shared::routing;

use crate::log_writes;
use crate::ratelimit::Ticket;
use crate::request::Metadata;
use crate::request_log::Trail;
use crate::reserve::Reservation;
use crate::state::Gateway;

/// Who answered: what a served request is billed as, and the spend it reserved.
pub struct Billing {
    provider: Provider,
    /// The model as the provider knows it (no `provider/` prefix).
    model: String,
    key: Option<KeyKind>,
    /// The request's place in its key's rate-limit window, corrected to the real tokens when billed.
    rate: Option<Ticket>,
    reservation: Reservation,
}

impl Billing {
    pub fn of(served: &routing::Served, reservation: Reservation) -> Self {
        Self {
            provider: served.provider,
            model: served.model.clone(),
            key: Some(served.key),
            rate: None,
            reservation,
        }
    }

    /// Correct `rate`'s token estimate to the real tokens when billing.
    pub fn with_rate(mut self, rate: Option<Ticket>) -> Self {
        self.rate = rate;
        self
    }

    /// A request no attempt answered, billed to the route's first model.
    pub fn failed(route: &Route, reservation: Reservation) -> Option<Self> {
        route.attempts().next().map(|step| Self {
            provider: step.provider,
            model: step.model.clone(),
            key: None,
            rate: None,
            reservation,
        })
    }

    /// Record `usage` and return its cost (USD, at the operator's prices; `None` when the model has no
    /// price, which admission allows only for own-key requests without a spend limit). The store writes
    /// run where the router's `usage_writes` says; the spend reservation is settled to the cost once they
    /// are done, so a lease renewal never misses a cost this instance settled.
    pub async fn bill(
        self,
        gateway: &Gateway,
        caller: &Caller,
        metadata: &Metadata,
        usage: Usage,
        error: bool,
    ) -> Option<f64> {
        self.bill_with(gateway, caller, metadata, usage, error, None)
            .await
    }

    /// [`Self::bill`] a served answer (`error`: a stream cut after its first token) and write the request's
    /// log record beside the usage writes, in the same wait (on Lambda one round trip, not two in a row):
    /// the record is complete once the cost is known.
    pub async fn bill_logged(
        self,
        gateway: &Gateway,
        caller: &Caller,
        metadata: &Metadata,
        usage: Usage,
        error: bool,
        trail: &Trail,
    ) -> Option<f64> {
        self.bill_with(gateway, caller, metadata, usage, error, Some(trail))
            .await
    }

    async fn bill_with(
        self,
        gateway: &Gateway,
        caller: &Caller,
        metadata: &Metadata,
        usage: Usage,
        error: bool,
        trail: Option<&Trail>,
    ) -> Option<f64> {
        let caches = gateway.caches();
        // Admission loaded the table moments ago: this is a cache hit.
        let cost = match caches.prices.get(gateway.app().store()).await {
            Ok(table) => table.cost(self.provider, &self.model, &usage),
            Err(e) => {
                tracing::error!(error = %e.message, "prices unavailable while billing");
                None
            }
        };
        let event = UsageEvent {
            at: chrono::Utc::now(),
            api_key_id: caller.api_key_id().to_owned(),
            provider: self.provider.as_str().to_owned(),
            model: self.model.clone(),
            model_requested: metadata.model_requested.clone(),
            origin_title: metadata.origin_title.clone(),
            extra: metadata.extra_text(),
            is_byok: self.key == Some(KeyKind::Own),
            user_id: metadata.user_id.clone(),
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cached_tokens: usage.cached_tokens,
            reasoning_tokens: usage.reasoning_tokens,
            cache_write_tokens: usage.cache_write_tokens,
            cost,
            error,
        };
        let reservation = self.reservation;
        // What the usage writes add to the budget counters: the cost, and its part on platform keys.
        let (nanos, platform_nanos) =
            (cost.map_or(0, to_nanos), usage::platform_cost_nanos(&event));
        // Boxed: this future holds four store writes side by side, and unboxed it was copied at each move on
        // its way onto its task (memmove under billing was about 4 % of serve's CPU at c=32, by perf).
        let write = Box::pin(record(
            gateway.clone(),
            caller.clone(),
            self.provider,
            event,
            self.rate,
        ));
        // The request log record goes with the usage writes: one store wait, not two.
        let flush = trail
            .and_then(|t| t.served_and_billed(&usage, cost, error))
            .map(|log| {
                log_writes::queue(gateway, log);
                // Boxed: inline (Lambda awaits it in the request) it overflowed debug builds' stacks.
                Box::pin(log_writes::flush(gateway.clone()))
            });
        // The hold is settled once the usage is written, not after the log record (which may wait for a
        // batch: `log_writes`).
        let write = async move {
            write.await;
            reservation.settle(nanos, platform_nanos);
        };
        let write = async move {
            match flush {
                None => write.await,
                Some(flush) => {
                    futures::join!(write, flush);
                }
            }
        };
        caches.usage_writes.run(write).await;
        cost
    }
}

/// The store writes of one request: its usage counters, the correction of its rate-limit tokens (issued
/// together: one round trip), and (at most once a minute per instance) the last-used times of the API key
/// and of the own provider key.
async fn record(
    gateway: Gateway,
    caller: Caller,
    provider: Provider,
    event: UsageEvent,
    rate: Option<Ticket>,
) {
    let store = gateway.app().store();
    let now = event.at;
    let marks = &gateway.caches().last_used;
    let usage = async {
        if let Err(e) = usage::record(store, caller.org_id(), &event).await {
            tracing::error!(error = %e.message, "usage could not be recorded");
        }
    };
    let settle = async {
        if let Some(ticket) = &rate {
            let tokens = event.input_tokens.saturating_add(event.output_tokens);
            ticket.settle(&gateway, tokens).await;
        }
    };
    let api_key = async {
        let window = format!("apikey#{}", caller.api_key_id());
        if !event.error && marks.first_in_window(window).await {
            let marked = apikeys::mark_used(store, caller.org_id(), caller.api_key_id(), now);
            if let Err(e) = marked.await {
                tracing::warn!(error = %e.message, "API key last-used time could not be recorded");
            }
        }
    };
    let own_key = async {
        let window = format!("byok#{}#{}", caller.org_id(), provider);
        if event.is_byok && !event.error && marks.first_in_window(window).await {
            let owner = Owner::Org(caller.org_id());
            let update = provider_keys::record_health(store, owner, provider, |h| {
                h.last_used_at = Some(now)
            });
            if let Err(e) = update.await {
                tracing::warn!(error = %e.message, "key last-used time could not be recorded");
            }
        }
    };
    // Independent writes: one round trip's wait, not four in a row.
    futures::join!(usage, settle, api_key, own_key);
}
