//! Request bodies and their validation.

use byok_shared::Result;
use byok_shared::auth::Caller;
use byok_shared::domain::provider::Provider;
use byok_shared::domain::provider_key::validate_key;
use byok_shared::error::Error;
use byok_shared::repo::provider_keys::Actor;
use byok_shared::secret::Secret;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

const MAX_LABEL: usize = 100;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    #[schema(value_type = Provider)]
    pub provider: String,
    /// The provider's API key (stored encrypted, never shown again).
    #[schema(value_type = String, format = Password)]
    pub api_key: Secret,
    /// 1-100 printable characters.
    pub label: Option<String>,
}

/// `POST /v1/byok?verify=true`: check the key with the provider before saving it.
#[derive(Deserialize, Default, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CreateOptions {
    /// Check the key with the provider (a free list-models call) before saving it.
    pub verify: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    #[schema(value_type = String, format = Password)]
    pub api_key: Secret,
    pub label: Option<String>,
    /// The version it was read at: a stale one is refused with 409.
    pub version: Option<u64>,
}

pub fn provider(value: &str) -> Result<Provider> {
    value.parse()
}

pub fn key(key: &Secret) -> Result<()> {
    validate_key(key)
}

pub fn label(label: Option<String>) -> Result<Option<String>> {
    let Some(label) = label else { return Ok(None) };
    let trimmed = label.trim();
    if trimmed.is_empty()
        || trimmed.chars().count() > MAX_LABEL
        || trimmed.chars().any(char::is_control)
    {
        return Err(Error::invalid(
            "label",
            format!("label must be 1-{MAX_LABEL} printable characters"),
        ));
    }
    Ok(Some(trimmed.to_owned()))
}

pub fn actor(caller: &Caller) -> Actor {
    Actor {
        api_key_id: caller.api_key_id().to_owned(),
        name: caller.key.name.clone(),
    }
}
