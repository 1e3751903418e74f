//! `POST /v1/chat/completions` (OpenAI format) and `POST /v1/messages` (Anthropic format).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use byok_shared::Result;
use byok_shared::auth::Caller;
use byok_shared::error::Error;
use byok_shared::http::{Auth, RequestId};
use byok_shared::providers::{
    ClientFormat, ClientHeaders, RequestBody, Usage, estimate_input_tokens,
};
use byok_shared::repo::idempotency::Stored;
use byok_shared::routing::attempts;
use byok_shared::routing::{Answer, Work};

use crate::idempotency::{self, Begin};
use crate::request::{self, Parsed};
use crate::request_log::{self, Trail};
use crate::state::Gateway;
use crate::{cost, pipeline, prefetch, ratelimit, respond, stream, usage};

#[utoipa::path(post, path = "/v1/chat/completions", tag = "inference", operation_id = "chat_completions",
    request_body = crate::openapi::ChatRequest,
    responses(
        (status = 200, description = "The completion (OpenAI format; `model` names the model that answered, `usage.cost` the cost in USD), or with `stream: true` an SSE stream of chunks ending in `data: [DONE]`, or in an error event after a failure",
            content((crate::openapi::ChatCompletion = "application/json"), (crate::openapi::SseEvent = "text/event-stream"))),
    ))]
pub async fn openai(
    state: State<Gateway>,
    auth: Auth,
    id: RequestId,
    headers: HeaderMap,
    body: Result<RequestBody, Error>,
) -> Result<Response> {
    let format = ClientFormat::OpenAi;
    handle(
        state,
        auth,
        id,
        headers,
        body,
        format,
        "/v1/chat/completions",
    )
    .await
}

#[utoipa::path(post, path = "/v1/messages", tag = "inference", operation_id = "messages",
    request_body = crate::openapi::MessagesRequest,
    security(("bearer" = []), ("x_api_key" = [])),
    responses(
        (status = 200, description = "The message (Anthropic format), or with `stream: true` an SSE stream of Anthropic events",
            content((crate::openapi::Message = "application/json"), (crate::openapi::SseEvent = "text/event-stream"))),
    ))]
pub async fn anthropic(
    state: State<Gateway>,
    auth: Auth,
    id: RequestId,
    headers: HeaderMap,
    body: Result<RequestBody, Error>,
) -> Result<Response> {
    let format = ClientFormat::Anthropic;
    handle(state, auth, id, headers, body, format, "/v1/messages").await
}

/// Parse, admit and serve one inference request of `format` (shared with `responses`), and record it in the
/// request log (a body that is not JSON too).
pub(crate) async fn handle(
    State(gateway): State<Gateway>,
    Auth(caller): Auth,
    id: RequestId,
    headers: HeaderMap,
    body: Result<RequestBody, Error>,
    format: ClientFormat,
    endpoint: &str,
) -> Result<Response> {
    let trail = Trail::start(&gateway, &caller, id, endpoint, body.as_ref().ok());
    let result = async {
        let parsed = request::parse_request(body?, &headers, &caller.key)?;
        trail.parsed(&parsed);
        let note = respond::note(&parsed);
        tracing::debug!(tags = ?parsed.metadata.tags, trace_id = ?parsed.metadata.trace_id,
            extra = parsed.metadata.extra.len(), "inference request");
        let served = serve(gateway, caller, headers, parsed, format, &trail).await;
        Ok(respond::noted(served, note))
    };
    Ok(request_log::recorded(&trail, result.await).await)
}

/// The client headers a same-format passthrough forwards (Anthropic's version and betas).
fn client_headers(headers: &HeaderMap, format: ClientFormat) -> ClientHeaders {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    match format {
        ClientFormat::Anthropic => ClientHeaders {
            anthropic_version: text("anthropic-version"),
            anthropic_beta: text("anthropic-beta"),
        },
        ClientFormat::OpenAi | ClientFormat::Responses => ClientHeaders::default(),
    }
}

/// Auto caching for this request: its own `auto_cache`, else the key's default, else the org's, else off.
async fn auto_cache(gateway: &Gateway, caller: &Caller, parsed: &Parsed) -> Result<bool> {
    if let Some(on) = parsed.metadata.auto_cache.or(caller.key.auto_cache) {
        return Ok(on);
    }
    let org = gateway
        .caches()
        .orgs
        .auto_cache(gateway.app().store(), caller.org_id())
        .await?;
    Ok(org.unwrap_or(false))
}

