//! `GET /v1/models`: the catalogue's models as `<provider>/<model>`, plus the org's `policy/<name>` entries,
//! in OpenAI's list format, with the catalogue's capabilities and the operator's prices alongside (the
//! price table billing uses, through the hot-path cache; `null` for a model it does not price).

use axum::Json;
use axum::extract::State;
use byok_shared::Result;
use byok_shared::catalogue::Catalogue;
use byok_shared::http::Auth;
use byok_shared::repo::policies;
use serde_json::{Value, json};

use crate::state::Gateway;

#[utoipa::path(get, path = "/v1/models", tag = "inference", operation_id = "list_models",
    responses((status = 200, description = "Catalogue models as `<provider>/<model>` and the org's `policy/<name>` entries", body = byok_shared::http::List<crate::openapi::ModelEntry>)))]
pub async fn list(State(gateway): State<Gateway>, Auth(caller): Auth) -> Result<Json<Value>> {
    caller.require_completions()?;
    let state = gateway.app();
    let prices = gateway.caches().prices.get(state.store()).await?;
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
                "pricing": prices.price(m.provider, &m.id),
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
