//! Billing a served (or failed) request: its cost at the operator's prices, and the writes that record it
//! (usage counters, the key's monthly spend, last-used times: `writes`), awaited before the response
//! completes on Lambda (which freezes after it), behind it in `byok serve`.

use byok_shared::auth::Caller;
use byok_shared::domain::policy::KeyKind;
use byok_shared::domain::policy::route::Route;
use byok_shared::domain::provider::Provider;
use byok_shared::domain::usage::UsageEvent;
use byok_shared::providers::Usage;
use byok_shared::routing;

use crate::ratelimit::Ticket;
use crate::request::Metadata;
use crate::request_log::Trail;
use crate::reserve::Reservation;
use crate::state::Gateway;
use crate::writes::{self, Billed, Job};

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
    /// run where the router's writes run (`writes`); the spend reservation is settled to the cost once they
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
        let billed = Billed {
            caller: caller.clone(),
            provider: self.provider,
            event,
            rate: self.rate,
        };
        // The request log record goes with the usage writes: one store wait, not two.
        let log = trail.and_then(|t| t.served_and_billed(&usage, cost, error));
        writes::run(gateway, Job::billed(billed, self.reservation, log)).await;
        cost
    }
}
