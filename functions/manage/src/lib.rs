//! The management function: the caller's organisation, gateway API keys, limits, usage and the request log.
//! Shapes follow Requesty's key management API (`/v1/manage/apikey...`).

mod apikeys;
mod body;
mod logs;
pub mod openapi;
mod org;
mod scope;
mod usage;
mod view;

use axum::Router;
use byok_shared::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The function's HTTP router, with the common layers applied.
pub fn router(state: AppState) -> Router {
    byok_shared::http::finish(routes().into(), state)
}

/// The routes with their OpenAPI operations (each registered once, from its handler's `#[utoipa::path]`),
/// for [`router`] and for merging into the all-in-one local server and its `/openapi.json`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::tags())
        .routes(routes!(org::get_org, org::patch_org))
        .routes(routes!(usage::org_usage))
        .routes(routes!(apikeys::list, apikeys::create, apikeys::create_put))
        .routes(routes!(apikeys::get_one, apikeys::patch, apikeys::delete))
        .routes(routes!(apikeys::set_limit))
        .routes(routes!(usage::key_usage))
        .routes(routes!(logs::list))
        .routes(routes!(logs::get_one))
}
