//! Anthropic adapter: `POST /v1/messages` with `x-api-key` and `anthropic-version` (JSON, and SSE events
//! `message_start`, `content_block_start|delta|stop` for text, thinking and tool_use `input_json_delta`,
//! `message_delta` with usage, `message_stop`, `ping`, `error`), and `GET /v1/models`.

pub mod cache;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod stream;

use super::client::Call;
use super::edited::Edited;
use super::sse::drive;
use super::translate::{self, Translator};
use super::{AttemptPlan, ChatOutcome, ProviderError, Streamed};

pub(crate) const VERSION: &str = "2023-06-01";
const MESSAGES: &str = "/v1/messages";

pub(crate) async fn chat(
    call: Call<'_>,
    plan: &AttemptPlan<'_>,
) -> Result<ChatOutcome, ProviderError> {
    let passthrough = plan.is_passthrough();
    let (mut upstream, include_usage) = if passthrough {
        (translate::passthrough_body(plan), false)
    } else {
        let req = translate::parse_request(plan)?;
        (
            Edited::owned(request::emit(&req, plan.model)),
            req.include_usage,
        )
    };
    // A body with the client's own breakpoints (Claude Code's) is left as it is, so it is not copied for
    // `place`; the top-level edits (`model`) do not touch tools, system or messages.
    if plan.auto_cache && cache::breakpoints(upstream.unedited()) == 0 {
        cache::place(upstream.value_mut());
    }
    let response_model = plan.qualified_model();
    if plan.stream {
        upstream.set("stream", true);
        let (bytes, headers) = call.post_stream(MESSAGES, &upstream).await?;
        let key = call.key.clone();
        let events = if passthrough {
            drive(
                call.provider,
                bytes,
                stream::Passthrough::new(key, &response_model),
                call.timeout,
            )
        } else {
            let t = Translator {
                provider: call.provider,
                source: stream::Source::new(key),
                encoder: translate::encoder(plan, &response_model, include_usage),
            };
            drive(call.provider, bytes, t, call.timeout)
        };
        return Ok(ChatOutcome::Stream(Streamed { events, headers }));
    }
    let answer = call.post_answer(MESSAGES, &upstream).await?;
    let reader = translate::Reader {
        usage: response::usage,
        parse: response::parse,
    };
    translate::complete(answer, plan, reader)
}

pub(crate) async fn list_models(call: Call<'_>) -> Result<Vec<String>, ProviderError> {
    let answer = call.get_json("/v1/models?limit=1000").await?;
    Ok(super::openai::model_ids(&answer))
}
