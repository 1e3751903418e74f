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
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(tags((name = "keys", description = "The organisation's own provider keys (manage:read to read, manage:write to change)")))]
struct Tags;

pub fn router(state: AppState) -> Router {
    byok_shared::http::finish(routes().into(), state)
}

/// The routes with their OpenAPI operations (each registered once, from its handler's `#[utoipa::path]`),
/// for [`router`] and for merging into the all-in-one local server and its `/openapi.json`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(Tags::openapi())
        .routes(routes!(handlers::list, handlers::create))
        .routes(routes!(audit::list))
        .routes(routes!(
            handlers::get_one,
            handlers::rotate,
            handlers::delete
        ))
}
