//! `POST /v1/messages/count_tokens` (Anthropic format): the input tokens of a messages request for the model
//! it names, without generating anything. Resolved like chat (`<provider>/<model>` or `policy/<name>`; a
//! policy counts for its route's first step), counted by the provider where it can (Anthropic, Gemini) and
//! estimated locally for OpenAI and xAI (see `byok_shared::providers::CountPlan`). Needs `completions`; not
//! billed, as the providers do not bill it either.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use byok_shared::Result;
use byok_shared::auth::Caller;
use byok_shared::domain::policy::is_allowed;
use byok_shared::error::Error;
use byok_shared::http::{Auth, RequestId};
use byok_shared::providers::{ClientHeaders, CountPlan, Counted, ErrorClass, RequestBody};
use byok_shared::routing::attempts::Attempt;
use byok_shared::routing::{KeyRing, classify};
use serde_json::json;

use crate::keyring::OrgKeys;
use crate::request::{self, Parsed};
use crate::request_log::{self, Trail};
use crate::state::Gateway;
use crate::{resolve, respond};

/// Set to `estimate` when the count is the gateway's own (OpenAI and xAI models), not the provider's.
pub const COUNT_HEADER: &str = "x-byok-token-count";

#[utoipa::path(post, path = "/v1/messages/count_tokens", tag = "inference", operation_id = "count_tokens",
    request_body = crate::openapi::CountTokensRequest,
    security(("bearer" = []), ("x_api_key" = [])),
    responses(
        (status = 200, description = "The input tokens of the request for the model it names (Anthropic format). Counted by Anthropic or Gemini for their models; a local o200k_base estimate for OpenAI and xAI models, marked by the `x-byok-token-count: estimate` header", body = crate::openapi::TokenCount),
    ))]
pub async fn count_tokens(
    State(gateway): State<Gateway>,
    Auth(caller): Auth,
    id: RequestId,
    headers: HeaderMap,
    body: Result<RequestBody, Error>,
) -> Result<Response> {
    let endpoint = "/v1/messages/count_tokens";
    let trail = Trail::start(&gateway, &caller, id, endpoint, body.as_ref().ok());
    let result = async {
        let parsed = request::parse_request(body?, &headers, &caller.key)?;
        trail.parsed(&parsed);
        let note = respond::note(&parsed);
        let served = serve(&gateway, &caller, &headers, parsed).await;
        Ok(respond::noted(served, note))
    };
    Ok(request_log::recorded(&trail, result.await).await)
}

async fn serve(
    gateway: &Gateway,
    caller: &Caller,
    headers: &HeaderMap,
    parsed: Parsed,
) -> Result<Response> {
    caller.require_completions()?;
    if !is_allowed(&caller.key, &parsed.model) {
        return Err(
            Error::forbidden(format!("this API key may not use {}", parsed.model))
                .with_param("model"),
        );
    }
    if parsed.stream {
        return Err(Error::invalid("stream", "count_tokens does not stream"));
    }
    if parsed.body.array_len("messages").is_none() {
        return Err(Error::invalid("messages", "messages must be an array"));
    }
    let org_id = caller.org_id();
    let route = resolve::route(gateway, org_id, &parsed.model, &parsed.metadata).await?;
    let step = route
        .attempts()
        .next()
        .ok_or_else(|| Error::unavailable(format!("{} has no model to count for", route.policy)))?;
    let forwarded = ClientHeaders {
        anthropic_version: text(headers, "anthropic-version"),
        anthropic_beta: text(headers, "anthropic-beta"),
    };
    let plan = CountPlan {
        provider: step.provider,
        model: &step.model,
        body: parsed.body.tree(),
        headers: &forwarded,
    };
    let model = format!("{}/{}", step.provider, step.model);
    let timeout = Duration::from_millis(step.timeout_ms);
    let providers = gateway.app().providers();
    // Counting is free: no hold on the org's platform budget.
    let keys = OrgKeys {
        gateway,
        org_id,
        platform: None,
    };
    let mut tried = Vec::new();
    let mut last = None;
    let mut withheld = None;
    for kind in step.key_source.order() {
        // The operator's key only for an org entitled to it (counting is free, the key is still theirs).
        if let Some(w) = keys.withheld(*kind).await? {
            withheld.get_or_insert(w.error);
            continue;
        }
        let Some(key) = keys.key(step.provider, *kind).await? else {
            continue;
        };
        let started = Instant::now();
        let result = providers.count_tokens(&key, &plan, timeout).await;
        let ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(counted) => {
                tried.push(Attempt {
                    model: model.clone(),
                    key: *kind,
                    outcome: "ok".into(),
                    ms,
                });
                return Ok(answer(counted, &model, kind.as_str(), &tried));
            }
            Err(e) => {
                tried.push(Attempt {
                    model: model.clone(),
                    key: *kind,
                    outcome: classify::outcome(&e),
                    ms,
                });
                if e.class == ErrorClass::KeyRejected {
                    keys.rejected(step.provider, *kind, &e).await;
                }
                let next = e.class == ErrorClass::KeyRejected;
                last = Some(classify::client_error(step.provider, *kind, &e));
                if !next {
                    break;
                }
            }
        }
    }
    let error = last.or(withheld).unwrap_or_else(|| {
        Error::unavailable(format!(
            "no {} key is stored for this organisation",
            step.provider
        ))
    });
    Ok(respond::error(
        error,
        respond::meta_headers(None, None, &tried),
    ))
}

fn answer(counted: Counted, model: &str, key: &str, tried: &[Attempt]) -> Response {
    let mut headers = respond::meta_headers(Some(model), Some(key), tried);
    if counted.estimate {
        headers.insert(COUNT_HEADER, HeaderValue::from_static("estimate"));
    }
    respond::json(
        json!({"input_tokens": counted.input_tokens}),
        headers,
        &counted.headers,
    )
}

fn text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
