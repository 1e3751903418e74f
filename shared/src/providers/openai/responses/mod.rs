//! The OpenAI Responses API (`POST /v1/responses`) as a client format: passed through to OpenAI's own
//! `/v1/responses` (body forwarded with the plan's model; JSON, or SSE with the Responses event grammar),
//! and parsed into / written from the neutral form for every other provider.

pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod stream;

pub use request::stateful_field;

use super::super::client::Call;
use super::super::sse::drive;
use super::super::translate;
use super::super::{AnswerBody, AttemptPlan, ChatOutcome, Completed, ProviderError, Streamed};

const RESPONSES: &str = "/v1/responses";

/// A Responses request to OpenAI itself: the body as the caller sent it but for `model` (and `stream`,
/// which the plan decides).
pub(crate) async fn passthrough(
    call: Call<'_>,
    plan: &AttemptPlan<'_>,
) -> Result<ChatOutcome, ProviderError> {
    let mut upstream = translate::passthrough_body(plan);
    if plan.stream {
        upstream.set("stream", true);
    } else {
        upstream.remove("stream");
    }
    let response_model = plan.qualified_model();
    if plan.stream {
        let (bytes, headers) = call.post_stream(RESPONSES, &upstream).await?;
        let decoder = stream::Passthrough::new(call.provider, call.key.clone(), &response_model);
        let events = drive(call.provider, bytes, decoder, call.timeout);
        return Ok(ChatOutcome::Stream(Streamed { events, headers }));
    }
    let (answer, headers) = call.post_answer(RESPONSES, &upstream).await?;
    let mut answer = AnswerBody::passed(answer);
    let usage = response::usage(
        answer
            .field_mut("usage")
            .map_or(&serde_json::Value::Null, |u| &*u),
    );
    answer.set("model", response_model.into());
    Ok(ChatOutcome::Complete(Completed {
        body: answer,
        usage,
        headers,
    }))
}
