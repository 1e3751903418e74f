//! `POST /v1/policies`: save a new policy (201; 409 if the name is taken).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use byok_shared::domain::permissions::Manage;
use byok_shared::domain::policy::{ParseMode, parse_document};
use byok_shared::http::{Auth, JsonBody};
use byok_shared::repo::policies;
use byok_shared::{AppState, Result};
use serde_json::Value;

use crate::view;

pub async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<Value>,
) -> Result<(StatusCode, Json<Value>)> {
    caller.require_manage(Manage::Write)?;
    let input = parse_document(&body, ParseMode::Create)?;
    let actor = view::actor(&caller);
    let saved =
        policies::create(state.store(), caller.org_id(), input.policy, Some(&actor)).await?;
    state.policies().invalidate_org(caller.org_id());
    Ok((StatusCode::CREATED, Json(view::policy(&saved))))
}
