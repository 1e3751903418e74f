//! `GET /v1/policies` and `GET /v1/policies/{name}`.

use axum::Json;
use axum::extract::{Path, State};
use byok_shared::domain::permissions::Manage;
use byok_shared::http::{Auth, List};
use byok_shared::repo::policies;
use byok_shared::{AppState, Result};

use crate::path;
use crate::view::{self, PolicyView};

#[utoipa::path(get, path = "/v1/policies", tag = "policies", operation_id = "list_policies",
    responses((status = 200, description = "The org's policies", body = List<PolicyView>)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<List<PolicyView>>> {
    caller.require_manage(Manage::Read)?;
    let all = policies::list(state.store(), caller.org_id()).await?;
    Ok(Json(List::new(all.iter().map(view::policy).collect())))
}

#[utoipa::path(get, path = "/v1/policies/{name}", tag = "policies", operation_id = "get_policy", params(("name" = String, Path, description = "The policy's name")),
    responses(
        (status = 200, description = "The policy", body = PolicyView),
        (status = 404, description = "No such policy"),
    ))]
pub async fn get_one(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
) -> Result<Json<PolicyView>> {
    caller.require_manage(Manage::Read)?;
    let name = path::name(&name)?;
    let record = policies::require(state.store(), caller.org_id(), name).await?;
    Ok(Json(view::policy(&record)))
}
