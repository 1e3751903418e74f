//! The inference function: what apps call. OpenAI- and Anthropic-format chat, embeddings, the model list,
//! and verifying a stored provider key (here because it decrypts, which only this function may do).

mod chat;
mod embeddings;
mod idempotency;
mod models;
pub mod openapi;
mod request;
#[cfg(test)]
mod request_props;
mod resolve;
mod respond;
mod usage;
mod verify;

use axum::Router;
use byok_shared::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router(state: AppState) -> Router {
    byok_shared::http::finish(routes().into(), state)
}

/// The routes with their OpenAPI operations (each registered once, from its handler's `#[utoipa::path]`),
/// for [`router`] and for merging into the all-in-one local server and its `/openapi.json`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::tags())
        .routes(routes!(chat::openai))
        .routes(routes!(chat::anthropic))
        .routes(routes!(embeddings::embeddings))
        .routes(routes!(models::list))
        .routes(routes!(verify::verify))
}
