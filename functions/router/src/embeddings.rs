//! `POST /v1/embeddings` (OpenAI format), routed like chat: direct model or policy.

use axum::extract::State;
use axum::response::Response;
use byok_shared::error::Error;
use byok_shared::http::{Auth, JsonBody};
use byok_shared::routing::{Answer, Work, execute};
use byok_shared::{AppState, Result};
use serde_json::Value;

use crate::{chat, request, resolve, respond, usage};

pub async fn embeddings(
    State(state): State<AppState>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response> {
    let parsed = request::parse(body)?;
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
            return Ok(respond::error(
                failed.error,
                respond::meta_headers(None, None, &failed.attempts),
            ));
        }
    };
    let headers = respond::meta_headers(
        Some(&served.model),
        Some(served.key.as_str()),
        &served.attempts,
    );
    let Answer::Complete(done) = served.answer else {
        return Err(Error::internal("an embeddings call returned a stream"));
    };
    let model = served
        .model
        .split_once('/')
        .map(|(_, m)| m.to_owned())
        .unwrap_or_default();
    let cost = usage::cost(served.provider, &model, &done.usage);
    let billed = usage::Served {
        provider: served.provider,
        model: &model,
        key: Some(served.key),
        usage: done.usage,
        cost,
        error: false,
    };
    usage::record(&state, &caller, &parsed.metadata, billed).await;
    Ok(respond::json(respond::with_cost(done, cost), headers))
}
