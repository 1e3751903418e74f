//! Usage counters: atomic adds into hourly buckets, read back grouped and re-bucketed.
//!
//! Layout: partition `USAGE#<org>#<YYYYMM>`, sort key `<YYYYMMDDHH>#<dims>` with counters
//! requests/errors/tokens/cost_nanos, where `<dims>` is a 16-hex-digit hash of the request's dimensions
//! (key, provider and model used, model requested, own key or not, user, origin, extra fields). The
//! dimensions themselves sit once per month at `USAGEDIM#<org>#<YYYYMM>` / `<dims>`, so the sort key stays
//! short whatever the values are. Monthly spend per key and per org sits at `ORG#<org>` /
//! `SPEND#<api_key_id|org>#<YYYYMM>`, beside the budget counters of the spend limits (`repo::budget`).
//! Rows written before the dimensions hash (sort key `<hour>#<key>#<provider>#<model>#<byok>#<user>`)
//! are still read.
//!
//! Bounded cardinality: the values of user, origin, extra fields and model names come from callers, so the
//! distinct combinations an org records are capped at [`MAX_DIMS_PER_MONTH`] a month, counted at
//! `ORG#<org>` / `DIMCOUNT#<YYYYMM>`. Past the cap a new combination keeps its key, provider and own-or-
//! platform but its other values collapse into [`OTHER`] (one row per key, provider and key kind), so the
//! totals stay exact and storage stays bounded; combinations recorded before the cap keep their values.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{from_body, org_pk};
use crate::domain::usage::{
    GroupBy, Resolution, UsageEvent, bucket_start, from_nanos, month_key, months_between,
};
use crate::error::Result;
use crate::store::{Counters, Item, Store};

pub(crate) const ORG_SPEND: &str = "org";

/// Most distinct dimension combinations an org records in a month before new ones collapse.
pub const MAX_DIMS_PER_MONTH: i64 = 10_000;
/// What a collapsed value reads as, whatever the dimension.
pub const OTHER: &str = "(other)";

fn dims_count_sk(month: &str) -> String {
    format!("DIMCOUNT#{month}")
}

fn usage_pk(org_id: &str, month: &str) -> String {
    format!("USAGE#{org_id}#{month}")
}

fn dims_pk(org_id: &str, month: &str) -> String {
    format!("USAGEDIM#{org_id}#{month}")
}

pub(crate) fn spend_sk(who: &str, month: &str) -> String {
    format!("SPEND#{who}#{month}")
}

/// The dimensions of a usage row: everything it can be grouped by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Dims {
    api_key_id: String,
    provider: String,
    model: String,
    #[serde(default)]
    model_requested: String,
    is_byok: bool,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    origin_title: String,
    #[serde(default)]
    extra: BTreeMap<String, String>,
    /// Past the org's cap: every caller-given value reads as [`OTHER`]. Left out when false, so the hashes
    /// of uncollapsed combinations are what they always were.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    collapsed: bool,
}

impl Dims {
    fn of(event: &UsageEvent) -> Self {
        Self {
            api_key_id: event.api_key_id.clone(),
            provider: event.provider.clone(),
            model: event.model.clone(),
            model_requested: event.model_requested.clone(),
            is_byok: event.is_byok,
            user_id: event.user_id.clone().unwrap_or_default(),
            origin_title: event.origin_title.clone().unwrap_or_default(),
            extra: event.extra.clone(),
            collapsed: false,
        }
    }

    /// The combination this one becomes past the cap: key, provider and key kind only.
    fn collapse(&self) -> Self {
        Self {
            api_key_id: self.api_key_id.clone(),
            provider: self.provider.clone(),
            is_byok: self.is_byok,
            collapsed: true,
            ..Self::default()
        }
    }

    /// 64 bits of SHA-256 over the canonical JSON (struct fields in order, extra sorted).
    fn hash(&self) -> String {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(&Sha256::digest(&canonical)[..8])
    }

    fn value(&self, by: &GroupBy) -> serde_json::Value {
        let text = |s: &str| {
            if s.is_empty() {
                serde_json::Value::Null
            } else {
                s.into()
            }
        };
        if self.collapsed
            && !matches!(
                by,
                GroupBy::ProviderUsed | GroupBy::IsByok | GroupBy::ApiKeyId
            )
        {
            return OTHER.into();
        }
        match by {
            GroupBy::ModelRequested => text(&self.model_requested),
            GroupBy::ModelUsed => format!("{}/{}", self.provider, self.model).into(),
            GroupBy::ProviderUsed => self.provider.as_str().into(),
            GroupBy::IsByok => self.is_byok.into(),
            GroupBy::UserId => text(&self.user_id),
            GroupBy::ApiKeyId => self.api_key_id.as_str().into(),
            GroupBy::OriginTitle => text(&self.origin_title),
            GroupBy::Extra(field) => self
                .extra
                .get(field)
                .map_or(serde_json::Value::Null, |v| text(v)),
        }
    }
}

