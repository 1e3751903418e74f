//! `GET /v1/manage/apikey/{id}/usage` and `GET /v1/manage/org/usage`, in Requesty's shapes: the request
//! as a JSON body on GET (as Requesty documents it) or as query parameters; the answer
//! `{"usage": {<period start>: <entry>}}`.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use byok_shared::domain::permissions::Manage;
use byok_shared::domain::usage::{GroupBy, Resolution};
use byok_shared::error::Error;
use byok_shared::http::Auth;
use byok_shared::repo::usage::{self, UsageQuery, UsageRow};
use byok_shared::{AppState, Result};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};

/// The usage request, as a JSON body or as query parameters (`group_by` repeated or comma-separated).
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UsageRequest {
    /// RFC 3339. Required.
    #[param(required = true)]
    start: Option<DateTime<Utc>>,
    /// RFC 3339; default: 24 hours after `start`. At most 100 days after `start`.
    end: Option<DateTime<Utc>>,
    /// `hour`, `day` (default) or `month`.
    #[param(inline)]
    #[schema(inline)]
    resolution: Option<Resolution>,
    /// Dimensions: `user_id`, `model_requested`, `model_used`, `provider_used`, `is_byok`,
    /// `origin_title`, `extra.<field>`, and for the org `api_key_id`.
    #[serde(default)]
    group_by: Vec<String>,
}

pub const MAX_WINDOW_DAYS: i64 = 100;
const MAX_GROUP_BY: usize = 8;

/// The request from the body if one was sent, else from the query; both at once is a 400.
fn request(uri: &Uri, body: &Bytes) -> Result<UsageRequest> {
    let Query(query) = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map_err(|e| Error::bad_request(format!("invalid query string: {}", e.body_text())))?;
    let body_sent = body.iter().any(|b| !b.is_ascii_whitespace());
    if body_sent {
        if !query.is_empty() {
            return Err(Error::bad_request(
                "send the usage request either as a JSON body or as query parameters, not both",
            ));
        }
        return serde_json::from_slice(body)
            .map_err(|e| Error::bad_request(format!("invalid request body: {e}")));
    }
    let mut object = Map::new();
    let mut group_by = Vec::new();
    for (name, value) in query {
        match name.as_str() {
            "group_by" | "group_by[]" => group_by.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| Value::String(v.to_owned())),
            ),
            _ if object.contains_key(&name) => {
                return Err(Error::invalid(&name, format!("{name} is given twice")));
            }
            _ => {
                object.insert(name, Value::String(value));
            }
        }
    }
    object.insert("group_by".into(), Value::Array(group_by));
    serde_json::from_value(Value::Object(object))
        .map_err(|e| Error::bad_request(format!("invalid query string: {e}")))
}

fn window(r: &UsageRequest) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let start = r
        .start
        .ok_or_else(|| Error::invalid("start", "start is required (RFC 3339)"))?;
    let end = r.end.unwrap_or(start + Duration::hours(24));
    if end <= start {
        return Err(Error::invalid("end", "end must be after start"));
    }
    if end - start > Duration::days(MAX_WINDOW_DAYS) {
        return Err(Error::invalid(
            "end",
            format!("the date range cannot exceed {MAX_WINDOW_DAYS} days"),
        ));
    }
    Ok((start, end))
}

fn group_by(names: &[String], allow_key: bool) -> Result<Vec<GroupBy>> {
    if names.len() > MAX_GROUP_BY {
        return Err(Error::invalid(
            "group_by",
            format!("group_by takes at most {MAX_GROUP_BY} dimensions"),
        ));
    }
    let mut dims: Vec<GroupBy> = Vec::new();
    for name in names {
        let dim = GroupBy::parse(name).ok_or_else(|| {
            Error::invalid(
                "group_by",
                format!("group_by has an unknown dimension {name:?}"),
            )
        })?;
        if dim == GroupBy::ApiKeyId && !allow_key {
            return Err(Error::invalid(
                "group_by",
                "group_by api_key_id is only for the org usage",
            ));
        }
        if !dims.contains(&dim) {
            dims.push(dim);
        }
    }
    Ok(dims)
}

