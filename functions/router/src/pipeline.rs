//! What every inference request goes through once parsed: admission (permission, allow-list), its route
//! (refused when a model it may bill has no price), its spend reservation (`reserve`), the engine, and the
//! billing of a request no attempt could serve. Chat, messages and embeddings differ only before (parsing)
//! and after (the response).

use axum::response::Response;
use byok_shared::Result;
use byok_shared::auth::Caller;
use byok_shared::domain::policy::is_allowed;
use byok_shared::domain::policy::route::Route;
use byok_shared::domain::provider::Provider;
use byok_shared::error::Error;
use byok_shared::providers::{ClientFormat, responses_stateful_field};
use byok_shared::routing::{Context, Failed, Served, Work, execute};

use crate::keyring::OrgKeys;
use crate::request::Parsed;
use crate::reserve::{self, Reservation};
use crate::state::Gateway;
use crate::{pricing, resolve, respond, usage};

/// Why a request was not served.
pub enum Stopped {
    /// Refused before any provider call (unknown policy, bad model).
    Refused(Error),
    /// Every attempt failed (already billed as a failure).
    Failed(Failed),
}

impl Stopped {
    pub fn into_response(self) -> Response {
        match self {
            Stopped::Refused(error) => respond::error(error, Default::default()),
            Stopped::Failed(failed) => respond::failed(failed),
        }
    }
}

/// Checks every request passes before its route is resolved: permission, allow-list.
pub async fn admit(_gateway: &Gateway, caller: &Caller, parsed: &Parsed) -> Result<()> {
    caller.require_completions()?;
    if !is_allowed(&caller.key, &parsed.model) {
        return Err(
            Error::forbidden(format!("this API key may not use {}", parsed.model))
                .with_param("model"),
        );
    }
    Ok(())
}

/// A Responses request that needs OpenAI's own state or built-in tools may only take routes that stay on
/// OpenAI: refused before any call when a step of the route is another provider.
fn refuse_state_off_openai(route: &Route, work: Work<'_>) -> Result<()> {
    let Work::Chat {
        format: ClientFormat::Responses,
        body,
        ..
    } = work
    else {
        return Ok(());
    };
    let others: Vec<String> = route
        .providers()
        .into_iter()
        .filter(|p| *p != Provider::OpenAi)
        .map(|p| p.to_string())
        .collect();
    // A route that stays on OpenAI passes the body through: its tree is not built for this check.
    if others.is_empty() {
        return Ok(());
    }
    let body = body.tree();
    let Some(field) = responses_stateful_field(body) else {
        return Ok(());
    };
    let what = if field == "tools" {
        let kinds: Vec<&str> = body
            .get("tools")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| t.get("type").and_then(serde_json::Value::as_str))
            .filter(|t| *t != "function")
            .take(8)
            .collect();
        format!("tools of type {}", kinds.join(", "))
    } else {
        field.to_owned()
    };
    Err(Error::invalid(
        field,
        format!(
            "{what} relies on state or tools that only OpenAI keeps, but this route may be served by {}; send the whole conversation as input items with store false and function tools only, or use a route that stays on OpenAI",
            others.join(", ")
        ),
    ))
}

/// Route and run an admitted request; the reservation goes to its billing.
pub async fn run(
    gateway: &Gateway,
    caller: &Caller,
    parsed: &Parsed,
    work: Work<'_>,
) -> Result<(Served, Reservation), Stopped> {
    let org_id = caller.org_id();
    let route = resolve::route(gateway, org_id, &parsed.model, &parsed.metadata)
        .await
        .map_err(Stopped::Refused)?;
    refuse_state_off_openai(&route, work).map_err(Stopped::Refused)?;
    pricing::require(gateway, caller, &route)
        .await
        .map_err(Stopped::Refused)?;
    let reservation = reserve::reserve(gateway, caller, &route, &work)
        .await
        .map_err(Stopped::Refused)?;
    let app = gateway.app();
    let context = Context {
        providers: app.providers(),
        keys: &OrgKeys {
            gateway,
            org_id,
            platform: Some(reservation.platform()),
        },
        health: gateway.caches().cooldowns.of(org_id),
        max_attempts: app.config().max_attempts,
    };
    match execute(&context, &route, work).await {
        Ok(served) => Ok((served, reservation)),
        Err(failed) => {
            if let Some(billing) = usage::Billing::failed(&route, reservation) {
                let nothing = Default::default();
                billing
                    .bill(gateway, caller, &parsed.metadata, nothing, true)
                    .await;
            }
            Err(Stopped::Failed(failed))
        }
    }
}
