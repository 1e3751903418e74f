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

/// This function's handlers, each once, grouped by path: [`routes`] builds them with their OpenAPI
/// operations, [`router`] without (`byok_shared::http::routes`).
macro_rules! each_handler {
    ($($form:tt)+) => {
        byok_shared::handlers!($($form)+;
            [org::get_org, org::patch_org],
            [usage::org_usage],
            [apikeys::list, apikeys::create, apikeys::create_put],
            [apikeys::get_one, apikeys::patch, apikeys::delete],
            [apikeys::set_limit],
            [usage::key_usage],
            [logs::list],
            [logs::get_one],
        )
    };
}

/// The function's HTTP router, with the common layers applied (no OpenAPI document: Lambda serves none).
pub fn router(state: AppState) -> Router {
    byok_shared::http::finish(each_handler!(plain), state)
}

/// The routes with their OpenAPI operations, for merging into the all-in-one local server and its
/// `/openapi.json`.
pub fn routes() -> OpenApiRouter<AppState> {
    each_handler!(openapi OpenApiRouter::with_openapi(openapi::tags()))
}
