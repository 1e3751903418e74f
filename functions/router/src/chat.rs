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
        (status = 404, description = "The policy (or the provider's model) does not exist"),
        (status = 412, description = "The key's or organisation's monthly spend limit is reached"),
        (status = 422, description = "No provider key is available for the route, or the provider refused the request"),
        (status = 429, description = "The provider rate-limited every attempt"),
        (status = 502, description = "Every attempt failed at the provider"),
        (status = 503, description = "No target is available"),
        (status = 504, description = "The provider or the policy's deadline timed out"),
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
        (status = 404, description = "The policy (or the provider's model) does not exist"),
        (status = 412, description = "The key's or organisation's monthly spend limit is reached"),
        (status = 422, description = "No provider key is available for the route, or the provider refused the request"),
        (status = 429, description = "The provider rate-limited every attempt"),
        (status = 502, description = "Every attempt failed at the provider"),
        (status = 503, description = "No target is available"),
        (status = 504, description = "The provider or the policy's deadline timed out"),
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
    let parsed = request::parse(body)?;
    admit(&state, &caller, &parsed).await?;
    tracing::info!(model = %parsed.model, stream = parsed.stream, tags = ?parsed.metadata.tags,
        trace_id = ?parsed.metadata.trace_id, extra = parsed.metadata.extra.len(), "inference request");
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
            if let Some(step) = route.attempts().next() {
                let failed_usage = usage::Served {
                    provider: step.provider,
                    model: &step.model,
                    key: None,
                    usage: Default::default(),
                    cost: None,
                    error: true,
                };
                usage::record(&state, &caller, &parsed.metadata, failed_usage).await;
            }
            if let Some(slot) = slot {
                slot.abandon(&state).await;
            }
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
    let model = served
        .model
        .split_once('/')
        .map(|(_, m)| m.to_owned())
        .unwrap_or_default();
    match served.answer {
        Answer::Complete(done) => {
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
            let (provider, key) = (served.provider, served.key);
            let finish: respond::Finish = Box::new(move |final_usage, failed| {
                Box::pin(async move {
                    let used = final_usage.unwrap_or_default();
                    let cost = usage::cost(provider, &model, &used);
                    let billed = usage::Served {
                        provider,
                        model: &model,
                        key: Some(key),
                        usage: used,
                        cost,
                        error: failed,
                    };
                    usage::record(&state, &caller, &parsed.metadata, billed).await;
                    cost
                })
            });
            Ok(respond::stream(format, head, rest, headers, finish, limit))
        }
    }
}
