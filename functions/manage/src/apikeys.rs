//! `/v1/manage/apikey`: create (secret shown once), list, read, change, delete and limit gateway API keys,
//! in Requesty's shapes. A key may create, change or delete only keys no wider than itself (`scope`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use byok_shared::auth::{self, Caller};
use byok_shared::domain::apikey::ApiKey;
use byok_shared::domain::ids;
use byok_shared::domain::key_scope::Scope;
use byok_shared::domain::permissions::Manage;
use byok_shared::domain::rate_limit::RateLimits;
use byok_shared::error::Error;
use byok_shared::http::{Auth, JsonBody};
use byok_shared::repo::apikeys;
use byok_shared::{AppState, Result};
use serde_json::{Value, json};

use crate::body::{self, CreateKey, PatchKey, SetLimit};
use crate::scope::{ensure_within, fresh};
use crate::view;

/// The id that names the calling key itself.
pub const SELF: &str = "self";

/// The caller's org's key `id` (or `self`); 404 for a malformed id, another org's key, or none.
pub async fn find(state: &AppState, caller: &Caller, id: &str) -> Result<ApiKey> {
    let not_found = || Error::not_found("API key not found");
    let id = if id == SELF { caller.api_key_id() } else { id };
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
        (status = 403, description = "The key lacks manage:write, or the new key would be wider than it (permissions, monthly limit, allowed models, expiry, rpm, tpm)"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<CreateKey>,
) -> Result<(StatusCode, Json<Value>)> {
    caller.require_manage(Manage::Write)?;
    let me = fresh(&state, &caller).await?;
    let allowed_models = match req.allowed_models {
        Some(list) => body::allowed_models(list)?,
        None => me.allowed_models.clone(),
    };
    let new = apikeys::NewKey {
        name: body::name(&req.name)?,
        permissions: req.permissions.unwrap_or_else(body::default_permissions),
        monthly_limit: match req.monthly_limit {
            Some(limit) => body::monthly_limit(limit)?,
            None => me.monthly_limit,
        },
        expires_at: match req.expires_at {
            Some(at) => body::expires_at(Some(at))?,
            None => me.expires_at,
        },
        labels: body::labels(req.labels)?,
        default_model: body::default_model(req.default_model, &allowed_models)?,
        auto_cache: req.auto_cache,
        rate_limits: RateLimits {
            rpm: req.rpm.unwrap_or(me.rate_limits.rpm),
            tpm: req.tpm.unwrap_or(me.rate_limits.tpm),
        },
        allowed_models,
        logging: req.logging,
    };
    new.rate_limits.validate()?;
    let scope = Scope {
        permissions: new.permissions,
        monthly_limit: new.monthly_limit,
        allowed_models: &new.allowed_models,
        expires_at: new.expires_at,
        rate_limits: new.rate_limits,
    };
    ensure_within(&me, &scope, "create")?;
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

/// Requesty's older create: `PUT /v1/manage/apikey`, the same body and answer.
#[utoipa::path(put, path = "/v1/manage/apikey", tag = "manage", operation_id = "create_api_key_put",
    request_body = CreateKey,
    responses(
        (status = 201, description = "The new key; `api_key` is shown only this once", body = crate::openapi::CreatedKey),
        (status = 403, description = "The key lacks manage:write, or the new key would be wider than it"),
    ))]
pub async fn create_put(
    state: State<AppState>,
    auth: Auth,
    body: JsonBody<CreateKey>,
) -> Result<(StatusCode, Json<Value>)> {
    create(state, auth, body).await
}

#[utoipa::path(get, path = "/v1/manage/apikey", tag = "manage", operation_id = "list_api_keys",
    responses((status = 200, description = "The org's gateway API keys (never the secret)", body = crate::openapi::ApiKeyList)))]
pub async fn list(State(state): State<AppState>, Auth(caller): Auth) -> Result<Json<Value>> {
    caller.require_manage(Manage::Read)?;
    let mut keys = Vec::new();
    for key in apikeys::list(state.store(), caller.org_id()).await? {
        keys.push(view::key(&state, &key).await?);
    }
    Ok(Json(json!({ "keys": keys })))
}

#[utoipa::path(get, path = "/v1/manage/apikey/{id}", tag = "manage", operation_id = "get_api_key",
    params(("id" = String, Path, description = "The key's id (`key_...`), or `self` for the calling key")),
    responses(
        (status = 200, description = "The key (never the secret)", body = crate::openapi::ApiKeyView),
        (status = 403, description = "Another key, and the caller lacks manage:read"),
        (status = 404, description = "No such key in the caller's org"),
    ))]
pub async fn get_one(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    // Any key may read itself; other keys need manage:read.
    if id != SELF && id != caller.api_key_id() {
        caller.require_manage(Manage::Read)?;
    }
    let key = find(&state, &caller, &id).await?;
    Ok(Json(view::key(&state, &key).await?))
}

