//! Usage counters: atomic adds into hourly buckets, read back grouped and re-bucketed.
//!
//! Layout: partition `USAGE#<org>#<YYYYMM>`, sort key `<YYYYMMDDHH>#<api_key_id>#<provider>#<model>#<byok>#<user>`
//! with counters requests/errors/tokens/cost_nanos. Monthly spend per key and per org sits at
//! `ORG#<org>` / `SPEND#<api_key_id|org>#<YYYYMM>` for the limit check.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use super::org_pk;
use crate::domain::usage::{
    GroupBy, Resolution, UsageEvent, bucket_start, from_nanos, month_key, months_between, to_nanos,
};
use crate::error::Result;
use crate::store::{Counters, Store};

const ORG_SPEND: &str = "org";

fn usage_pk(org_id: &str, month: &str) -> String {
    format!("USAGE#{org_id}#{month}")
}

fn spend_sk(who: &str, month: &str) -> String {
    format!("SPEND#{who}#{month}")
}

/// Sort-key parts are joined with `#`; any `#` inside a part is replaced so parsing stays unambiguous.
fn part(value: &str) -> String {
    value.replace('#', "_")
}

/// Record one request: its usage bucket, the key's and the org's monthly spend. Three atomic adds, issued
/// concurrently; each is exact under concurrency.
pub async fn record(store: &dyn Store, org_id: &str, event: &UsageEvent) -> Result<()> {
    let month = month_key(event.at);
    let sk = format!(
        "{}#{}#{}#{}#{}#{}",
        event.at.format("%Y%m%d%H"),
        part(&event.api_key_id),
        part(&event.provider),
        part(&event.model),
        u8::from(event.is_byok),
        part(event.user_id.as_deref().unwrap_or("")),
    );
    let cost = event.cost.map(to_nanos).unwrap_or(0);
    let deltas = [
        ("requests", 1),
        ("errors", i64::from(event.error)),
        ("input_tokens", event.input_tokens as i64),
        ("output_tokens", event.output_tokens as i64),
        ("cached_tokens", event.cached_tokens as i64),
        ("reasoning_tokens", event.reasoning_tokens as i64),
        ("cost_nanos", cost),
        (
            "unpriced_requests",
            i64::from(event.cost.is_none() && !event.error),
        ),
    ];
    let spend = [("cost_nanos", cost), ("requests", 1)];
    let (key_spend, org_spend) = (
        spend_sk(&event.api_key_id, &month),
        spend_sk(ORG_SPEND, &month),
    );
    // Independent counters: issued together, so they cost one round trip (and one SQLite group commit).
    let (org, bucket_pk) = (org_pk(org_id), usage_pk(org_id, &month));
    let (bucket, key, total) = futures::join!(
        store.add(&bucket_pk, &sk, &deltas),
        store.add(&org, &key_spend, &spend),
        store.add(&org, &org_spend, &spend),
    );
    bucket?;
    key?;
    total?;
    Ok(())
}

/// USD spent this month (UTC) by one key, or by the whole org with `api_key_id = None`.
pub async fn month_spend(
    store: &dyn Store,
    org_id: &str,
    api_key_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<f64> {
    let sk = spend_sk(api_key_id.unwrap_or(ORG_SPEND), &month_key(now));
    let counters = store
        .get(&org_pk(org_id), &sk)
        .await?
        .map(|i| i.counters)
        .unwrap_or_default();
    Ok(from_nanos(counters.get("cost_nanos").copied().unwrap_or(0)))
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UsageRow {
    pub start: DateTime<Utc>,
    #[schema(value_type = Object)]
    pub group: BTreeMap<&'static str, serde_json::Value>,
    pub requests: i64,
    pub errors: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_tokens: i64,
    pub reasoning_tokens: i64,
    pub cost: f64,
    pub unpriced_requests: i64,
}

pub struct UsageQuery<'a> {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub resolution: Resolution,
    pub group_by: &'a [GroupBy],
    /// Only this key's usage, when set.
    pub api_key_id: Option<&'a str>,
}

struct Key<'a> {
    hour: DateTime<Utc>,
    api_key_id: &'a str,
    provider: &'a str,
    model: &'a str,
    is_byok: bool,
    user_id: &'a str,
}

fn parse_sk(sk: &str) -> Option<Key<'_>> {
    let mut parts = sk.splitn(6, '#');
    let hour = parts.next()?;
    let hour = Utc
        .with_ymd_and_hms(
            hour.get(0..4)?.parse().ok()?,
            hour.get(4..6)?.parse().ok()?,
            hour.get(6..8)?.parse().ok()?,
            hour.get(8..10)?.parse().ok()?,
            0,
            0,
        )
        .single()?;
    Some(Key {
        hour,
        api_key_id: parts.next()?,
        provider: parts.next()?,
        model: parts.next()?,
        is_byok: parts.next()? == "1",
        user_id: parts.next()?,
    })
}

fn group_value(key: &Key<'_>, by: GroupBy) -> (&'static str, serde_json::Value) {
    let text = |s: &str| {
        if s.is_empty() {
            serde_json::Value::Null
        } else {
            s.into()
        }
    };
    match by {
        GroupBy::Model => ("model", format!("{}/{}", key.provider, key.model).into()),
        GroupBy::Provider => ("provider", key.provider.into()),
        GroupBy::IsByok => ("is_byok", key.is_byok.into()),
        GroupBy::UserId => ("user_id", text(key.user_id)),
        GroupBy::ApiKeyId => ("api_key_id", key.api_key_id.into()),
    }
}

fn add_into(row: &mut UsageRow, c: &Counters) {
    let get = |name: &str| c.get(name).copied().unwrap_or(0);
    row.requests += get("requests");
    row.errors += get("errors");
    row.input_tokens += get("input_tokens");
    row.output_tokens += get("output_tokens");
    row.cached_tokens += get("cached_tokens");
    row.reasoning_tokens += get("reasoning_tokens");
    row.cost += from_nanos(get("cost_nanos"));
    row.unpriced_requests += get("unpriced_requests");
}

/// Usage of an org in `[start, end)`, bucketed by `resolution` and grouped by the given dimensions.
pub async fn query(store: &dyn Store, org_id: &str, q: &UsageQuery<'_>) -> Result<Vec<UsageRow>> {
    let mut rows: BTreeMap<(DateTime<Utc>, String), UsageRow> = BTreeMap::new();
    for month in months_between(q.start, q.end) {
        let mut cursor: Option<String> = None;
        loop {
            let page = store
                .query(&usage_pk(org_id, &month), "", 1000, cursor.as_deref())
                .await?;
            for item in &page.items {
                let Some(key) = parse_sk(&item.sk) else {
                    continue;
                };
                if key.hour < q.start
                    || key.hour >= q.end
                    || q.api_key_id.is_some_and(|id| id != key.api_key_id)
                {
                    continue;
                }
                let start = bucket_start(key.hour, q.resolution);
                let group: BTreeMap<_, _> =
                    q.group_by.iter().map(|by| group_value(&key, *by)).collect();
                let id = serde_json::to_string(&group).unwrap_or_default();
                let row = rows.entry((start, id)).or_insert_with(|| UsageRow {
                    start,
                    group,
                    requests: 0,
                    errors: 0,
                    input_tokens: 0,
                    output_tokens: 0,
                    cached_tokens: 0,
                    reasoning_tokens: 0,
                    cost: 0.0,
                    unpriced_requests: 0,
                });
                add_into(row, &item.counters);
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    Ok(rows.into_values().collect())
}
