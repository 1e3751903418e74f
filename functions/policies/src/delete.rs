//! `DELETE /v1/policies/{name}` → 204 (409 while another policy still refers to it).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use byok_shared::colocated::Change;
use byok_shared::domain::permissions::Manage;
use byok_shared::http::Auth;
use byok_shared::repo::policies;
use byok_shared::{AppState, Result};

use crate::path;

#[utoipa::path(delete, path = "/v1/policies/{name}", tag = "policies", operation_id = "delete_policy", params(("name" = String, Path, description = "The policy's name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such policy"),
        (status = 409, description = "Another policy still refers to it"),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
) -> Result<StatusCode> {
    caller.require_manage(Manage::Write)?;
    let name = path::name(&name)?;
    policies::delete(state.store(), caller.org_id(), name).await?;
    state
        .changed(Change::Policies {
            org_id: caller.org_id(),
        })
        .await;
    Ok(StatusCode::NO_CONTENT)
}
