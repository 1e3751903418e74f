//! The policies function: an organisation's routing policies (create, list, get, update, delete) and
//! `explain`, the route a request would take right now. Validation, references and routing rules live in
//! `byok_shared::domain::policy`; storage in `byok_shared::repo::policies`.

mod create;
mod delete;
mod explain;
pub mod openapi;
mod path;
mod read;
mod update;
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
        .route("/v1/policies", get(read::list).post(create::create))
        .route(
            "/v1/policies/{name}",
            get(read::get_one)
                .put(update::update)
                .delete(delete::delete),
        )
        .route("/v1/policies/{name}/explain", post(explain::explain))
}
