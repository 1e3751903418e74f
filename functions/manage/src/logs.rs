//! `GET /v1/manage/logs` and `GET /v1/manage/logs/{request_id}`: the org's request log, newest first,
//! filtered and paged by cursor; one request with its attempts (and its captured payload, for keys with
//! `logging` on). `Accept: application/x-ndjson` on the list exports every page of the filter as NDJSON.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use byok_shared::domain::permissions::Manage;
use byok_shared::domain::request_log::{KeySource, LogFilter, LogRecord, Payload, StatusClass};
use byok_shared::error::Error;
use byok_shared::http::{Auth, QueryParams};
use byok_shared::repo::logs;
use byok_shared::{AppState, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 200;
/// Most records one NDJSON export answers, and its largest body (a Lambda response is at most 6 MB);
/// past either, the `x-byok-next-cursor` header says where to continue.
pub const MAX_EXPORT_RECORDS: usize = 5000;
pub const MAX_EXPORT_BYTES: usize = 5 * 1024 * 1024;
pub const NEXT_CURSOR_HEADER: &str = "x-byok-next-cursor";
const NDJSON: &str = "application/x-ndjson";
/// Longest accepted text filter (ids, models, tags).
const MAX_FILTER_LEN: usize = 256;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    /// RFC 3339, inclusive.
    start: Option<DateTime<Utc>>,
    /// RFC 3339, exclusive. Default: now.
    end: Option<DateTime<Utc>>,
    api_key_id: Option<String>,
    /// The model requested or used (`<provider>/<model>`, `policy/<name>`).
    model: Option<String>,
    /// The provider that answered.
    provider: Option<String>,
    #[param(inline)]
    status_class: Option<StatusClass>,
    /// Whose key answered.
    #[param(inline)]
    key_source: Option<KeySource>,
    trace_id: Option<String>,
    user_id: Option<String>,
    tag: Option<String>,
    /// USD.
    #[param(minimum = 0)]
    min_cost: Option<f64>,
    min_latency_ms: Option<u64>,
    /// Records per page, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<usize>,
    /// `next_cursor` of the previous page (with the same filters).
    cursor: Option<String>,
}

/// A page of the request log.
#[derive(Serialize, ToSchema)]
pub struct LogPage {
    #[schema(example = "list")]
    object: &'static str,
    data: Vec<LogRecord>,
    /// Pass as `cursor` for the next page; `null` when nothing older can match.
    next_cursor: Option<String>,
}

/// One request, with its payload when its key captured it.
#[derive(Serialize, ToSchema)]
pub struct LogDetail {
    #[serde(flatten)]
    record: LogRecord,
    /// The request and response bodies (keys with `logging` on), decrypted for this answer only.
    payload: Option<Payload>,
}

fn text(name: &str, value: Option<String>) -> Result<Option<String>> {
    match value {
        Some(v) if v.is_empty() || v.len() > MAX_FILTER_LEN => Err(Error::invalid(
            name,
            format!("{name} must be 1 to {MAX_FILTER_LEN} characters"),
        )),
        other => Ok(other),
    }
}

fn filter(q: LogsQuery) -> Result<(LogFilter, usize, Option<String>)> {
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Error::invalid(
            "limit",
            format!("limit must be from 1 to {MAX_PAGE}"),
        ));
    }
    if let (Some(start), Some(end)) = (q.start, q.end)
        && start >= end
    {
        return Err(Error::invalid("end", "end must be after start"));
    }
    if q.min_cost.is_some_and(|c| !c.is_finite() || c < 0.0) {
        return Err(Error::invalid(
            "min_cost",
            "min_cost must be a number of at least 0",
        ));
    }
    let filter = LogFilter {
        start: q.start,
        end: q.end,
        api_key_id: text("api_key_id", q.api_key_id)?,
        model: text("model", q.model)?,
        provider: text("provider", q.provider)?,
        status_class: q.status_class,
        key_source: q.key_source,
        trace_id: text("trace_id", q.trace_id)?,
        user_id: text("user_id", q.user_id)?,
        tag: text("tag", q.tag)?,
        min_cost: q.min_cost,
        min_latency_ms: q.min_latency_ms,
    };
    Ok((filter, limit, q.cursor))
}

fn wants_ndjson(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().starts_with(NDJSON)))
}

#[utoipa::path(get, path = "/v1/manage/logs", tag = "manage", operation_id = "list_logs",
    params(LogsQuery),
    responses(
        (status = 200, description = "The org's requests, newest first. With `Accept: application/x-ndjson`: every record of the filter (up to 5000 and 5 MiB; past that the `x-byok-next-cursor` header says where to continue), one JSON record per line",
            content((LogPage = "application/json"), (LogRecord = "application/x-ndjson"))),
        (status = 400, description = "A malformed filter, a limit outside 1-200, or a cursor this API did not return"),
        (status = 403, description = "The key lacks manage:read"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    QueryParams(query): QueryParams<LogsQuery>,
) -> Result<Response> {
    caller.require_manage(Manage::Read)?;
    let (filter, limit, cursor) = filter(query)?;
    let (store, org) = (state.store(), caller.org_id());
    if wants_ndjson(&headers) {
        return export(&state, org, &filter, cursor).await;
    }
    let page = logs::list(store, org, &filter, limit, cursor.as_deref()).await?;
    Ok(Json(LogPage {
        object: "list",
        data: page.records,
        next_cursor: page.next_cursor,
    })
    .into_response())
}

/// Every page of the filter as NDJSON, bounded in records and bytes.
async fn export(
    state: &AppState,
    org: &str,
    filter: &LogFilter,
    mut cursor: Option<String>,
) -> Result<Response> {
    let mut body = Vec::new();
    let mut count = 0;
    loop {
        let page = logs::list(state.store(), org, filter, MAX_PAGE, cursor.as_deref()).await?;
        cursor = page.next_cursor;
        for record in page.records {
            let line = serde_json::to_vec(&record)
                .map_err(|e| Error::internal(format!("serialise record: {e}")))?;
            body.extend_from_slice(&line);
            body.push(b'\n');
            count += 1;
        }
        if cursor.is_none() || count >= MAX_EXPORT_RECORDS || body.len() >= MAX_EXPORT_BYTES {
            break;
        }
    }
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON));
    if let Some(next) = cursor.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert(NEXT_CURSOR_HEADER, next);
    }
    Ok(response)
}

#[utoipa::path(get, path = "/v1/manage/logs/{request_id}", tag = "manage", operation_id = "get_log",
    params(("request_id" = String, Path, description = "The request's id (`req_...`), as returned in `x-request-id`")),
    responses(
        (status = 200, description = "The request, every attempt, and its payload when its key captured it", body = LogDetail),
        (status = 403, description = "The key lacks manage:read"),
        (status = 404, description = "No such request in the caller's org (or past its retention)"),
    ))]
pub async fn get_one(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(request_id): Path<String>,
) -> Result<Json<LogDetail>> {
    caller.require_manage(Manage::Read)?;
    let org = caller.org_id();
    let stored = logs::get(state.store(), org, &request_id)
        .await?
        .ok_or_else(|| Error::not_found("no such request in this organisation's log"))?;
    let id = &stored.record.request_id;
    let payload = match &stored.payload {
        Some(ciphertext) => Some(logs::decrypt_payload(state.cipher(), org, id, ciphertext).await?),
        None => None,
    };
    Ok(Json(LogDetail {
        record: stored.record,
        payload,
    }))
}
