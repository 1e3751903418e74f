//! What every inference request goes through once parsed: admission (permission, allow-list), its route
//! (refused when a model it may bill has no price), its spend reservation (`reserve`), the engine, and the
//! billing of a request no attempt could serve. Chat, messages and embeddings differ only before (parsing)
//! and after (the response).

use axum::response::Response;
use byok_shared::Result;
use byok_shared::auth::Caller;
use byok_shared::domain::policy::is_allowed;
use byok_shared::error::Error;
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
    pricing::require(gateway, caller, &route)
        .await
        .map_err(Stopped::Refused)?;
    let reservation = reserve::reserve(gateway, caller, &route, &work)
        .await
        .map_err(Stopped::Refused)?;
    let app = gateway.app();
    let context = Context {
        providers: app.providers(),
        keys: &OrgKeys { gateway, org_id },
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
