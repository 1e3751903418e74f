//! Billing a served (or failed) request: cost from the catalogue, usage counters, the key's monthly spend,
//! and the own key's last-used time. Awaited before the response completes (Lambda freezes after it).

use byok_shared::AppState;
use byok_shared::auth::Caller;
use byok_shared::catalogue::Catalogue;
use byok_shared::domain::policy::KeyKind;
use byok_shared::domain::provider::Provider;
use byok_shared::domain::usage::UsageEvent;
use byok_shared::providers::Usage;
use byok_shared::repo::provider_keys::{self, Owner};
use byok_shared::repo::usage;

use crate::request::Metadata;

/// USD for `usage` of `provider/model`; `None` when the catalogue has no price for it.
pub fn cost(provider: Provider, model: &str, usage: &Usage) -> Option<f64> {
    Catalogue::cost(provider, model, usage)
}

pub struct Served<'a> {
    pub provider: Provider,
    pub model: &'a str,
    pub key: Option<KeyKind>,
    pub usage: Usage,
    pub cost: Option<f64>,
    pub error: bool,
}

pub async fn record(state: &AppState, caller: &Caller, metadata: &Metadata, served: Served<'_>) {
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
    if served.key == Some(KeyKind::Own)
        && !served.error
        && state
            .keys()
            .should_mark_used(caller.org_id(), served.provider)
            .await
    {
        let owner = Owner::Org(caller.org_id());
        let now = chrono::Utc::now();
        if let Err(e) = provider_keys::record_health(state.store(), owner, served.provider, |h| {
            h.last_used_at = Some(now)
        })
        .await
        {
            tracing::warn!(error = %e.message, "key last-used time could not be recorded");
        }
    }
}