#[utoipa::path(patch, path = "/v1/manage/apikey/{id}", tag = "manage", operation_id = "update_api_key",
    params(("id" = String, Path, description = "The key's id (`key_...`), or `self`")),
    request_body = PatchKey,
    responses(
        (status = 200, description = "The key as changed", body = crate::openapi::ApiKeyView),
        (status = 403, description = "The caller lacks manage:write, or the key (before or after) would be wider than the caller"),
        (status = 404, description = "No such key in the caller's org"),
        (status = 409, description = "The change would remove the org's last live manage:write key"),
    ))]
pub async fn patch(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<PatchKey>,
) -> Result<Json<Value>> {
    caller.require_manage(Manage::Write)?;
    let key = change(&state, &caller, &id, req).await?;
    Ok(Json(view::key(&state, &key).await?))
}

/// Validate and apply a change under the no-shedding rule: the key before and after must be within the
/// caller (as stored now, so a key changing itself cannot widen itself).
async fn change(state: &AppState, caller: &Caller, id: &str, req: PatchKey) -> Result<ApiKey> {
    let me = fresh(state, caller).await?;
    let target = find(state, caller, id).await?;
    ensure_within(&me, &Scope::of(&target), "change")?;
    let name = req.name.as_deref().map(body::name).transpose()?;
    let labels = req.labels.map(body::labels).transpose()?;
    let allowed = req.allowed_models.map(body::allowed_models).transpose()?;
    let limit = req.monthly_limit.map(body::monthly_limit).transpose()?;
    let expires = match req.expires_at {
        Some(at) => Some(body::expires_at(at)?),
        None => None,
    };
    let default_model = req.default_model;
    let permissions = req.permissions;
    let auto_cache = req.auto_cache;
    let (rpm, tpm) = (req.rpm, req.tpm);
    let logging = req.logging;
    let (_, after) = apikeys::update(state.store(), caller.org_id(), &target.api_key_id, |k| {
        if let Some(name) = name {
            k.name = name;
        }
        if let Some(labels) = labels {
            k.labels = labels;
        }
        if let Some(allowed) = allowed {
            k.allowed_models = allowed;
        }
        if let Some(limit) = limit {
            k.monthly_limit = limit;
        }
        if let Some(expires) = expires {
            k.expires_at = expires;
        }
        if let Some(permissions) = permissions {
            k.permissions = permissions;
        }
        if let Some(auto_cache) = auto_cache {
            k.auto_cache = auto_cache;
        }
        if let Some(rpm) = rpm {
            k.rate_limits.rpm = rpm;
        }
        if let Some(tpm) = tpm {
            k.rate_limits.tpm = tpm;
        }
        k.rate_limits.validate()?;
        if let Some(logging) = logging {
            k.logging = logging;
        }
        match default_model {
            Some(model) => k.default_model = body::default_model(model, &k.allowed_models)?,
            // A narrower allow-list must still allow the kept default.
            None => {
                k.default_model = body::default_model(k.default_model.take(), &k.allowed_models)?
            }
        }
        ensure_within(&me, &Scope::of(k), "change")
    })
    .await?;
    auth::invalidate(state, &after.key_hash);
    Ok(after)
}

#[utoipa::path(delete, path = "/v1/manage/apikey/{id}", tag = "manage", operation_id = "delete_api_key",
    params(("id" = String, Path, description = "The key's id (`key_...`)")),
    responses(
        (status = 204, description = "Deleted; the key stops working"),
        (status = 403, description = "The caller lacks manage:write, or the key is wider than the caller"),
        (status = 404, description = "No such key in the caller's org"),
        (status = 409, description = "The org's last live manage:write key"),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    caller.require_manage(Manage::Write)?;
    let me = fresh(&state, &caller).await?;
    let target = find(&state, &caller, &id).await?;
    ensure_within(&me, &Scope::of(&target), "delete")?;
    let deleted = apikeys::delete(state.store(), caller.org_id(), &target.api_key_id).await?;
    auth::invalidate(&state, &deleted.key_hash);
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/manage/apikey/{id}/limit", tag = "manage", operation_id = "set_api_key_limit",
    params(("id" = String, Path, description = "The key's id (`key_...`)")),
    request_body = SetLimit,
    responses(
        (status = 204, description = "The limit is set"),
        (status = 403, description = "The caller lacks manage:write, or the limit would be above the caller's own"),
        (status = 404, description = "No such key in the caller's org"),
    ))]
pub async fn set_limit(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<SetLimit>,
) -> Result<StatusCode> {
    caller.require_manage(Manage::Write)?;
    let patch = PatchKey {
        monthly_limit: Some(req.monthly_limit),
        ..PatchKey::default()
    };
    change(&state, &caller, &id, patch).await?;
    Ok(StatusCode::NO_CONTENT)
}
