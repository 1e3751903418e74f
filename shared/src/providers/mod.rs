//! Provider adapters: one HTTP client for every provider, and translation between the gateway's two client
//! formats (OpenAI chat completions, Anthropic messages) and each provider's wire format, both ways,
//! streaming included.
//!
//! # Interface (used by the routing engine)
//!
//! * [`ProviderClient::new`] once per process: a pooled `reqwest` client (rustls, connect timeout, idle pool)
//!   plus the operator's [`ProviderUrls`]. Base URLs never come from a request.
//! * [`ProviderClient::chat`] runs one [`AttemptPlan`]: which provider and model, whether it streams, the
//!   client's format and body (gateway-only fields stripped; its own `model` is ignored, the plan's is sent)
//!   and the client headers a same-format passthrough forwards. The response's `model` field is
//!   `<provider>/<model>`. Returns [`ChatOutcome::Complete`] or, when `plan.stream`, [`ChatOutcome::Stream`].
//!   `timeout` bounds a whole non-streaming call; for a stream it bounds the wait for the response headers
//!   and, after that, the wait for each next event (a stalled stream fails with [`ErrorClass::Timeout`]).
//! * [`ProviderClient::embeddings`]: the plan's body in the OpenAI embeddings format; the answer is in that
//!   format too.
//! * [`ProviderClient::list_models`]: a free call, used to verify a key.
//!
//! When the client format equals the provider's own (OpenAI or xAI behind `/v1/chat/completions`, Anthropic
//! behind `/v1/messages`) the request and the response pass through unchanged except `model` (and, for
//! OpenAI-format streams, `stream_options.include_usage`, which is always requested upstream so usage can be
//! billed). Otherwise both sides go through the neutral form in [`ir`].
//!
//! # Streams
//!
//! [`StreamEvent`]s are in the client's format, not yet SSE-encoded. The router encodes them (adding
//! `usage.cost`, and `data: [DONE]` for OpenAI) and holds the stream back until the first event with
//! `is_content` set (every event that carries text, reasoning or a tool call has it set; role-only chunks,
//! `message_start`, `content_block_start`, `ping` do not). Exactly one event carries `usage`: for OpenAI, the
//! `choices: []` usage chunk when the caller asked for `stream_options.include_usage`, else the chunk with the
//! `finish_reason`; for Anthropic, `message_delta`. A stream that ends without its provider's terminator
//! (`[DONE]`/`finish_reason`, `message_stop`, a Gemini `finishReason`) ends with an `Err` item of class
//! [`ErrorClass::Server`], never silently. Upstream error events become `Err` items too.
//!
//! # Usage
//!
//! [`Usage::input_tokens`] counts every prompt token, cached ones included ([`Usage::cached_tokens`] is the
//! part read from the provider's prompt cache, [`Usage::cache_write_tokens`] the part written to it: Anthropic's
//! `cache_creation_input_tokens`; OpenAI and Gemini cache implicitly and report reads only); [`Usage::output_tokens`] counts every generated token, reasoning included
//! ([`Usage::reasoning_tokens`] is the reasoning part). Anthropic's separate cache-read and cache-write counts
//! and Gemini's separate `thoughtsTokenCount` are folded into these.
//!
//! # Limits
//!
//! A JSON body larger than [`MAX_JSON_BODY`] and an SSE event larger than [`MAX_SSE_EVENT`] fail with
//! [`ErrorClass::Server`], so a hostile provider cannot exhaust memory.

mod answer;
mod anthropic;
mod body;
mod client;
mod count;
mod edited;
mod endpoint;
mod error;
mod google;
pub mod ir;
mod openai;
#[cfg(test)]
mod response_props;
mod sse;
#[cfg(test)]
mod stream_props;
mod translate;
mod vocab;
mod xai;

use std::pin::Pin;

use futures::Stream;
use serde_json::Value;

pub use crate::config::ProviderUrls;
use crate::domain::provider::Provider;
pub use answer::AnswerBody;
pub use anthropic::cache as anthropic_cache;
pub use body::RequestBody;
pub use client::{ProviderClient, use_own_pool};
pub use count::{CountPlan, Counted, estimate as estimate_input_tokens, text_tokens};
pub use error::{ErrorClass, ProviderError};
pub use openai::responses::stateful_field as responses_stateful_field;

