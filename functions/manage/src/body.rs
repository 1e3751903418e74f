//! Request bodies for API-key management, and their validation.

use byok_shared::Result;
use byok_shared::domain::permissions::Permissions;
use byok_shared::domain::provider::Provider;
use byok_shared::error::Error;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// 1-100 printable characters.
    pub name: String,
    /// USD per month, 0 (unlimited, the default) to 1e9.
    #[serde(default)]
    pub monthly_limit: f64,
    pub permissions: Permissions,
    /// `<provider>/<model>`, `<provider>/*`, `policy/<name>` or `policy/*`; empty allows every model.
    #[serde(default)]
    pub allowed_models: Vec<String>,
    /// When the key stops working (must be in the future).
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetLimit {
    /// USD per month, 0 (unlimited) to 1e9.
    pub monthly_limit: f64,
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
