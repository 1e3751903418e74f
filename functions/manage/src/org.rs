//! `GET /v1/manage/org`: the caller's organisation, its spend this month (UTC) on its own and on the
//! operator's platform keys, and its platform-key entitlement; `PATCH` (ours): its name and its
//! auto-caching default.

use axum::Json;
use axum::extract::State;
use byok_shared::colocated::Change;
use byok_shared::domain::org::Org;
use byok_shared::domain::permissions::Manage;
use byok_shared::http::{Auth, JsonBody};
use byok_shared::repo::{orgs, usage};
use byok_shared::{AppState, Result};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// `PATCH /v1/manage/org`: only the fields sent change; `null` clears `auto_cache` (off).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchOrg {
    /// 1-128 printable characters.
    pub name: Option<String>,
    /// Auto caching for requests whose request and key do not set it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>)]
    pub auto_cache: Option<Option<bool>>,
}

fn nullable<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

async fn view(state: &AppState, org: &Org) -> Result<Value> {
    let spend =
        usage::month_spend_split(state.store(), &org.org_id, None, chrono::Utc::now()).await?;
    let platform = org.platform_entitlement(state.config().platform_keys_default);
    Ok(json!({
        // Requesty's fields. A self-hosted gateway holds no prepaid balance: `null`, not a made-up number.
        "id": org.org_id,
        "name": org.name,
        "balance": null,
        // Ours.
        "org_id": org.org_id,
        "created_at": org.created_at,
        "monthly_spend": spend.total,
        "monthly_spend_own": spend.own(),
        "monthly_spend_platform": spend.platform,
        "platform_keys": {
            "enabled": platform.enabled,
            "monthly_limit": platform.monthly_limit,
        },
        "auto_cache": org.auto_cache,
    }))
}

#[utoipa::path(patch, path = "/v1/manage/org", tag = "manage", operation_id = "update_org",
    request_body = PatchOrg,
    responses(
        (status = 200, description = "The organisation after the change", body = crate::openapi::OrgView),
        (status = 403, description = "The key lacks manage:write"),
    ))]
pub async fn patch_org(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(req): JsonBody<PatchOrg>,
) -> Result<Json<Value>> {
    caller.require_manage(Manage::Write)?;
    let org = orgs::update_settings(
        state.store(),
        caller.org_id(),
        req.name.as_deref(),
        req.auto_cache,
    )
    .await?;
    state
        .changed(Change::Org {
            org_id: caller.org_id(),
        })
        .await;
    Ok(Json(view(&state, &org).await?))
}

#[utoipa::path(get, path = "/v1/manage/org", tag = "manage", operation_id = "get_org",
    responses((status = 200, description = "The caller's organisation and its spend this month (UTC)", body = crate::openapi::OrgView)))]
pub async fn get_org(State(state): State<AppState>, Auth(caller): Auth) -> Result<Json<Value>> {
    caller.require_manage(Manage::Read)?;
    let org = orgs::get(state.store(), caller.org_id()).await?;
    Ok(Json(view(&state, &org).await?))
}
