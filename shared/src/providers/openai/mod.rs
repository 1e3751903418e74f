//! OpenAI adapter (also used for xAI, which speaks the same API): `POST /v1/chat/completions` (JSON and SSE
//! `data:` chunks ending `[DONE]`), `POST /v1/embeddings`, `GET /v1/models`, with `Authorization: Bearer`.

pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod responses;
pub(crate) mod stream;

use serde_json::{Value, json};

use self::request::Flavour;
use super::client::Call;
use super::edited::Edited;
use super::sse::drive;
use super::translate::{self, Translator};
use super::{
    AnswerBody, AttemptPlan, ChatOutcome, ClientFormat, Completed, ProviderError, Streamed, Usage,
};
use crate::domain::provider::Provider;

const CHAT: &str = "/v1/chat/completions";

fn flavour(provider: Provider) -> Flavour {
    if provider == Provider::Xai {
        Flavour::Xai
    } else {
        Flavour::OpenAi
    }
}

pub(crate) async fn chat(
    call: Call<'_>,
    plan: &AttemptPlan<'_>,
) -> Result<ChatOutcome, ProviderError> {
    if plan.format == ClientFormat::Responses && plan.is_passthrough() {
        return responses::passthrough(call, plan).await;
    }
    let flavour = flavour(call.provider);
    let passthrough = plan.is_passthrough();
    let (mut upstream, include_usage) = if passthrough {
        let include_usage = plan
            .body
            .get("stream_options")
            .and_then(|o| o.get("include_usage").and_then(Value::as_bool))
            .unwrap_or(false);
        let mut body = translate::passthrough_body(plan);
        request::normalise_effort(&mut body, plan.model, flavour);
        (body, include_usage)
    } else {
        let req = translate::parse_request(plan)?;
        let body = Edited::owned(request::emit(&req, plan.model, flavour));
        (body, req.include_usage)
    };
    if flavour == Flavour::Xai {
        super::xai::adapt(&mut upstream, plan.model);
    }
    let response_model = plan.qualified_model();
    if plan.stream {
        upstream.set("stream", true);
        upstream.set("stream_options", json!({"include_usage": true}));
        let (bytes, headers) = call.post_stream(CHAT, &upstream).await?;
        let key = call.key.clone();
        let events = if passthrough {
            drive(
                call.provider,
                bytes,
                stream::Passthrough::new(call.provider, key, &response_model, include_usage),
                call.timeout,
            )
        } else {
            let t = Translator {
                provider: call.provider,
                source: stream::Source::new(call.provider, key),
                encoder: translate::encoder(plan, &response_model, include_usage),
            };
            drive(call.provider, bytes, t, call.timeout)
        };
        return Ok(ChatOutcome::Stream(Streamed { events, headers }));
    }
    let answer = call.post_answer(CHAT, &upstream).await?;
    let reader = translate::Reader {
        usage: response::usage,
        parse: response::parse,
    };
    translate::complete(answer, plan, reader)
}

pub(crate) async fn embeddings(
    call: Call<'_>,
    plan: &AttemptPlan<'_>,
) -> Result<Completed, ProviderError> {
    // Passed on as the provider wrote it (its vectors are most of it), `model` rewritten.
    let (answer, headers) = call
        .post_answer("/v1/embeddings", &translate::passthrough_body(plan))
        .await?;
    let mut answer = AnswerBody::passed(answer);
    let input = answer
        .field_mut("usage")
        .and_then(|u| u.get("prompt_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    answer.set("model", plan.qualified_model().into());
    Ok(Completed {
        body: answer,
        usage: Usage {
            input_tokens: input,
            ..Usage::default()
        },
        headers,
    })
}

pub(crate) async fn list_models(call: Call<'_>) -> Result<Vec<String>, ProviderError> {
    let answer = call.get_json("/v1/models").await?;
    Ok(model_ids(&answer))
}

/// `{"data":[{"id":..}]}` → ids (OpenAI, xAI and Anthropic share this shape).
pub(crate) fn model_ids(answer: &Value) -> Vec<String> {
    answer
        .get("data")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect()
}
