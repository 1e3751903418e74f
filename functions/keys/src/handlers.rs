//! Create, read, rotate and delete the caller's organisation's provider keys.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use byok_shared::colocated::Change;
use byok_shared::domain::permissions::Manage;
use byok_shared::domain::provider::Provider;
use byok_shared::http::{Auth, JsonBody, List, QueryParams};
use byok_shared::repo::provider_keys::{self, MaskedKey, Owner};
use byok_shared::{AppState, Result};

use crate::body::{self, CreateKey, CreateOptions, RotateKey};

#[utoipa::path(post, path = "/v1/byok", tag = "keys", operation_id = "create_provider_key",
    params(CreateOptions), request_body = CreateKey,
    responses(
        (status = 201, description = "The masked record (never the key)", body = MaskedKey),
        (status = 409, description = "This provider already has a key"),
        (status = 422, description = "With ?verify=true: the provider rejected the key"),
        (status = 502, description = "With ?verify=true: the provider could not be reached"),
    ))]
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
        .changed(Change::ProviderKey {
            org_id: Some(caller.org_id()),
            provider,
        })
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

#[utoipa::path(get, path = "/v1/byok", tag = "keys", operation_id = "list_provider_keys",
    responses((status = 200, description = "The org's provider keys, masked", body = List<MaskedKey>)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> Result<Json<List<MaskedKey>>> {
    caller.require_manage(Manage::Read)?;
    let keys = provider_keys::list(state.store(), Owner::Org(caller.org_id())).await?;
    Ok(Json(List::new(keys)))
}

#[utoipa::path(get, path = "/v1/byok/{provider}", tag = "keys", operation_id = "get_provider_key", params(("provider" = Provider, Path, description = "openai, anthropic, google or xai")),
    responses(
        (status = 200, description = "The masked record", body = MaskedKey),
        (status = 404, description = "No key stored for this provider"),
    ))]
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

#[utoipa::path(put, path = "/v1/byok/{provider}", tag = "keys", operation_id = "rotate_provider_key", params(("provider" = Provider, Path, description = "openai, anthropic, google or xai")),
    request_body = RotateKey,
    responses(
        (status = 200, description = "The rotated record", body = MaskedKey),
        (status = 404, description = "No key stored for this provider"),
        (status = 409, description = "`version` is stale"),
    ))]
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
        .changed(Change::ProviderKey {
            org_id: Some(caller.org_id()),
            provider,
        })
        .await;
    Ok(Json(saved))
}

#[utoipa::path(delete, path = "/v1/byok/{provider}", tag = "keys", operation_id = "delete_provider_key", params(("provider" = Provider, Path, description = "openai, anthropic, google or xai")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No key stored for this provider"),
    ))]
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
        .changed(Change::ProviderKey {
            org_id: Some(caller.org_id()),
            provider,
        })
        .await;
    Ok(StatusCode::NO_CONTENT)
}
