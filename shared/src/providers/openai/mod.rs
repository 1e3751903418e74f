//! OpenAI adapter (also used for xAI, which speaks the same API): `POST /v1/chat/completions` (JSON and SSE
//! `data:` chunks ending `[DONE]`), `POST /v1/embeddings`, `GET /v1/models`, with `Authorization: Bearer`.

pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod stream;

use serde_json::{Value, json};

use self::request::Flavour;
use super::client::{Call, wants_stream};
use super::sse::drive;
use super::translate::{self, Translator};
use super::{ChatOutcome, ClientFormat, Completed, ProviderError, Usage};
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
    format: ClientFormat,
    body: &Value,
    response_model: &str,
) -> Result<ChatOutcome, ProviderError> {
    let flavour = flavour(call.provider);
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let stream = wants_stream(body);
    let passthrough = format == ClientFormat::OpenAi;
    let (mut upstream, include_usage) = if passthrough {
        let include_usage = body
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        (body.clone(), include_usage)
    } else {
        let req = translate::parse_request(format, body)?;
        (request::emit(&req, model, flavour), req.include_usage)
    };
    if flavour == Flavour::Xai {
        super::xai::adapt(&mut upstream);
    }
    if stream {
        if let Some(obj) = upstream.as_object_mut() {
            obj.insert("stream_options".into(), json!({"include_usage": true}));
        }
        let bytes = call.post_stream(CHAT, &upstream).await?;
        let key = call.key.clone();
        let events = if passthrough {
            drive(
                call.provider,
                bytes,
                stream::Passthrough::new(call.provider, key, response_model, include_usage),
                call.timeout,
            )
        } else {
            let t = Translator {
                provider: call.provider,
                source: stream::Source::new(call.provider, key),
                encoder: translate::encoder(format, response_model, include_usage),
            };
            drive(call.provider, bytes, t, call.timeout)
        };
        return Ok(ChatOutcome::Stream(events));
    }
    let answer = call.post_json(CHAT, &upstream).await?;
    let reader = translate::Reader {
        usage: response::usage,
        parse: response::parse,
    };
    translate::complete(answer, passthrough, format, response_model, reader)
}

pub(crate) async fn embeddings(
    call: Call<'_>,
    body: &Value,
    response_model: &str,
) -> Result<Completed, ProviderError> {
    let mut answer = call.post_json("/v1/embeddings", body).await?;
    let input = answer
        .pointer("/usage/prompt_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if let Some(obj) = answer.as_object_mut() {
        obj.insert("model".into(), response_model.into());
    }
    Ok(Completed {
        body: answer,
        usage: Usage {
            input_tokens: input,
            ..Usage::default()
        },
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
