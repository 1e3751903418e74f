//! `POST /v1/chat/completions` (OpenAI format) and `POST /v1/messages` (Anthropic format).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use byok_shared::auth::Caller;
use byok_shared::domain::policy::is_allowed;
use byok_shared::error::Error;
use byok_shared::http::{Auth, JsonBody};
use byok_shared::providers::ClientFormat;
use byok_shared::routing::attempts;
use byok_shared::routing::{Answer, Work, execute};
use byok_shared::{AppState, Result};
use serde_json::Value;

use crate::idempotency::{self, Begin};
use crate::request::{self, Parsed};
use crate::{resolve, respond, usage};

#[utoipa::path(post, path = "/v1/chat/completions", tag = "inference", operation_id = "chat_completions",
    request_body = crate::openapi::ChatRequest,
    responses(
        (status = 200, description = "The completion (OpenAI format; `model` names the model that answered, `usage.cost` the cost in USD), or with `stream: true` an SSE stream of chunks ending in `data: [DONE]`, or in an error event after a failure",
            content((crate::openapi::ChatCompletion = "application/json"), (crate::openapi::SseEvent = "text/event-stream"))),
    ))]
pub async fn openai(
    state: State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: JsonBody<Value>,
) -> Result<Response> {
    handle(state, auth, headers, body, ClientFormat::OpenAi).await
}

#[utoipa::path(post, path = "/v1/messages", tag = "inference", operation_id = "messages",
    request_body = crate::openapi::MessagesRequest,
    security(("bearer" = []), ("x_api_key" = [])),
    responses(
        (status = 200, description = "The message (Anthropic format), or with `stream: true` an SSE stream of Anthropic events",
            content((crate::openapi::Message = "application/json"), (crate::openapi::SseEvent = "text/event-stream"))),
    ))]
pub async fn anthropic(
    state: State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: JsonBody<Value>,
) -> Result<Response> {
    handle(state, auth, headers, body, ClientFormat::Anthropic).await
}

/// Checks every request passes before a provider is called: permission, allow-list, spend limit.
pub async fn admit(state: &AppState, caller: &Caller, parsed: &Parsed) -> Result<()> {
    caller.require_completions()?;
    if !is_allowed(&caller.key, &parsed.model) {
        return Err(
            Error::forbidden(format!("this API key may not use {}", parsed.model))
                .with_param("model"),
        );
    }
    state.spend().check(state, caller).await
}

async fn handle(
    State(state): State<AppState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Value>,
    format: ClientFormat,
) -> Result<Response> {
    let parsed = request::parse_request(body, &headers, &caller.key)?;
    let note = respond::note(&parsed);
    tracing::debug!(tags = ?parsed.metadata.tags, trace_id = ?parsed.metadata.trace_id,
        extra = parsed.metadata.extra.len(), "inference request");
    Ok(respond::noted(
        serve(state, caller, headers, parsed, format).await,
        note,
    ))
}

/// An admitted, parsed request: idempotency, route, the engine, billing and the response.
async fn serve(
    state: AppState,
    caller: Caller,
    headers: HeaderMap,
    parsed: Parsed,
    format: ClientFormat,
) -> Result<Response> {
    admit(&state, &caller, &parsed).await?;
    let slot = match idempotency::begin(&state, &caller, &headers, parsed.stream).await? {
        Begin::Replay(r) => {
            let headers = respond::meta_headers(Some(&r.model), Some(&r.key_source), &[]);
            let mut response = respond::json(r.body, headers);
            if let Ok(v) = axum::http::HeaderValue::from_str(&r.attempts) {
                response.headers_mut().insert(attempts::HEADER, v);
            }
            response.headers_mut().insert(
                "idempotent-replayed",
                axum::http::HeaderValue::from_static("true"),
            );
            return Ok(response);
        }
        Begin::Slot(slot) => Some(slot),
        Begin::None => None,
    };
    let route = match resolve::route(&state, caller.org_id(), &parsed.model, &parsed.metadata).await
    {
        Ok(route) => route,
        Err(e) => {
            if let Some(slot) = slot {
                slot.abandon(&state).await;
            }
            return Err(e);
        }
    };
    let work = Work::Chat {
        format,
        body: &parsed.body,
    };
    let served = match execute(&state, caller.org_id(), &route, work).await {
        Ok(served) => served,
        Err(failed) => {
            if let Some(billing) = usage::Billing::failed(&route) {
                billing
                    .bill(&state, &caller, &parsed.metadata, Default::default(), true)
                    .await;
            }
            if let Some(slot) = slot {
                slot.abandon(&state).await;
            }
            return Ok(respond::failed(failed));
        }
    };
    let headers = respond::served_headers(&served);
    let billing = usage::Billing::of(&served);
    match served.answer {
        Answer::Complete(done) => {
            let cost = billing
                .bill(&state, &caller, &parsed.metadata, done.usage, false)
                .await;
            let body = respond::with_cost(done, cost);
            if let Some(slot) = slot {
                let tried = attempts::header_value(&served.attempts);
                slot.finish(&state, &body, &served.model, served.key.as_str(), &tried)
                    .await;
            }
            Ok(respond::json(body, headers))
        }
        Answer::Stream { head, rest } => {
            let limit = state.config().max_stream;
            let finish: respond::Finish = Box::new(move |final_usage, failed| {
                Box::pin(async move {
                    let used = final_usage.unwrap_or_default();
                    billing
                        .bill(&state, &caller, &parsed.metadata, used, failed)
                        .await
                })
            });
            Ok(respond::stream(format, head, rest, headers, finish, limit))
        }
    }
}