/// One period's totals, in USD and counts.
fn totals(rows: &[&UsageRow]) -> Map<String, Value> {
    let sum = |f: fn(&UsageRow) -> i64| rows.iter().map(|r| f(r)).sum::<i64>();
    let spend: f64 = rows.iter().map(|r| r.cost).sum();
    let platform: f64 = rows.iter().map(|r| r.platform_cost).sum();
    let mut m = Map::new();
    m.insert("spend".into(), json!(spend));
    // Ours, beside Requesty's `spend`: the part on the org's own provider keys and on the operator's.
    m.insert("own_spend".into(), json!((spend - platform).max(0.0)));
    m.insert("platform_spend".into(), json!(platform));
    m.insert("requests".into(), json!(sum(|r| r.requests)));
    m.insert("errors".into(), json!(sum(|r| r.errors)));
    m.insert("input_tokens".into(), json!(sum(|r| r.input_tokens)));
    m.insert("output_tokens".into(), json!(sum(|r| r.output_tokens)));
    m.insert("cached_tokens".into(), json!(sum(|r| r.cached_tokens)));
    m.insert(
        "cache_write_tokens".into(),
        json!(sum(|r| r.cache_write_tokens)),
    );
    m.insert(
        "reasoning_tokens".into(),
        json!(sum(|r| r.reasoning_tokens)),
    );
    m.insert(
        "unpriced_requests".into(),
        json!(sum(|r| r.unpriced_requests)),
    );
    m
}

/// `{period: {totals…, groups?: [{dimension values…, totals…}]}}`; periods without usage are left out.
fn shape(rows: &[UsageRow], grouped: bool) -> Map<String, Value> {
    let mut periods: BTreeMap<DateTime<Utc>, Vec<&UsageRow>> = BTreeMap::new();
    for row in rows {
        periods.entry(row.start).or_default().push(row);
    }
    periods
        .into_iter()
        .map(|(start, rows)| {
            let mut entry = totals(&rows);
            if grouped {
                let groups: Vec<Value> = rows
                    .iter()
                    .map(|row| {
                        let mut g: Map<String, Value> = row
                            .group
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect();
                        g.extend(totals(&[row]));
                        Value::Object(g)
                    })
                    .collect();
                entry.insert("groups".into(), Value::Array(groups));
            }
            (
                start.to_rfc3339_opts(SecondsFormat::Secs, true),
                Value::Object(entry),
            )
        })
        .collect()
}

async fn respond(
    state: &AppState,
    org_id: &str,
    r: &UsageRequest,
    groups: &[GroupBy],
    key: Option<&str>,
) -> Result<Json<Value>> {
    let (start, end) = window(r)?;
    let resolution = r.resolution.unwrap_or_default();
    let query = UsageQuery {
        start,
        end,
        resolution,
        group_by: groups,
        api_key_id: key,
    };
    let rows = usage::query(state.store(), org_id, &query).await?;
    Ok(Json(json!({
        "usage": shape(&rows, !groups.is_empty()),
        "start": start,
        "end": end,
        "resolution": resolution,
    })))
}

#[utoipa::path(get, path = "/v1/manage/apikey/{id}/usage", tag = "manage", operation_id = "api_key_usage",
    params(("id" = String, Path, description = "The key's id, or `self`"), UsageRequest),
    request_body(content = UsageRequest, description = "The same fields as a JSON body (Requesty's form); not together with query parameters"),
    responses(
        (status = 200, description = "Usage per period", body = crate::openapi::UsageReport),
        (status = 404, description = "No such key in the caller's org"),
    ))]
pub async fn key_usage(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Result<Json<Value>> {
    if id != crate::apikeys::SELF && id != caller.api_key_id() {
        caller.require_manage(Manage::Read)?;
    }
    let key = crate::apikeys::find(&state, &caller, &id).await?;
    let r = request(&uri, &body)?;
    let groups = group_by(&r.group_by, false)?;
    respond(&state, caller.org_id(), &r, &groups, Some(&key.api_key_id)).await
}

#[utoipa::path(get, path = "/v1/manage/org/usage", tag = "manage", operation_id = "org_usage",
    params(UsageRequest),
    request_body(content = UsageRequest, description = "The same fields as a JSON body; not together with query parameters"),
    responses((status = 200, description = "Usage per period", body = crate::openapi::UsageReport)))]
pub async fn org_usage(
    State(state): State<AppState>,
    Auth(caller): Auth,
    uri: Uri,
    body: Bytes,
) -> Result<Json<Value>> {
    caller.require_manage(Manage::Read)?;
    let r = request(&uri, &body)?;
    let groups = group_by(&r.group_by, true)?;
    respond(&state, caller.org_id(), &r, &groups, None).await
}
