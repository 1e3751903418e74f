//! Request bodies and their validation.

use byok_shared::Result;
use byok_shared::auth::Caller;
use byok_shared::domain::provider::Provider;
use byok_shared::domain::provider_key::validate_key;
use byok_shared::error::Error;
use byok_shared::repo::provider_keys::Actor;
use byok_shared::secret::Secret;
use serde::Deserialize;

const MAX_LABEL: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    pub provider: String,
    pub api_key: Secret,
    pub label: Option<String>,
}

/// `POST /v1/byok?verify=true`: check the key with the provider before saving it.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateOptions {
    pub verify: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    pub api_key: Secret,
    pub label: Option<String>,
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
