//! Counting the input tokens of an Anthropic-format request without generating anything
//! (`POST /v1/messages/count_tokens`):
//!
//! * Anthropic: its own `POST /v1/messages/count_tokens`, the body passed through but for `model`, with the
//!   client's `anthropic-version` / `anthropic-beta` forwarded (beta body fields need their beta).
//! * Google: `models/{m}:countTokens` with the request translated through the neutral form as chat does,
//!   sent as a whole `generateContentRequest` (so the system instruction and tools are counted too).
//! * OpenAI and xAI have no counting endpoint for chat: the count is a local estimate with the `o200k_base`
//!   tokenizer (`tiktoken-rs` on our compressed copy of its vocabulary, `vocab`), plus OpenAI's documented
//!   per-message overhead. [`Counted::estimate`] is set.

use std::time::Duration;

use serde_json::{Value, json};

use super::client::Call;
use super::{ClientHeaders, ForwardedHeaders, ProviderClient, ProviderError};
use crate::domain::provider::Provider;
use crate::secret::Secret;

const ANTHROPIC_COUNT: &str = "/v1/messages/count_tokens";
/// Tokens OpenAI's chat format adds per message (role and delimiters), and to prime the reply.
const PER_MESSAGE: u64 = 3;
const REPLY_PRIMING: u64 = 3;
/// A rough per-image cost: OpenAI's fixed cost of a low-detail image.
const PER_IMAGE: u64 = 85;

/// One count, fully decided by the caller: the provider, its model id (no prefix), and the Anthropic-format
/// body (gateway-only fields stripped).
#[derive(Debug, Clone, Copy)]
pub struct CountPlan<'a> {
    pub provider: Provider,
    pub model: &'a str,
    pub body: &'a Value,
    pub headers: &'a ClientHeaders,
}

/// The count, whether it is a local estimate, and the provider headers to pass on.
#[derive(Debug, Clone, PartialEq)]
pub struct Counted {
    pub input_tokens: u64,
    pub estimate: bool,
    pub headers: ForwardedHeaders,
}

impl ProviderClient {
    /// The input tokens of `plan`'s request for its model; see the module notes.
    pub async fn count_tokens(
        &self,
        key: &Secret,
        plan: &CountPlan<'_>,
        timeout: Duration,
    ) -> Result<Counted, ProviderError> {
        let call = Call {
            client: self,
            provider: plan.provider,
            key,
            timeout,
            forward: (plan.provider == Provider::Anthropic).then_some(plan.headers),
        };
        match plan.provider {
            Provider::Anthropic => anthropic(call, plan).await,
            Provider::Google => google(call, plan).await,
            Provider::OpenAi | Provider::Xai => Ok(Counted {
                input_tokens: estimate(plan.body)?,
                estimate: true,
                headers: Vec::new(),
            }),
        }
    }
}

fn tokens_in(answer: &Value, field: &str, provider: Provider) -> Result<u64, ProviderError> {
    match answer.get(field) {
        Some(v) => v.as_u64(),
        // Gemini's JSON leaves out zero-valued fields.
        None if provider == Provider::Google && answer.is_object() => Some(0),
        None => None,
    }
    .ok_or_else(|| ProviderError::server(format!("{provider} sent no token count")))
}

async fn anthropic(call: Call<'_>, plan: &CountPlan<'_>) -> Result<Counted, ProviderError> {
    let mut body = plan.body.clone();
    if let Some(obj) = body.as_object_mut() {
        obj.insert("model".into(), plan.model.into());
    }
    let (answer, headers) = call.post_json(ANTHROPIC_COUNT, &body).await?;
    Ok(Counted {
        input_tokens: tokens_in(&answer, "input_tokens", call.provider)?,
        estimate: false,
        headers,
    })
}

async fn google(call: Call<'_>, plan: &CountPlan<'_>) -> Result<Counted, ProviderError> {
    let path = super::google::model_path(plan.model)?;
    let req = super::anthropic::request::parse(plan.body)?;
    let mut inner = super::google::request::emit(&req);
    if let Some(obj) = inner.as_object_mut() {
        obj.insert(
            "model".into(),
            path.trim_start_matches("/v1beta/").to_owned().into(),
        );
    }
    let (answer, headers) = call
        .post_json(
            &format!("{path}:countTokens"),
            &json!({"generateContentRequest": inner}),
        )
        .await?;
    Ok(Counted {
        input_tokens: tokens_in(&answer, "totalTokens", call.provider)?,
        estimate: false,
        headers,
    })
}

/// The o200k_base tokens of a text (what a stream sent, when its provider never said what it used).
pub fn text_tokens(text: &str) -> u64 {
    super::vocab::o200k().encode_ordinary(text).len() as u64
}

/// A local o200k_base count of an Anthropic-format request (an OpenAI-format one counts alike: its
/// messages' text and text parts): the text of the system prompt, every message
/// (text, tool calls' names and arguments, tool results) and the tool definitions.
pub fn estimate(body: &Value) -> Result<u64, ProviderError> {
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| ProviderError::caller("messages must be an array"))?;
    let bpe = super::vocab::o200k();
    let count = |text: &str| bpe.encode_ordinary(text).len() as u64;
    let mut total = REPLY_PRIMING;
    if let Some(system) = body.get("system") {
        total += PER_MESSAGE + content_tokens(system, &count);
    }
    for message in messages {
        total +=
            PER_MESSAGE + content_tokens(message.get("content").unwrap_or(&Value::Null), &count);
    }
    if let Some(tools) = body.get("tools").and_then(Value::as_array) {
        for tool in tools {
            total += count(&tool.to_string());
        }
    }
    Ok(total)
}

/// The tokens of a content value: a string, or an array of blocks.
fn content_tokens(content: &Value, count: &dyn Fn(&str) -> u64) -> u64 {
    match content {
        Value::String(s) => count(s),
        Value::Array(blocks) => blocks.iter().map(|b| block_tokens(b, count)).sum(),
        _ => 0,
    }
}

fn block_tokens(block: &Value, count: &dyn Fn(&str) -> u64) -> u64 {
    let text = |field: &str| block.get(field).and_then(Value::as_str).map_or(0, count);
    match block.get("type").and_then(Value::as_str) {
        Some("text") => text("text"),
        Some("thinking") => text("thinking"),
        Some("tool_use") => text("name") + block.get("input").map_or(0, |i| count(&i.to_string())),
        Some("tool_result") => block.get("content").map_or(0, |c| content_tokens(c, count)),
        Some("image") | Some("document") => PER_IMAGE,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_counts_system_messages_tools_and_overhead() {
        let bare = json!({"messages": [{"role": "user", "content": "Hello world"}]});
        // "Hello world" is two o200k tokens; 3 per message, 3 to prime the reply.
        assert_eq!(estimate(&bare).unwrap(), 2 + 3 + 3);
        let fuller = json!({
            "system": [{"type": "text", "text": "Hello world"}],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "Hello world"}]},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "get", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "Hello world"}]}
            ],
            "tools": [{"name": "get", "input_schema": {"type": "object"}}]
        });
        let n = estimate(&fuller).unwrap();
        assert!(n > estimate(&bare).unwrap() + 2 + 2 + 3 * 3, "{n}");
    }

    #[test]
    fn estimate_needs_messages() {
        let e = estimate(&json!({"system": "x"})).unwrap_err();
        assert_eq!(e.class, crate::providers::ErrorClass::CallerError);
    }
}
