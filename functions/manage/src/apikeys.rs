//! `/v1/manage/apikey`: create (secret shown once), list, read, delete and limit gateway API keys.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use byok_shared::auth::{self, Caller};
use byok_shared::domain::apikey::ApiKey;
use byok_shared::domain::ids;
use byok_shared::domain::permissions::Manage;
use byok_shared::error::Error;
use byok_shared::http::{Auth, JsonBody};
use byok_shared::repo::{apikeys, usage};
use byok_shared::{AppState, Result};
use serde_json::{Value, json};

use crate::body::{self, CreateKey, SetLimit};

async fn view(state: &AppState, key: &ApiKey) -> Result<Value> {
    let spend = usage::month_spend(
        state.store(),
        &key.org_id,
        Some(&key.api_key_id),
        chrono::Utc::now(),
    )
    .await?;
    let last_used = apikeys::last_used(state.store(), &key.org_id, &key.api_key_id).await?;
    Ok(json!({
        "api_key_id": key.api_key_id,
        "name": key.name,
        "permissions": key.permissions,
        "monthly_limit": key.monthly_limit,
        "monthly_spend": spend,
        "allowed_models": key.allowed_models,
        "expires_at": key.expires_at,
        "created_at": key.created_at,
        "created_by": key.created_by,
        "last_used_at": last_used,
    }))
}

/// The caller's org's key `id`; 404 for a malformed id, another org's key, or none.
pub async fn find(state: &AppState, caller: &Caller, id: &str) -> Result<ApiKey> {
    let not_found = || Error::not_found("API key not found");
    if !ids::is_id("key", id) {
        return Err(not_found());
    }
    apikeys::get(state.store(), caller.org_id(), id)
        .await?
        .ok_or_else(not_found)
}

#[utoipa::path(post, path = "/v1/manage/apikey", tag = "manage", operation_id = "create_api_key",
    request_body = CreateKey,
    responses(
        (status = 201, description = "The new key; `api_key` is shown only this once", body = crate::openapi::CreatedKey),
        (status = 403, description = "The key lacks manage:write, or would grant permissions beyond its own"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<CreateKey>,
) -> Result<(StatusCode, Json<Value>)> {
    caller.require_manage(Manage::Write)?;
    if !caller.permissions().covers(&req.permissions) {
        return Err(
            Error::forbidden("a key cannot grant permissions beyond its own")
                .with_param("permissions"),
        );
    }
    let new = apikeys::NewKey {
        name: body::name(&req.name)?,
        permissions: req.permissions,
        monthly_limit: body::monthly_limit(req.monthly_limit)?,
        allowed_models: body::allowed_models(req.allowed_models)?,
        expires_at: body::expires_at(req.expires_at)?,
    };
    let (key, secret) = apikeys::create(
        state.store(),
        caller.org_id(),
        new,
        Some(caller.api_key_id().to_owned()),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "api_key_id": key.api_key_id, "api_key": secret.expose() })),
    ))
}

#[utoipa::path(get, path = "/v1/manage/apikey", tag = "manage", operation_id = "list_api_keys",
    responses((status = 200, description = "The org's gateway API keys (never the secret)", body = crate::openapi::ApiKeyList)))]
pub async fn list(State(state): State<AppState>, Auth(caller): Auth) -> Result<Json<Value>> {
    caller.require_manage(Manage::Read)?;
    let mut data = Vec::new();
    for key in apikeys::list(state.store(), caller.org_id()).await? {
        data.push(view(&state, &key).await?);
    }
    Ok(Json(json!({ "object": "list", "data": data })))
}

#[utoipa::path(get, path = "/v1/manage/apikey/{id}", tag = "manage", operation_id = "get_api_key", params(("id" = String, Path, description = "The key's api_key_id (`key_...`)")),
    responses(
        (status = 200, description = "The key (never the secret)", body = crate::openapi::ApiKeyView),
        (status = 404, description = "No such key in the caller's org"),
    ))]
pub async fn get_one(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    caller.require_manage(Manage::Read)?;
    let key = find(&state, &caller, &id).await?;
    Ok(Json(view(&state, &key).await?))
}

#[utoipa::path(delete, path = "/v1/manage/apikey/{id}", tag = "manage", operation_id = "delete_api_key", params(("id" = String, Path, description = "The key's api_key_id (`key_...`)")),
    responses(
        (status = 204, description = "Deleted; the key stops working"),
        (status = 404, description = "No such key in the caller's org"),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    caller.require_manage(Manage::Write)?;
    find(&state, &caller, &id).await?;
    let deleted = apikeys::delete(state.store(), caller.org_id(), &id).await?;
    auth::invalidate(&state, &deleted.key_hash).await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/manage/apikey/{id}/limit", tag = "manage", operation_id = "set_api_key_limit", params(("id" = String, Path, description = "The key's api_key_id (`key_...`)")),
    request_body = SetLimit,
    responses(
        (status = 204, description = "The limit is set"),
        (status = 404, description = "No such key in the caller's org"),
    ))]
pub async fn set_limit(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<SetLimit>,
) -> Result<StatusCode> {
    caller.require_manage(Manage::Write)?;
    let limit = body::monthly_limit(req.monthly_limit)?;
    find(&state, &caller, &id).await?;
    let key = apikeys::update(state.store(), caller.org_id(), &id, |k| {
        k.monthly_limit = limit
    })
    .await?;
    auth::invalidate(&state, &key.key_hash).await;
    Ok(StatusCode::NO_CONTENT)
}
