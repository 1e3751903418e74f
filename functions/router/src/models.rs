//! `GET /v1/models`: the catalogue's models as `<provider>/<model>`, plus the org's `policy/<name>` entries,
//! in OpenAI's list format (with the catalogue's capabilities and prices alongside).

use axum::Json;
use axum::extract::State;
use byok_shared::catalogue::Catalogue;
use byok_shared::http::Auth;
use byok_shared::repo::policies;
use byok_shared::{AppState, Result};
use serde_json::{Value, json};

#[utoipa::path(get, path = "/v1/models", tag = "inference", operation_id = "list_models",
    responses((status = 200, description = "Catalogue models as `<provider>/<model>` and the org's `policy/<name>` entries", body = byok_shared::http::List<crate::openapi::ModelEntry>)))]
pub async fn list(State(state): State<AppState>, Auth(caller): Auth) -> Result<Json<Value>> {
    caller.require_completions()?;
    let mut data: Vec<Value> = Catalogue::list()
        .iter()
        .map(|m| {
            json!({
                "id": format!("{}/{}", m.provider, m.id),
                "object": "model",
                "created": 0,
                "owned_by": m.provider,
                "context_window": m.context_window,
                "capabilities": m.capabilities,
                "pricing": m.price,
            })
        })
        .collect();
    for record in policies::list(state.store(), caller.org_id()).await? {
        data.push(json!({
            "id": format!("policy/{}", record.policy.name),
            "object": "model",
            "created": record.created_at.timestamp(),
            "owned_by": caller.org_id(),
        }));
    }
    Ok(Json(json!({ "object": "list", "data": data })))
}
