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
mod count_tokens;
mod embeddings;
mod idempotency;
mod keyring;
mod log_writes;
mod models;
pub mod openapi;
mod pipeline;
mod prefetch;
mod pricing;
mod ratelimit;
mod request;
mod request_log;
#[cfg(test)]
mod request_props;
mod reserve;
mod resolve;
mod respond;
mod responses;
mod sse;
mod state;
mod stream;
mod stream_capture;
mod streamed;
mod usage;
mod usage_writes;
mod verify;
mod writes;

use axum::Router;
use byok_shared::AppState;
use utoipa_axum::router::OpenApiRouter;

pub use state::Gateway;

/// This function's handlers, each once, grouped by path: [`routes`] builds them with their OpenAPI
/// operations, [`router`] without (`byok_shared::http::routes`).
macro_rules! each_handler {
    ($($form:tt)+) => {
        byok_shared::handlers!($($form)+;
            [chat::openai],
            [chat::anthropic],
            [responses::responses],
            [count_tokens::count_tokens],
            [embeddings::embeddings],
            [models::list],
            [verify::verify],
        )
    };
}

/// The function's HTTP router, with the common layers applied (no OpenAPI document: Lambda serves none).
pub fn router(app: AppState) -> Router {
    let gateway = Gateway::new(app);
    gateway.prefetch();
    byok_shared::http::finish(each_handler!(plain), gateway)
}

/// The routes with their OpenAPI operations, for merging into the all-in-one local server and its
/// `/openapi.json`.
pub fn routes() -> OpenApiRouter<Gateway> {
    each_handler!(openapi OpenApiRouter::with_openapi(openapi::tags()))
}
