//! `PUT /v1/policies/{name}`: replace a policy; the body carries the `version` it was read at (stale: 409).

use axum::Json;
use axum::extract::{Path, State};
use byok_shared::colocated::Change;
use byok_shared::domain::permissions::Manage;
use byok_shared::domain::policy::{ParseMode, PolicyDocument, parse_document};
use byok_shared::error::Error;
use byok_shared::http::{Auth, JsonBody};
use byok_shared::repo::policies;
use byok_shared::{AppState, Result};
use serde_json::Value;

use crate::path;
use crate::view::{self, PolicyView};

#[utoipa::path(put, path = "/v1/policies/{name}", tag = "policies", operation_id = "update_policy", params(("name" = String, Path, description = "The policy's name")),
    request_body = PolicyDocument,
    responses(
        (status = 200, description = "The saved policy, its version incremented", body = PolicyView),
        (status = 404, description = "No such policy, or a `policy/<name>` entry names none"),
        (status = 409, description = "`version` is stale, or the references would form a cycle or nest too deep"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<PolicyView>> {
    caller.require_manage(Manage::Write)?;
    let name = path::name(&name)?;
    let input = parse_document(&body, ParseMode::Update { name })?;
    let version = input
        .version
        .ok_or_else(|| Error::invalid("version", "version is required"))?;
    let actor = view::actor(&caller);
    let saved = policies::update(
        state.store(),
        caller.org_id(),
        input.policy,
        version,
        Some(&actor),
    )
    .await?;
    state
        .changed(Change::Policies {
            org_id: caller.org_id(),
        })
        .await;
    Ok(Json(view::policy(&saved)))
}
