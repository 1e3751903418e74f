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
use axum::routing::{get, post};
use byok_shared::AppState;

pub fn router(state: AppState) -> Router {
    byok_shared::http::finish(routes(), state)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/chat/completions", post(chat::openai))
        .route("/v1/messages", post(chat::anthropic))
        .route("/v1/embeddings", post(embeddings::embeddings))
        .route("/v1/models", get(models::list))
        .route("/v1/byok/{provider}/verify", post(verify::verify))
}
