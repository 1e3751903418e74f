//! The management function: the caller's organisation, gateway API keys, limits and usage.
//! Shapes follow Requesty's key management API (`/v1/manage/apikey...`).

mod apikeys;
mod body;
pub mod openapi;
mod org;
mod scope;
mod usage;
mod view;

use axum::Router;
use axum::routing::{get, post};
use byok_shared::AppState;

/// The function's HTTP router, with the common layers applied.
pub fn router(state: AppState) -> Router {
    byok_shared::http::finish(routes(), state)
}

/// The routes alone, for merging into the all-in-one local server.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/manage/org", get(org::get_org))
        .route("/v1/manage/org/usage", get(usage::org_usage))
        .route(
            "/v1/manage/apikey",
            get(apikeys::list)
                .post(apikeys::create)
                .put(apikeys::create_put),
        )
        .route(
            "/v1/manage/apikey/{id}",
            get(apikeys::get_one)
                .patch(apikeys::patch)
                .delete(apikeys::delete),
        )
        .route("/v1/manage/apikey/{id}/limit", post(apikeys::set_limit))
        .route("/v1/manage/apikey/{id}/usage", get(usage::key_usage))
}