/// An admitted, parsed request: idempotency, the pipeline, billing and the response.
async fn serve(
    gateway: Gateway,
    caller: Caller,
    headers: HeaderMap,
    parsed: Parsed,
    format: ClientFormat,
    trail: &Trail,
) -> Result<Response> {
    pipeline::admit(&gateway, &caller, &parsed).await?;
    let rate = match ratelimit::admit(&gateway, &caller, &parsed.body).await {
        Ok(rate) => rate,
        Err(refused) => return Ok(refused.into_response()),
    };
    let limits = rate
        .as_ref()
        .map(|t| t.headers().clone())
        .unwrap_or_default();
    let store = gateway.app().store();
    let begun = idempotency::begin(store, &caller, &headers, &parsed.body, parsed.stream).await;
    let slot = match begun {
        Ok(Begin::Slot(slot)) => Some(slot),
        Ok(Begin::None) => None,
        Ok(Begin::Replay(stored)) => {
            settle_unused(&gateway, rate).await;
            return Ok(with_headers(respond::replay(stored), limits));
        }
        Err(e) => {
            settle_unused(&gateway, rate).await;
            return Err(e);
        }
    };
    let forwarded = client_headers(&headers, format);
    prefetch::cold_reads(&gateway, caller.org_id(), &parsed).await;
    let auto_cache = match auto_cache(&gateway, &caller, &parsed).await {
        Ok(on) => on,
        Err(e) => {
            if let Some(slot) = slot {
                slot.abandon(store).await;
            }
            settle_unused(&gateway, rate).await;
            return Err(e);
        }
    };
    let work = Work::Chat {
        format,
        stream: parsed.stream,
        body: &parsed.body,
        headers: &forwarded,
        auto_cache,
    };
    let (served, reservation) = match pipeline::run(&gateway, &caller, &parsed, work).await {
        Ok(run) => run,
        Err(stopped) => {
            trail.stopped(&stopped);
            if let Some(slot) = slot {
                slot.abandon(store).await;
            }
            settle_unused(&gateway, rate).await;
            return Ok(with_headers(stopped.into_response(), limits));
        }
    };
    trail.served(&served);
    let mut headers = respond::served_headers(&served);
    headers.extend(limits);
    let billing = usage::Billing::of(&served, reservation).with_rate(rate);
    let model = served.qualified_model();
    match served.answer {
        Answer::Complete(done) => {
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
            if let Some(slot) = slot {
                let stored = Stored {
                    body: body.to_value(),
                    model,
                    key_source: served.key.as_str().to_owned(),
                    attempts: attempts::header_value(&served.attempts),
                };
                slot.finish(store, stored).await;
            }
            Ok(respond::answer(&body, headers, &done.headers))
        }
        Answer::Stream {
            head,
            rest,
            headers: upstream,
        } => {
            let limit = gateway.app().config().max_stream;
            let trail = trail.hand_over();
            let capture = trail.stream_capture();
            let finish: stream::Finish =
                Box::new(move |final_usage, streamed_tokens, failed, sent| {
                    Box::pin(async move {
                        if let Some(sent) = sent {
                            trail.stream_sent(sent);
                        }
                        // No usage from the provider: what was streamed, on the request's estimated input.
                        let used = final_usage.unwrap_or_else(|| Usage {
                            input_tokens: estimate_input_tokens(parsed.body.tree()).unwrap_or(0),
                            output_tokens: streamed_tokens,
                            ..Usage::default()
                        });
                        billing
                            .bill_logged(&gateway, &caller, &parsed.metadata, used, failed, &trail)
                            .await
                    })
                });
            let events = stream::Events { format, head, rest };
            Ok(stream::response(
                events, headers, &upstream, finish, limit, capture,
            ))
        }
    }
}

/// A request counted against its key's rate limits that no provider answered: its tokens were none.
pub(crate) async fn settle_unused(gateway: &Gateway, rate: Option<ratelimit::Ticket>) {
    if let Some(ticket) = rate {
        ticket.settle(gateway, 0).await;
    }
}

/// `response` with the rate-limit headers added.
pub(crate) fn with_headers(mut response: Response, headers: HeaderMap) -> Response {
    response.headers_mut().extend(headers);
    response
}
