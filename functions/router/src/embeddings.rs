//! `POST /v1/embeddings` (OpenAI format), routed like chat: direct model or policy.

use axum::extract::State;
use axum::response::Response;
use byok_shared::auth::Caller;
use byok_shared::error::Error;
use byok_shared::http::{Auth, JsonBody};
use byok_shared::routing::{Answer, Work, execute};
use byok_shared::{AppState, Result};
use serde_json::Value;

use crate::request::Parsed;
use crate::{chat, request, resolve, respond, usage};

#[utoipa::path(post, path = "/v1/embeddings", tag = "inference", operation_id = "embeddings",
    request_body = crate::openapi::EmbeddingsRequest,
    responses(
        (status = 200, description = "The embeddings (OpenAI format)", body = crate::openapi::Embeddings),
    ))]
pub async fn embeddings(
    State(state): State<AppState>,
    Auth(caller): Auth,
    headers: axum::http::HeaderMap,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response> {
    let parsed = request::parse_request(body, &headers, &caller.key)?;
    let note = respond::note(&parsed);
    Ok(respond::noted(serve(state, caller, parsed).await, note))
}

async fn serve(state: AppState, caller: Caller, parsed: Parsed) -> Result<Response> {
    if parsed.stream {
        return Err(Error::invalid("stream", "embeddings do not stream"));
    }
    chat::admit(&state, &caller, &parsed).await?;
    let route = resolve::route(&state, caller.org_id(), &parsed.model, &parsed.metadata).await?;
    let served = match execute(
        &state,
        caller.org_id(),
        &route,
        Work::Embeddings { body: &parsed.body },
    )
    .await
    {
        Ok(served) => served,
        Err(failed) => {
            if let Some(billing) = usage::Billing::failed(&route) {
                billing
                    .bill(&state, &caller, &parsed.metadata, Default::default(), true)
                    .await;
            }
            return Ok(respond::failed(failed));
        }
    };
    let headers = respond::served_headers(&served);
    let billing = usage::Billing::of(&served);
    let Answer::Complete(done) = served.answer else {
        return Err(Error::internal("an embeddings call returned a stream"));
    };
    let cost = billing
        .bill(&state, &caller, &parsed.metadata, done.usage, false)
        .await;
    Ok(respond::json(respond::with_cost(done, cost), headers))
}