/// Largest JSON response body read from a provider.
pub const MAX_JSON_BODY: usize = 32 * 1024 * 1024;
/// Largest single SSE event (and line) read from a provider.
pub const MAX_SSE_EVENT: usize = 1024 * 1024;

/// The format the gateway's caller used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientFormat {
    /// `POST /v1/chat/completions`.
    OpenAi,
    /// `POST /v1/messages`.
    Anthropic,
    /// `POST /v1/responses` (OpenAI's Responses API).
    Responses,
}

/// One upstream call, fully decided by the engine: nothing of it is read back from the body.
#[derive(Debug, Clone, Copy)]
pub struct AttemptPlan<'a> {
    pub provider: Provider,
    /// The model id as the provider knows it (no `provider/` prefix).
    pub model: &'a str,
    pub stream: bool,
    /// The caller's format (embeddings: always OpenAI).
    pub format: ClientFormat,
    /// The caller's body, gateway-only fields stripped. Its `model` is the caller's and is replaced.
    pub body: &'a RequestBody,
    pub headers: &'a ClientHeaders,
    /// Place prompt-cache breakpoints where the provider needs them (Anthropic; see
    /// `anthropic::cache`). OpenAI, xAI and Gemini cache on their own.
    pub auto_cache: bool,
}

impl AttemptPlan<'_> {
    /// `<provider>/<model>`, as written into the response's `model`.
    pub fn qualified_model(&self) -> String {
        format!("{}/{}", self.provider, self.model)
    }

    /// The caller speaks this provider's own format, so request and answer pass through unchanged but
    /// for `model`.
    pub(crate) fn is_passthrough(&self) -> bool {
        matches!(
            (self.format, self.provider),
            (ClientFormat::OpenAi, Provider::OpenAi | Provider::Xai)
                | (ClientFormat::Anthropic, Provider::Anthropic)
                | (ClientFormat::Responses, Provider::OpenAi)
        )
    }
}

/// Client request headers that a same-format passthrough forwards (Anthropic's version and betas): a beta
/// body field is refused by Anthropic unless its beta is named. Values are checked where they are read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientHeaders {
    pub anthropic_version: Option<String>,
    pub anthropic_beta: Option<String>,
}

/// Provider response headers that clients read (Anthropic's `request-id` and rate-limit headers), passed on
/// to the caller of a same-format passthrough.
pub type ForwardedHeaders = Vec<(String, String)>;

/// What a chat call produced.
pub enum ChatOutcome {
    Complete(Completed),
    Stream(Streamed),
}

/// A streamed answer: its events, and the provider headers to pass on.
pub struct Streamed {
    pub events: EventStream,
    pub headers: ForwardedHeaders,
}

impl std::fmt::Debug for ChatOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChatOutcome::Complete(c) => f.debug_tuple("Complete").field(c).finish(),
            ChatOutcome::Stream(_) => f.write_str("Stream(..)"),
        }
    }
}

/// A whole answer in the client's format, its token usage, and the provider headers to pass on.
#[derive(Debug, Clone, PartialEq)]
pub struct Completed {
    pub body: AnswerBody,
    pub usage: Usage,
    pub headers: ForwardedHeaders,
}

/// The events of a streamed answer, in the client's format.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, ProviderError>> + Send>>;

/// One SSE event in the CLIENT's format, not yet encoded: `event` is `None` for OpenAI `data:` chunks,
/// `Some("content_block_delta")` etc. for Anthropic.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEvent {
    pub event: Option<&'static str>,
    pub data: Value,
    /// Carries content: text, reasoning or a tool call.
    pub is_content: bool,
    /// Set on the one event that carries the final usage.
    pub usage: Option<Usage>,
}

impl StreamEvent {
    pub(crate) fn new(event: Option<&'static str>, data: Value) -> Self {
        Self {
            event,
            data,
            is_content: false,
            usage: None,
        }
    }

    pub(crate) fn content(mut self) -> Self {
        self.is_content = true;
        self
    }

    pub(crate) fn with_usage(mut self, usage: Usage) -> Self {
        self.usage = Some(usage);
        self
    }
}

/// Token counts of one call; see the module notes for what each counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    /// Prompt tokens written to the provider's cache (part of `input_tokens`, billed at the cache-write price).
    pub cache_write_tokens: u64,
}
