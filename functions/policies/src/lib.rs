//! The policies function: an organisation's routing policies (create, list, get, update, delete) and
//! `explain`, the route a request would take right now. Validation, references and routing rules live in
//! `byok_shared::domain::policy`; storage in `byok_shared::repo::policies`.

mod create;
mod delete;
mod explain;
mod path;
mod read;
mod update;
mod view;

use axum::Router;
use byok_shared::AppState;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(tags((name = "policies", description = "Fallback and load-balancing routing policies (manage:read to read and explain, manage:write to change)")))]
struct Tags;

/// This function's handlers, each once, grouped by path: [`routes`] builds them with their OpenAPI
/// operations, [`router`] without (`byok_shared::http::routes`).
macro_rules! each_handler {
    ($($form:tt)+) => {
        byok_shared::handlers!($($form)+;
            [read::list, create::create],
            [read::get_one, update::update, delete::delete],
            [explain::explain],
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
    each_handler!(openapi OpenApiRouter::with_openapi(Tags::openapi()))
}
