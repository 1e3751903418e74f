//! `GET /v1/byok/audit`: who changed which provider key, when (never the key).

use axum::Json;
use axum::extract::State;
use byok_shared::domain::permissions::Manage;
use byok_shared::http::{Auth, QueryParams};
use byok_shared::repo::provider_keys;
use byok_shared::repo::provider_keys::AuditEntry;
use byok_shared::{AppState, Result};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Entries per page, 1-500 (default 100).
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of the audit trail.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    #[schema(example = "list")]
    object: &'static str,
    data: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/byok/audit", tag = "keys", operation_id = "provider_key_audit",
    params(Page),
    responses((status = 200, description = "Who changed which provider key, newest first", body = AuditPage)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(page): QueryParams<Page>,
) -> Result<Json<AuditPage>> {
    caller.require_manage(Manage::Read)?;
    let limit = page.limit.unwrap_or(100).clamp(1, 500);
    let (entries, next) = provider_keys::audit(
        state.store(),
        caller.org_id(),
        limit,
        page.cursor.as_deref(),
    )
    .await?;
    Ok(Json(AuditPage {
        object: "list",
        data: entries,
        next_cursor: next,
    }))
}
