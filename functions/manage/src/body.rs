//! Request bodies for API-key management, and their validation.

use std::collections::BTreeMap;

use byok_shared::Result;
use byok_shared::domain::permissions::{Completions, Manage, Permissions};
use byok_shared::domain::policy::allow::allows;
use byok_shared::domain::provider::Provider;
use byok_shared::error::Error;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

/// `POST` / `PUT /v1/manage/apikey`: Requesty's `{name, monthly_limit?, permissions?}`, and ours beside it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// 1-100 printable characters.
    pub name: String,
    /// USD per month, 0 (unlimited) to 1e9. Default: the creating key's own limit.
    pub monthly_limit: Option<f64>,
    /// Default (as Requesty's): `{"manage": "none", "completions": "write"}`.
    pub permissions: Option<Permissions>,
    /// `<provider>/<model>`, `<provider>/*`, `policy/<name>` or `policy/*`; empty allows every model.
    /// Default: the creating key's own list.
    pub allowed_models: Option<Vec<String>>,
    /// When the key stops working (must be in the future). Default: the creating key's own expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Free-form labels, name → value.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `<provider>/<model>` or `policy/<name>`, used when a request names model `default` or none.
    pub default_model: Option<String>,
    /// Auto caching (prompt-cache breakpoints on Anthropic) for requests that do not set
    /// `requesty.auto_cache` themselves. Default: off.
    pub auto_cache: Option<bool>,
    /// Requests per minute, 1-1e6; `null` for none. Default: the creating key's own.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>)]
    pub rpm: Option<Option<u32>>,
    /// Tokens (input + output) per minute, 1-1e10; `null` for none. Default: the creating key's own.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u64>)]
    pub tpm: Option<Option<u64>>,
    /// Requesty's `logging`: keep each request's and response's body (first 32 KiB each, encrypted) in the
    /// request log, readable in `GET /v1/manage/logs/{request_id}`. Default: off.
    #[serde(default)]
    pub logging: bool,
}

/// `PATCH /v1/manage/apikey/{id}`: only the fields sent change; `null` clears an optional one.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchKey {
    pub name: Option<String>,
    pub labels: Option<BTreeMap<String, String>>,
    pub allowed_models: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub expires_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub default_model: Option<Option<String>>,
    pub monthly_limit: Option<f64>,
    pub permissions: Option<Permissions>,
    /// The key's auto-caching default; `null` clears it (off).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>)]
    pub auto_cache: Option<Option<bool>>,
    /// Requests per minute; `null` removes the limit.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>)]
    pub rpm: Option<Option<u32>>,
    /// Tokens per minute; `null` removes the limit.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u64>)]
    pub tpm: Option<Option<u64>>,
    /// Capture request and response bodies in the request log (encrypted); see `CreateKey.logging`.
    pub logging: Option<bool>,
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn nullable<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetLimit {
    /// USD per month, 0 (unlimited) to 1e9.
    pub monthly_limit: f64,
}

/// Requesty's default permissions for a new key.
pub fn default_permissions() -> Permissions {
    Permissions {
        manage: Manage::None,
        completions: Completions::Write,
    }
}

const MAX_LABELS: usize = 32;

/// At most 32 labels; names 1-64 of letters, digits, `_`, `-`, `.`; values at most 256 printable chars.
pub fn labels(labels: BTreeMap<String, String>) -> Result<BTreeMap<String, String>> {
    if labels.len() > MAX_LABELS {
        return Err(Error::invalid(
            "labels",
            format!("labels takes at most {MAX_LABELS} entries"),
        ));
    }
    for (name, value) in &labels {
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        if !name_ok || value.chars().count() > 256 || value.chars().any(char::is_control) {
            return Err(Error::invalid(
                format!("labels.{name}"),
                "label names are 1-64 letters, digits, `_`, `-` or `.`; values at most 256 printable characters",
            ));
        }
    }
    Ok(labels)
}

/// `<provider>/<model>` of a known provider or `policy/<name>` (no wildcard), and allowed by the key's
/// allow-list, or the default could never be used.
pub fn default_model(model: Option<String>, allowed: &[String]) -> Result<Option<String>> {
    let Some(model) = model else {
        return Ok(None);
    };
    let checked = allowed_models(vec![model.clone()]).map_err(|_| {
        Error::invalid(
            "default_model",
            "default_model must be <provider>/<model> of a known provider, or policy/<name>",
        )
    })?;
    if model.ends_with("/*") || checked.is_empty() {
        return Err(Error::invalid(
            "default_model",
            "default_model names one model or policy, not a wildcard",
        ));
    }
    if !allows(allowed, &model) {
        return Err(Error::invalid(
            "default_model",
            "default_model must be allowed by the key's allowed_models",
        ));
    }
    Ok(Some(model))
}

pub fn name(name: &str) -> Result<String> {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 100 || trimmed.chars().any(char::is_control)
    {
        return Err(Error::invalid(
            "name",
            "name must be 1-100 printable characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// USD per month; 0 means unlimited.
pub fn monthly_limit(limit: f64) -> Result<f64> {
    if !limit.is_finite() || !(0.0..=1e9).contains(&limit) {
        return Err(Error::invalid(
            "monthly_limit",
            "monthly_limit must be a number of USD from 0 (unlimited) to 1e9",
        ));
    }
    Ok(limit)
}

/// Each entry is `<provider>/<model>` of a known provider, or `policy/<name>`.
pub fn allowed_models(models: Vec<String>) -> Result<Vec<String>> {
    if models.len() > 100 {
        return Err(Error::invalid(
            "allowed_models",
            "allowed_models takes at most 100 entries",
        ));
    }
    for (i, model) in models.iter().enumerate() {
        let param = format!("allowed_models[{i}]");
        let (prefix, rest) = model.split_once('/').ok_or_else(|| {
            Error::invalid(
                &param,
                format!("{param} must be <provider>/<model> or policy/<name>"),
            )
        })?;
        let known = prefix == "policy" || prefix.parse::<Provider>().is_ok();
        // `*` alone is a wildcard: every model of the provider, or every policy.
        let well_formed = rest == "*"
            || (!rest.is_empty()
                && rest.len() <= 128
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._:-/".contains(&b)));
        if !known || !well_formed {
            return Err(Error::invalid(
                &param,
                format!("{param} must be <provider>/<model> of a known provider, or policy/<name>"),
            ));
        }
    }
    Ok(models)
}

pub fn expires_at(at: Option<DateTime<Utc>>) -> Result<Option<DateTime<Utc>>> {
    match at {
        Some(t) if t <= Utc::now() => Err(Error::invalid(
            "expires_at",
            "expires_at must be in the future",
        )),
        other => Ok(other),
    }
}
