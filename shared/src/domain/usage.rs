//! What one served request cost, and how usage is grouped and bucketed.

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// One request's usage, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageEvent {
    pub at: DateTime<Utc>,
    pub api_key_id: String,
    pub provider: String,
    pub model: String,
    pub is_byok: bool,
    pub user_id: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Model,
    Provider,
    IsByok,
    UserId,
    ApiKeyId,
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
    fn nanos_are_exact_for_per_token_prices() {
        // 1 token at $0.075 per million tokens.
        assert_eq!(to_nanos(0.000_000_075), 75);
        assert_eq!(from_nanos(to_nanos(12.34)), 12.34);
    }
}
