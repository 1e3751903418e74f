//! The management function: the caller's organisation, gateway API keys, limits and usage.

mod org;

use axum::Router;
use axum::routing::get;
use byok_shared::AppState;

/// The function's HTTP router, with the common layers applied.
pub fn router(state: AppState) -> Router {
    byok_shared::http::finish(routes(), state)
}

/// The routes alone, for merging into the all-in-one local server.
pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/manage/org", get(org::get_org))
}
