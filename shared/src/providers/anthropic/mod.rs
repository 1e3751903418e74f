//! Anthropic adapter: `POST /v1/messages` with `x-api-key` and `anthropic-version` (JSON, and SSE events
//! `message_start`, `content_block_start|delta|stop` for text, thinking and tool_use `input_json_delta`,
//! `message_delta` with usage, `message_stop`, `ping`, `error`), and `GET /v1/models`.

pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod stream;

use serde_json::Value;

use super::client::{Call, wants_stream};
use super::sse::drive;
use super::translate::{self, Translator};
use super::{ChatOutcome, ClientFormat, ProviderError};

pub(crate) const VERSION: &str = "2023-06-01";
const MESSAGES: &str = "/v1/messages";

pub(crate) async fn chat(
    call: Call<'_>,
    format: ClientFormat,
    body: &Value,
    response_model: &str,
) -> Result<ChatOutcome, ProviderError> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let stream = wants_stream(body);
    let passthrough = format == ClientFormat::Anthropic;
    let (upstream, include_usage) = if passthrough {
        (body.clone(), false)
    } else {
        let req = translate::parse_request(format, body)?;
        (request::emit(&req, model), req.include_usage)
    };
    if stream {
        let bytes = call.post_stream(MESSAGES, &upstream).await?;
        let key = call.key.clone();
        let events = if passthrough {
            drive(
                call.provider,
                bytes,
                stream::Passthrough::new(key, response_model),
                call.timeout,
            )
        } else {
            let t = Translator {
                provider: call.provider,
                source: stream::Source::new(key),
                encoder: translate::encoder(format, response_model, include_usage),
            };
            drive(call.provider, bytes, t, call.timeout)
        };
        return Ok(ChatOutcome::Stream(events));
    }
    let answer = call.post_json(MESSAGES, &upstream).await?;
    let reader = translate::Reader {
        usage: response::usage,
        parse: response::parse,
    };
    translate::complete(answer, passthrough, format, response_model, reader)
}

pub(crate) async fn list_models(call: Call<'_>) -> Result<Vec<String>, ProviderError> {
    let answer = call.get_json("/v1/models?limit=1000").await?;
    Ok(super::openai::model_ids(&answer))
}
