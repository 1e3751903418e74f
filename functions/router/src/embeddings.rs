//! `POST /v1/embeddings` (OpenAI format), routed like chat: direct model or policy.

use axum::extract::State;
use axum::response::Response;
use byok_shared::Result;
use byok_shared::auth::Caller;
use byok_shared::error::Error;
use byok_shared::http::{Auth, RequestId};
use byok_shared::providers::RequestBody;
use byok_shared::routing::{Answer, Work};

use crate::request::{self, Parsed};
use crate::request_log::{self, Trail};
use crate::state::Gateway;
use crate::{chat, cost, pipeline, ratelimit, respond, usage};

#[utoipa::path(post, path = "/v1/embeddings", tag = "inference", operation_id = "embeddings",
    request_body = crate::openapi::EmbeddingsRequest,
    responses(
        (status = 200, description = "The embeddings (OpenAI format)", body = crate::openapi::Embeddings),
    ))]
pub async fn embeddings(
    State(gateway): State<Gateway>,
    Auth(caller): Auth,
    id: RequestId,
    headers: axum::http::HeaderMap,
    body: Result<RequestBody, Error>,
) -> Result<Response> {
    let trail = Trail::start(&gateway, &caller, id, "/v1/embeddings", body.as_ref().ok());
    let result = async {
        let parsed = request::parse_request(body?, &headers, &caller.key)?;
        trail.parsed(&parsed);
        let note = respond::note(&parsed);
        Ok(respond::noted(
            serve(gateway, caller, parsed, &trail).await,
            note,
        ))
    };
    Ok(request_log::recorded(&trail, result.await).await)
}

async fn serve(
    gateway: Gateway,
    caller: Caller,
    parsed: Parsed,
    trail: &Trail,
) -> Result<Response> {
    if parsed.stream {
        return Err(Error::invalid("stream", "embeddings do not stream"));
    }
    pipeline::admit(&gateway, &caller, &parsed).await?;
    let rate = match ratelimit::admit(&gateway, &caller, &parsed.body).await {
        Ok(rate) => rate,
        Err(refused) => return Ok(refused.into_response()),
    };
    let limits = rate
        .as_ref()
        .map(|t| t.headers().clone())
        .unwrap_or_default();
    let work = Work::Embeddings { body: &parsed.body };
    let (served, reservation) = match pipeline::run(&gateway, &caller, &parsed, work).await {
        Ok(run) => run,
        Err(stopped) => {
            trail.stopped(&stopped);
            chat::settle_unused(&gateway, rate).await;
            return Ok(chat::with_headers(stopped.into_response(), limits));
        }
    };
    trail.served(&served);
    let mut headers = respond::served_headers(&served);
    headers.extend(limits);
    let billing = usage::Billing::of(&served, reservation).with_rate(rate);
    let Answer::Complete(done) = served.answer else {
        return Err(Error::internal("an embeddings call returned a stream"));
    };
    trail.response_body(&done.body);
    let cost = billing
        .bill_logged(
            &gateway,
            &caller,
            &parsed.metadata,
            done.usage,
            false,
            trail,
        )
        .await;
    let mut body = done.body;
    cost::put_answer(&mut body, cost);
    Ok(respond::answer(&body, headers, &done.headers))
}
