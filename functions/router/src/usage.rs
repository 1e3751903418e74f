//! Billing a served (or failed) request: cost from the catalogue, usage counters, the key's monthly spend,
//! and the own key's last-used time. Awaited before the response completes (Lambda freezes after it).

use byok_shared::AppState;
use byok_shared::auth::Caller;
use byok_shared::catalogue::Catalogue;
use byok_shared::domain::policy::KeyKind;
use byok_shared::domain::policy::route::Route;
use byok_shared::domain::provider::Provider;
use byok_shared::domain::usage::UsageEvent;
use byok_shared::providers::Usage;
use byok_shared::repo::provider_keys::{self, Owner};
use byok_shared::repo::{apikeys, usage};
use byok_shared::routing;

use crate::request::Metadata;

/// Who answered: what a served request is billed as.
#[derive(Debug, Clone)]
pub struct Billing {
    provider: Provider,
    /// The model as the provider knows it (no `provider/` prefix).
    model: String,
    key: Option<KeyKind>,
}

impl Billing {
    pub fn of(served: &routing::Served) -> Self {
        let model = served
            .model
            .split_once('/')
            .map_or(served.model.as_str(), |(_, m)| m);
        Self {
            provider: served.provider,
            model: model.to_owned(),
            key: Some(served.key),
        }
    }

    /// A request no attempt answered, billed to the route's first model.
    pub fn failed(route: &Route) -> Option<Self> {
        route.attempts().next().map(|step| Self {
            provider: step.provider,
            model: step.model.clone(),
            key: None,
        })
    }

    /// Record `usage` and return its cost (USD; `None` when the catalogue has no price for the model).
    pub async fn bill(
        &self,
        state: &AppState,
        caller: &Caller,
        metadata: &Metadata,
        usage: Usage,
        error: bool,
    ) -> Option<f64> {
        let cost = Catalogue::cost(self.provider, &self.model, &usage);
        let served = Served {
            provider: self.provider,
            model: &self.model,
            key: self.key,
            usage,
            cost,
            error,
        };
        record(state, caller, metadata, served).await;
        cost
    }
}

struct Served<'a> {
    provider: Provider,
    model: &'a str,
    key: Option<KeyKind>,
    usage: Usage,
    cost: Option<f64>,
    error: bool,
}

async fn record(state: &AppState, caller: &Caller, metadata: &Metadata, served: Served<'_>) {
    let event = UsageEvent {
        at: chrono::Utc::now(),
        api_key_id: caller.api_key_id().to_owned(),
        provider: served.provider.as_str().to_owned(),
        model: served.model.to_owned(),
        is_byok: served.key == Some(KeyKind::Own),
        user_id: metadata.user_id.clone(),
        input_tokens: served.usage.input_tokens,
        output_tokens: served.usage.output_tokens,
        cached_tokens: served.usage.cached_tokens,
        reasoning_tokens: served.usage.reasoning_tokens,
        cost: served.cost,
        error: served.error,
    };
    if let Err(e) = usage::record(state.store(), caller.org_id(), &event).await {
        tracing::error!(error = %e.message, "usage could not be recorded");
    }
    state
        .spend()
        .add(caller.api_key_id(), served.cost.unwrap_or(0.0))
        .await;
    let now = chrono::Utc::now();
    let marks = state.last_used();
    let api_key = format!("apikey#{}", caller.api_key_id());
    if !served.error && marks.first_in_window(api_key).await {
        let marked = apikeys::mark_used(state.store(), caller.org_id(), caller.api_key_id(), now);
        if let Err(e) = marked.await {
            tracing::warn!(error = %e.message, "API key last-used time could not be recorded");
        }
    }
    let own_key = format!("byok#{}#{}", caller.org_id(), served.provider);
    if served.key == Some(KeyKind::Own) && !served.error && marks.first_in_window(own_key).await {
        let owner = Owner::Org(caller.org_id());
        let update = provider_keys::record_health(state.store(), owner, served.provider, |h| {
            h.last_used_at = Some(now)
        });
        if let Err(e) = update.await {
            tracing::warn!(error = %e.message, "key last-used time could not be recorded");
        }
    }
}
