//! The key CRUD function: an organisation's own provider keys. It encrypts and never decrypts, so its IAM
//! role needs only `kms:Encrypt`; verifying a stored key (which decrypts) lives in the router function.

mod audit;
mod body;
mod handlers;
pub mod openapi;
mod verify;

use axum::Router;
use axum::routing::get;
use byok_shared::AppState;

pub fn router(state: AppState) -> Router {
    byok_shared::http::finish(routes(), state)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/byok", get(handlers::list).post(handlers::create))
        .route("/v1/byok/audit", get(audit::list))
        .route(
            "/v1/byok/{provider}",
            get(handlers::get_one)
                .put(handlers::rotate)
                .delete(handlers::delete),
        )
}
