//! Create, read, rotate and delete the caller's organisation's provider keys.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use byok_shared::domain::permissions::Manage;
use byok_shared::http::{Auth, JsonBody, QueryParams};
use byok_shared::repo::provider_keys::{self, MaskedKey, Owner};
use byok_shared::{AppState, Result};
use serde_json::{Value, json};

use crate::body::{self, CreateKey, CreateOptions, RotateKey};

pub async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    QueryParams(options): QueryParams<CreateOptions>,
    JsonBody(req): JsonBody<CreateKey>,
) -> Result<(StatusCode, Json<MaskedKey>)> {
    caller.require_manage(Manage::Write)?;
    let provider = body::provider(&req.provider)?;
    body::key(&req.api_key)?;
    let label = body::label(req.label)?;
    let actor = body::actor(&caller);
    let owner = Owner::Org(caller.org_id());
    let verified = match options.verify {
        Some(true) => Some(crate::verify::before_saving(&state, provider, &req.api_key).await?),
        _ => None,
    };
    let mut saved = provider_keys::create(
        state.store(),
        state.cipher(),
        owner,
        provider,
        &req.api_key,
        label,
        Some(&actor),
    )
    .await?;
    state
        .keys()
        .invalidate(Some(caller.org_id()), provider)
        .await;
    if let Some(at) = verified {
        provider_keys::record_health(state.store(), owner, provider, |h| {
            h.last_verified_at = Some(at)
        })
        .await?;
        saved.health.last_verified_at = Some(at);
    }
    Ok((StatusCode::CREATED, Json(saved)))
}

pub async fn list(State(state): State<AppState>, Auth(caller): Auth) -> Result<Json<Value>> {
    caller.require_manage(Manage::Read)?;
    let keys = provider_keys::list(state.store(), Owner::Org(caller.org_id())).await?;
    Ok(Json(json!({ "object": "list", "data": keys })))
}

pub async fn get_one(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(provider): Path<String>,
) -> Result<Json<MaskedKey>> {
    caller.require_manage(Manage::Read)?;
    let provider = body::provider(&provider)?;
    Ok(Json(
        provider_keys::get(state.store(), Owner::Org(caller.org_id()), provider).await?,
    ))
}

pub async fn rotate(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(provider): Path<String>,
    JsonBody(req): JsonBody<RotateKey>,
) -> Result<Json<MaskedKey>> {
    caller.require_manage(Manage::Write)?;
    let provider = body::provider(&provider)?;
    body::key(&req.api_key)?;
    let label = body::label(req.label)?;
    let actor = body::actor(&caller);
    let owner = Owner::Org(caller.org_id());
    let saved = provider_keys::rotate(
        state.store(),
        state.cipher(),
        owner,
        provider,
        &req.api_key,
        label,
        req.version,
        Some(&actor),
    )
    .await?;
    state
        .keys()
        .invalidate(Some(caller.org_id()), provider)
        .await;
    Ok(Json(saved))
}

pub async fn delete(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(provider): Path<String>,
) -> Result<StatusCode> {
    caller.require_manage(Manage::Write)?;
    let provider = body::provider(&provider)?;
    let actor = body::actor(&caller);
    provider_keys::delete(
        state.store(),
        Owner::Org(caller.org_id()),
        provider,
        Some(&actor),
    )
    .await?;
    state
        .keys()
        .invalidate(Some(caller.org_id()), provider)
        .await;
    Ok(StatusCode::NO_CONTENT)
}
