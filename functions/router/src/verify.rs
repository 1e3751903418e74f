//! `POST /v1/byok/{provider}/verify`: a free, read-only call (list models) with the org's stored key; the
//! outcome is recorded on the key's health. Lives here because it decrypts.

use axum::Json;
use axum::extract::{Path, State};
use byok_shared::domain::permissions::Manage;
use byok_shared::domain::provider::Provider;
use byok_shared::error::Error;
use byok_shared::http::Auth;
use byok_shared::repo::provider_keys::{self, Owner};
use byok_shared::{AppState, Result};
use serde_json::{Value, json};

#[utoipa::path(post, path = "/v1/byok/{provider}/verify", tag = "keys", operation_id = "verify_provider_key",
    params(("provider" = byok_shared::domain::provider::Provider, Path, description = "openai, anthropic, google or xai")),
    responses(
        (status = 200, description = "Whether the provider accepts the stored key (recorded on its health)", body = crate::openapi::Verified),
        (status = 404, description = "No key stored for this provider"),
        (status = 502, description = "The provider could not be reached"),
    ))]
pub async fn verify(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(provider): Path<String>,
) -> Result<Json<Value>> {
    caller.require_manage(Manage::Write)?;
    let provider: Provider = provider.parse()?;
    let owner = Owner::Org(caller.org_id());
    let key = provider_keys::decrypt(state.store(), state.cipher(), owner, provider)
        .await?
        .ok_or_else(|| Error::not_found(format!("no {provider} key is stored")))?;
    let outcome = state.providers().list_models(provider, &key).await;
    drop(key);
    let now = chrono::Utc::now();
    let (valid, error, models) = match &outcome {
        Ok(models) => (true, None, models.len()),
        Err(e) if e.class == byok_shared::providers::ErrorClass::KeyRejected => {
            (false, Some(e.message.clone()), 0)
        }
        Err(e) => {
            let message = format!(
                "{provider} could not be reached to verify the key: {}",
                e.message
            );
            return Err(Error::new(byok_shared::ErrorKind::Upstream, message));
        }
    };
    provider_keys::record_health(state.store(), owner, provider, |h| {
        h.last_verified_at = Some(now);
        h.last_error = error.clone();
    })
    .await?;
    Ok(Json(
        json!({ "provider": provider, "valid": valid, "error": error, "models": models, "verified_at": now }),
    ))
}
