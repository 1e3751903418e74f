//! The inference function: what apps call. OpenAI- and Anthropic-format chat, embeddings, the model list,
//! and verifying a stored provider key (here because it decrypts, which only this function may do).
//!
//! A chat request's path: `chat::handle` parses the body (`request`), then `chat::serve` admits it and claims
//! its idempotency key, `pipeline::run` resolves its route (`resolve`) and runs the engine
//! (`byok_shared::routing::execute`, with the org's keys from `keyring`), and the answer is billed (`usage`)
//! and sent (`respond`, or `stream` for SSE).

mod cache;
mod chat;
mod cost;
mod embeddings;
mod idempotency;
mod keyring;
mod models;
pub mod openapi;
mod pipeline;
mod request;
#[cfg(test)]
mod request_props;
mod resolve;
mod respond;
mod sse;
mod state;
mod stream;
mod usage;
mod usage_writes;
mod verify;

use axum::Router;
use axum::routing::{get, post};
use byok_shared::AppState;

pub use state::Gateway;

/// The function's HTTP router, with the common layers applied.
pub fn router(app: AppState) -> Router {
    byok_shared::http::finish(routes(), Gateway::new(app))
}

/// The routes alone, for merging into the all-in-one local server.
pub fn routes() -> Router<Gateway> {
    Router::new()
        .route("/v1/chat/completions", post(chat::openai))
        .route("/v1/messages", post(chat::anthropic))
        .route("/v1/embeddings", post(embeddings::embeddings))
        .route("/v1/models", get(models::list))
        .route("/v1/byok/{provider}/verify", post(verify::verify))
}
