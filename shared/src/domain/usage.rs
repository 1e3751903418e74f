//! What one served request cost, and how usage is grouped and bucketed.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// One request's usage, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageEvent {
    pub at: DateTime<Utc>,
    pub api_key_id: String,
    /// The provider that answered (`provider_used`).
    pub provider: String,
    /// The model that answered, without the provider prefix (`model_used`).
    pub model: String,
    /// The request's `model` as the client wrote it (`policy/x`, `openai/gpt-4.1`, `default`).
    pub model_requested: String,
    pub is_byok: bool,
    pub user_id: Option<String>,
    /// The calling app's title (`X-Title`, else the `HTTP-Referer` host).
    pub origin_title: Option<String>,
    /// `requesty.extra` / `byok.extra` and `X-Requesty-<Name>` headers, each value as text.
    pub extra: BTreeMap<String, String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    /// Prompt tokens written to the provider's cache (Anthropic's `cache_creation_input_tokens`).
    pub cache_write_tokens: u64,
    /// USD; `None` when the model's price is unknown (counted apart, never as zero).
    pub cost: Option<f64>,
    pub error: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    Hour,
    #[default]
    Day,
    Month,
}

/// A usage dimension to group by: Requesty's names, plus `model` / `provider` (our earlier names for
/// `model_used` / `provider_used`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum GroupBy {
    ModelRequested,
    ModelUsed,
    ProviderUsed,
    IsByok,
    UserId,
    ApiKeyId,
    OriginTitle,
    /// `extra.<field>`
    Extra(String),
}

/// Longest `extra.<field>` name, and the characters it may use.
pub const MAX_EXTRA_NAME: usize = 64;

pub fn valid_extra_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_EXTRA_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
}

impl GroupBy {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "model_requested" => Self::ModelRequested,
            "model_used" | "model" => Self::ModelUsed,
            "provider_used" | "provider" => Self::ProviderUsed,
            "is_byok" => Self::IsByok,
            "user_id" => Self::UserId,
            "api_key_id" => Self::ApiKeyId,
            "origin_title" => Self::OriginTitle,
            other => {
                let field = other.strip_prefix("extra.")?.to_ascii_lowercase();
                return valid_extra_name(&field).then_some(Self::Extra(field));
            }
        })
    }

    /// The name it is reported under.
    pub fn name(&self) -> String {
        match self {
            Self::ModelRequested => "model_requested".into(),
            Self::ModelUsed => "model_used".into(),
            Self::ProviderUsed => "provider_used".into(),
            Self::IsByok => "is_byok".into(),
            Self::UserId => "user_id".into(),
            Self::ApiKeyId => "api_key_id".into(),
            Self::OriginTitle => "origin_title".into(),
            Self::Extra(field) => format!("extra.{field}"),
        }
    }
}

/// Money is counted in nano-dollars so that atomic integer adds stay exact.
pub fn to_nanos(usd: f64) -> i64 {
    (usd * 1_000_000_000.0).round() as i64
}

pub fn from_nanos(nanos: i64) -> f64 {
    nanos as f64 / 1_000_000_000.0
}

/// `YYYYMM` of a time, the monthly window (UTC).
pub fn month_key(at: DateTime<Utc>) -> String {
    format!("{:04}{:02}", at.year(), at.month())
}

/// The start of the bucket `at` falls in.
pub fn bucket_start(at: DateTime<Utc>, resolution: Resolution) -> DateTime<Utc> {
    let (y, m, d, h) = (at.year(), at.month(), at.day(), at.hour());
    let start = match resolution {
        Resolution::Hour => Utc.with_ymd_and_hms(y, m, d, h, 0, 0),
        Resolution::Day => Utc.with_ymd_and_hms(y, m, d, 0, 0, 0),
        Resolution::Month => Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0),
    };
    start.single().unwrap_or(at)
}

/// The months (as `YYYYMM`) that a window `[start, end)` touches, oldest first.
pub fn months_between(start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<String> {
    let mut months = Vec::new();
    if start >= end {
        return months;
    }
    let mut cursor = bucket_start(start, Resolution::Month);
    while cursor < end && months.len() < 240 {
        months.push(month_key(cursor));
        let (y, m) = if cursor.month() == 12 {
            (cursor.year() + 1, 1)
        } else {
            (cursor.year(), cursor.month() + 1)
        };
        cursor = Utc
            .with_ymd_and_hms(y, m, 1, 0, 0, 0)
            .single()
            .unwrap_or(end);
    }
    months
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn buckets_are_utc_calendar_units() {
        let at = t("2026-11-30T23:59:59Z");
        assert_eq!(
            bucket_start(at, Resolution::Hour),
            t("2026-11-30T23:00:00Z")
        );
        assert_eq!(bucket_start(at, Resolution::Day), t("2026-11-30T00:00:00Z"));
        assert_eq!(
            bucket_start(at, Resolution::Month),
            t("2026-11-01T00:00:00Z")
        );
        assert_eq!(month_key(at), "202611");
    }

    #[test]
    fn months_span_year_ends() {
        assert_eq!(
            months_between(t("2026-11-15T00:00:00Z"), t("2027-01-02T00:00:00Z")),
            ["202611", "202612", "202701"]
        );
        assert_eq!(
            months_between(t("2026-11-15T00:00:00Z"), t("2026-11-15T00:00:00Z")),
            Vec::<String>::new()
        );
    }

    #[test]
    fn group_by_names_round_trip() {
        for name in [
            "model_requested",
            "model_used",
            "provider_used",
            "is_byok",
            "user_id",
            "api_key_id",
            "origin_title",
            "extra.team",
        ] {
            assert_eq!(GroupBy::parse(name).unwrap().name(), name);
        }
        assert_eq!(GroupBy::parse("model"), Some(GroupBy::ModelUsed));
        assert_eq!(
            GroupBy::parse("extra.Team"),
            Some(GroupBy::Extra("team".into()))
        );
        for bad in ["", "colour", "extra.", "extra.a b", "extra.x#y"] {
            assert_eq!(GroupBy::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn nanos_are_exact_for_per_token_prices() {
        // 1 token at $0.075 per million tokens.
        assert_eq!(to_nanos(0.000_000_075), 75);
        assert_eq!(from_nanos(to_nanos(12.34)), 12.34);
    }
}
