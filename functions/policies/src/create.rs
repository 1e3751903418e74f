//! `POST /v1/policies`: save a new policy (201; 409 if the name is taken).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use byok_shared::colocated::Change;
use byok_shared::domain::permissions::Manage;
use byok_shared::domain::policy::{ParseMode, PolicyDocument, parse_document};
use byok_shared::http::{Auth, JsonBody};
use byok_shared::repo::policies;
use byok_shared::{AppState, Result};
use serde_json::Value;

use crate::view::{self, PolicyView};

#[utoipa::path(post, path = "/v1/policies", tag = "policies", operation_id = "create_policy",
    request_body = PolicyDocument,
    responses(
        (status = 201, description = "The saved policy, version 1", body = PolicyView),
        (status = 404, description = "A `policy/<name>` entry names no stored policy"),
        (status = 409, description = "A policy with this name exists, or the references would form a cycle or nest too deep"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<Value>,
) -> Result<(StatusCode, Json<PolicyView>)> {
    caller.require_manage(Manage::Write)?;
    let input = parse_document(&body, ParseMode::Create)?;
    let actor = view::actor(&caller);
    let saved =
        policies::create(state.store(), caller.org_id(), input.policy, Some(&actor)).await?;
    state
        .changed(Change::Policies {
            org_id: caller.org_id(),
        })
        .await;
    Ok((StatusCode::CREATED, Json(view::policy(&saved))))
}
