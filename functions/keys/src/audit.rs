//! `GET /v1/byok/audit`: who changed which provider key, when (never the key).

use axum::Json;
use axum::extract::State;
use byok_shared::domain::permissions::Manage;
use byok_shared::http::{Auth, QueryParams};
use byok_shared::repo::provider_keys;
use byok_shared::{AppState, Result};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Entries per page, 1-500 (default 100).
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/byok/audit", tag = "keys", operation_id = "provider_key_audit",
    params(Page),
    responses((status = 200, description = "Who changed which provider key, newest first", body = crate::openapi::AuditList)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(page): QueryParams<Page>,
) -> Result<Json<Value>> {
    caller.require_manage(Manage::Read)?;
    let limit = page.limit.unwrap_or(100).clamp(1, 500);
    let (entries, next) = provider_keys::audit(
        state.store(),
        caller.org_id(),
        limit,
        page.cursor.as_deref(),
    )
    .await?;
    Ok(Json(
        json!({ "object": "list", "data": entries, "next_cursor": next }),
    ))
}
