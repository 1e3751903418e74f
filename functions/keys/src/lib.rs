//! The key CRUD function: an organisation's own provider keys. It encrypts and never decrypts, so its IAM
//! role needs only `kms:Encrypt`; verifying a stored key (which decrypts) lives in the router function.

mod audit;
mod body;
mod handlers;
mod verify;

use axum::Router;
use byok_shared::AppState;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(tags((name = "keys", description = "The organisation's own provider keys (manage:read to read, manage:write to change)")))]
struct Tags;

/// This function's handlers, each once, grouped by path: [`routes`] builds them with their OpenAPI
/// operations, [`router`] without (`byok_shared::http::routes`).
macro_rules! each_handler {
    ($($form:tt)+) => {
        byok_shared::handlers!($($form)+;
            [handlers::list, handlers::create],
            [audit::list],
            [handlers::get_one, handlers::rotate, handlers::delete],
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
