//! How a gateway API key is shown: Requesty's fields, ours beside them, never the secret.

use byok_shared::domain::apikey::ApiKey;
use byok_shared::repo::{apikeys, usage};
use byok_shared::{AppState, Result};
use serde_json::{Value, json};

pub async fn key(state: &AppState, key: &ApiKey) -> Result<Value> {
    let spend = usage::month_spend(
        state.store(),
        &key.org_id,
        Some(&key.api_key_id),
        chrono::Utc::now(),
    )
    .await?;
    let last_used = apikeys::last_used(state.store(), &key.org_id, &key.api_key_id).await?;
    Ok(json!({
        // Requesty's fields.
        "id": key.api_key_id,
        "name": key.name,
        // Whether request and response bodies are captured (encrypted) in the request log.
        "logging": key.logging,
        "monthly_limit": key.monthly_limit,
        "monthly_spend": spend,
        "permissions": key.permissions,
        "labels": key.labels,
        // Requesty names a user; here keys are created by keys (none for the org's first key).
        "created_by": key.created_by.as_ref().map(|id| json!({ "id": id, "email": null })),
        // Ours.
        "api_key_id": key.api_key_id,
        "allowed_models": key.allowed_models,
        "default_model": key.default_model,
        "auto_cache": key.auto_cache,
        "expires_at": key.expires_at,
        "created_at": key.created_at,
        "last_used_at": last_used,
        "rpm": key.rate_limits.rpm,
        "tpm": key.rate_limits.tpm,
    }))
}
