//! `GET /v1/manage/org`: the caller's organisation, its spend this month (UTC) on its own and on the
//! operator's platform keys, and its platform-key entitlement.

use axum::Json;
use axum::extract::State;
use byok_shared::domain::permissions::Manage;
use byok_shared::http::Auth;
use byok_shared::repo::{orgs, usage};
use byok_shared::{AppState, Result};
use serde_json::{Value, json};

#[utoipa::path(get, path = "/v1/manage/org", tag = "manage", operation_id = "get_org",
    responses((status = 200, description = "The caller's organisation and its spend this month (UTC)", body = crate::openapi::OrgView)))]
pub async fn get_org(State(state): State<AppState>, Auth(caller): Auth) -> Result<Json<Value>> {
    caller.require_manage(Manage::Read)?;
    let org = orgs::get(state.store(), caller.org_id()).await?;
    let spend =
        usage::month_spend_split(state.store(), caller.org_id(), None, chrono::Utc::now()).await?;
    let platform = org.platform_entitlement(state.config().platform_keys_default);
    Ok(Json(json!({
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
    })))
}
