//! Applying the no-restriction-shedding rule (`domain::key_scope`) to a caller.

use byok_shared::auth::Caller;
use byok_shared::domain::apikey::ApiKey;
use byok_shared::domain::key_scope::{Scope, wider_field};
use byok_shared::error::Error;
use byok_shared::repo::apikeys;
use byok_shared::{AppState, Result};

/// The caller's key as stored now (the authenticated copy may be up to the cache TTL old, and a limit
/// just lowered must bind at once).
pub async fn fresh(state: &AppState, caller: &Caller) -> Result<ApiKey> {
    apikeys::get(state.store(), caller.org_id(), caller.api_key_id())
        .await?
        .ok_or_else(|| Error::unauthenticated("invalid API key"))
}

/// 403 naming the field unless `scope` is within the caller's own restrictions.
pub fn ensure_within(caller: &ApiKey, scope: &Scope<'_>, what: &str) -> Result<()> {
    match wider_field(scope, &Scope::of(caller)) {
        None => Ok(()),
        Some(field) => Err(Error::forbidden(format!(
            "a key cannot {what} a key wider than itself: {field} goes beyond the calling key's own"
        ))
        .with_param(field)),
    }
}