mod record;

pub use record::{platform_cost_nanos, record, record_bounded, record_many};

/// USD spent this month (UTC) by one key, or by the whole org with `api_key_id = None`.
pub async fn month_spend(
    store: &dyn Store,
    org_id: &str,
    api_key_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<f64> {
    Ok(month_spend_split(store, org_id, api_key_id, now)
        .await?
        .total)
}

/// A month's spend, and the part of it served with the operator's platform keys.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MonthSpend {
    pub total: f64,
    pub platform: f64,
}

impl MonthSpend {
    /// Spend on the org's own provider keys.
    pub fn own(&self) -> f64 {
        (self.total - self.platform).max(0.0)
    }
}

/// [`month_spend`], with the platform-key part apart.
pub async fn month_spend_split(
    store: &dyn Store,
    org_id: &str,
    api_key_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<MonthSpend> {
    let sk = spend_sk(api_key_id.unwrap_or(ORG_SPEND), &month_key(now));
    let counters = store
        .get(&org_pk(org_id), &sk)
        .await?
        .map(|i| i.counters)
        .unwrap_or_default();
    let get = |name: &str| from_nanos(counters.get(name).copied().unwrap_or(0));
    Ok(MonthSpend {
        total: get("cost_nanos"),
        platform: get("platform_cost_nanos"),
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UsageRow {
    pub start: DateTime<Utc>,
    #[schema(value_type = Object)]
    pub group: BTreeMap<String, serde_json::Value>,
    pub requests: i64,
    pub errors: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_tokens: i64,
    pub reasoning_tokens: i64,
    pub cache_write_tokens: i64,
    pub cost: f64,
    /// The part of `cost` served with the operator's platform keys (the rest was on the org's own keys).
    pub platform_cost: f64,
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

/// A bucket's hour and its dimensions hash, or (rows written before the hash) its dimensions inline.
fn parse_sk(sk: &str) -> Option<(DateTime<Utc>, std::result::Result<&str, Dims>)> {
    let (hour, rest) = sk.split_once('#')?;
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
    let parts: Vec<&str> = rest.splitn(5, '#').collect();
    if let [api_key_id, provider, model, byok, user] = parts[..] {
        return Some((
            hour,
            Err(Dims {
                api_key_id: api_key_id.into(),
                provider: provider.into(),
                model: model.into(),
                is_byok: byok == "1",
                user_id: user.into(),
                ..Dims::default()
            }),
        ));
    }
    Some((hour, Ok(rest)))
}

/// Every item of one partition, page by page.
async fn all_items(store: &dyn Store, pk: &str) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store.query(pk, "", 1000, cursor.as_deref()).await?;
        items.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(items),
        }
    }
}

fn add_into(row: &mut UsageRow, c: &Counters, is_byok: bool) {
    let get = |name: &str| c.get(name).copied().unwrap_or(0);
    row.requests += get("requests");
    row.errors += get("errors");
    row.input_tokens += get("input_tokens");
    row.output_tokens += get("output_tokens");
    row.cached_tokens += get("cached_tokens");
    row.reasoning_tokens += get("reasoning_tokens");
    row.cache_write_tokens += get("cache_write_tokens");
    let cost = from_nanos(get("cost_nanos"));
    row.cost += cost;
    if !is_byok {
        row.platform_cost += cost;
    }
    row.unpriced_requests += get("unpriced_requests");
}

/// Usage of an org in `[start, end)`, bucketed by `resolution` and grouped by the given dimensions.
pub async fn query(store: &dyn Store, org_id: &str, q: &UsageQuery<'_>) -> Result<Vec<UsageRow>> {
    let mut rows: BTreeMap<(DateTime<Utc>, String), UsageRow> = BTreeMap::new();
    for month in months_between(q.start, q.end) {
        let mut described: BTreeMap<String, Dims> = BTreeMap::new();
        for item in all_items(store, &dims_pk(org_id, &month)).await? {
            described.insert(item.sk, from_body(item.body)?);
        }
        for item in all_items(store, &usage_pk(org_id, &month)).await? {
            let Some((hour, dims)) = parse_sk(&item.sk) else {
                continue;
            };
            // A bucket whose dimensions write failed still counts, with unknown dimensions.
            let dims = match dims {
                Ok(hash) => described.get(hash).cloned().unwrap_or_default(),
                Err(inline) => inline,
            };
            if hour < q.start
                || hour >= q.end
                || q.api_key_id.is_some_and(|id| id != dims.api_key_id)
            {
                continue;
            }
            let start = bucket_start(hour, q.resolution);
            let group: BTreeMap<String, serde_json::Value> = q
                .group_by
                .iter()
                .map(|by| (by.name(), dims.value(by)))
                .collect();
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
                cache_write_tokens: 0,
                cost: 0.0,
                platform_cost: 0.0,
                unpriced_requests: 0,
            });
            add_into(row, &item.counters, dims.is_byok);
        }
    }
    Ok(rows.into_values().collect())
}
