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
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(tags((name = "policies", description = "Fallback and load-balancing routing policies (manage:read to read and explain, manage:write to change)")))]
struct Tags;

/// The function's HTTP router, with the common layers applied.
pub fn router(state: AppState) -> Router {
    byok_shared::http::finish(routes().into(), state)
}

/// The routes with their OpenAPI operations (each registered once, from its handler's `#[utoipa::path]`),
/// for [`router`] and for merging into the all-in-one local server and its `/openapi.json`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(Tags::openapi())
        .routes(routes!(read::list, create::create))
        .routes(routes!(read::get_one, update::update, delete::delete))
        .routes(routes!(explain::explain))
}
