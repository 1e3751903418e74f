//! `GET /v1/manage/apikey/{id}/usage` and `GET /v1/manage/org/usage`.

use axum::Json;
use axum::extract::{Path, State};
use byok_shared::domain::permissions::Manage;
use byok_shared::domain::usage::{GroupBy, Resolution};
use byok_shared::error::Error;
use byok_shared::http::{Auth, QueryParams};
use byok_shared::repo::usage::{self, UsageQuery};
use byok_shared::{AppState, Result};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Params {
    /// RFC 3339; default: the start of this month (UTC).
    start: Option<DateTime<Utc>>,
    /// RFC 3339; default: now. The window spans at most 366 days.
    end: Option<DateTime<Utc>>,
    #[param(inline)]
    #[serde(default)]
    resolution: Resolution,
    /// Comma-separated: model, provider, is_byok, user_id (and api_key_id for the org).
    group_by: Option<String>,
}

const MAX_WINDOW_DAYS: i64 = 366;

fn window(p: &Params) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let end = p.end.unwrap_or_else(Utc::now);
    let start = p
        .start
        .unwrap_or_else(|| byok_shared::domain::usage::bucket_start(end, Resolution::Month));
    if start >= end {
        return Err(Error::invalid("start", "start must be before end"));
    }
    if end - start > Duration::days(MAX_WINDOW_DAYS) {
        return Err(Error::invalid(
            "end",
            format!("the window may span at most {MAX_WINDOW_DAYS} days"),
        ));
    }
    Ok((start, end))
}

fn group_by(value: Option<&str>, allow_key: bool) -> Result<Vec<GroupBy>> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(Vec::new());
    };
    value
        .split(',')
        .map(|part| {
            let parsed: GroupBy = serde_json::from_value(Value::String(part.trim().to_owned()))
                .map_err(|_| {
                    Error::invalid(
                        "group_by",
                        format!("group_by has an unknown dimension {part:?}"),
                    )
                })?;
            if parsed == GroupBy::ApiKeyId && !allow_key {
                return Err(Error::invalid(
                    "group_by",
                    "group_by api_key_id is only for the org usage",
                ));
            }
            Ok(parsed)
        })
        .collect()
}

async fn respond(
    state: &AppState,
    org_id: &str,
    p: &Params,
    groups: &[GroupBy],
    key: Option<&str>,
) -> Result<Json<Value>> {
    let (start, end) = window(p)?;
    let query = UsageQuery {
        start,
        end,
        resolution: p.resolution,
        group_by: groups,
        api_key_id: key,
    };
    let rows = usage::query(state.store(), org_id, &query).await?;
    Ok(Json(
        json!({ "start": start, "end": end, "resolution": p.resolution, "data": rows }),
    ))
}

#[utoipa::path(get, path = "/v1/manage/apikey/{id}/usage", tag = "manage", operation_id = "api_key_usage",
    params(("id" = String, Path, description = "The key's api_key_id"), Params),
    responses(
        (status = 200, description = "Usage buckets", body = crate::openapi::UsageReport),
        (status = 404, description = "No such key in the caller's org"),
    ))]
pub async fn key_usage(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    QueryParams(p): QueryParams<Params>,
) -> Result<Json<Value>> {
    caller.require_manage(Manage::Read)?;
    crate::apikeys::find(&state, &caller, &id).await?;
    let groups = group_by(p.group_by.as_deref(), false)?;
    respond(&state, caller.org_id(), &p, &groups, Some(&id)).await
}

#[utoipa::path(get, path = "/v1/manage/org/usage", tag = "manage", operation_id = "org_usage",
    params(Params),
    responses((status = 200, description = "Usage buckets", body = crate::openapi::UsageReport)))]
pub async fn org_usage(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(p): QueryParams<Params>,
) -> Result<Json<Value>> {
    caller.require_manage(Manage::Read)?;
    let groups = group_by(p.group_by.as_deref(), true)?;
    respond(&state, caller.org_id(), &p, &groups, None).await
}
