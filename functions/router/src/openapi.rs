//! Schemas of the function's part of the OpenAPI document, for the document only (public, as a description
//! of the wire format). Inference bodies are the providers' own formats, taken as JSON values and forwarded
//! after the gateway's fields are read and stripped (`request::parse`), so only what the gateway itself
//! reads is spelled out; other fields pass through. The other answers are built with `json!`.

use byok_shared::domain::provider::Provider;
use chrono::{DateTime, Utc};
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};

/// `{"byok": {...}}`: the gateway's own metadata, sent through the SDK's extra-body option; removed
/// before the request is forwarded.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Extension {
    pub tags: Option<Vec<String>>,
    /// Sticky key and usage dimension (default: OpenAI's `user` / Anthropic's `metadata.user_id`).
    #[schema(max_length = 256)]
    pub user_id: Option<String>,
    #[schema(max_length = 256)]
    pub trace_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub extra: Option<Value>,
    /// Place Anthropic prompt-cache breakpoints (Requesty's `auto_cache`); default: the key's, else the
    /// org's, else off.
    pub auto_cache: Option<bool>,
}

/// An OpenAI chat completion request (all of OpenAI's fields are accepted and forwarded).
#[derive(ToSchema)]
pub struct ChatRequest {
    /// `<provider>/<model>` or `policy/<name>`.
    #[schema(example = "openai/gpt-4.1-mini")]
    pub model: String,
    #[schema(value_type = Vec<Object>, example = json!([{"role": "user", "content": "Hello"}]))]
    pub messages: Vec<Value>,
    pub stream: Option<bool>,
    #[schema(value_type = Option<Object>)]
    pub stream_options: Option<Value>,
    /// Requesty's and OpenAI's effort levels, or a thinking budget in tokens as a string of digits; mapped
    /// to each provider's own field (docs/requesty.md). Anything else is a 400.
    #[schema(pattern = "^(none|min|minimal|low|medium|high|xhigh|max|[0-9]{1,9})$")]
    pub reasoning_effort: Option<String>,
    pub byok: Option<Extension>,
}

/// An Anthropic messages request (all of Anthropic's fields are accepted and forwarded).
#[derive(ToSchema)]
pub struct MessagesRequest {
    /// `<provider>/<model>` or `policy/<name>`.
    #[schema(example = "anthropic/claude-sonnet-4-5")]
    pub model: String,
    #[schema(example = 256)]
    pub max_tokens: u32,
    #[schema(value_type = Vec<Object>, example = json!([{"role": "user", "content": "Hello"}]))]
    pub messages: Vec<Value>,
    pub stream: Option<bool>,
    pub byok: Option<Extension>,
}

/// An Anthropic count_tokens request: a messages request without `max_tokens` (all of Anthropic's fields are
/// accepted and forwarded).
#[derive(ToSchema)]
pub struct CountTokensRequest {
    /// `<provider>/<model>` or `policy/<name>`.
    #[schema(example = "anthropic/claude-sonnet-4-5")]
    pub model: String,
    #[schema(value_type = Vec<Object>, example = json!([{"role": "user", "content": "Hello"}]))]
    pub messages: Vec<Value>,
    #[schema(value_type = Option<Object>)]
    pub system: Option<Value>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub tools: Option<Vec<Value>>,
    pub byok: Option<Extension>,
}

/// An OpenAI Responses API request (all of OpenAI's fields are accepted; forwarded to OpenAI, translated
/// for other providers; `previous_response_id`, `conversation`, `store: true`, `background`, `prompt` and
/// built-in tools are refused with 400 when the route may leave OpenAI).
#[derive(ToSchema)]
pub struct ResponsesRequest {
    /// `<provider>/<model>` or `policy/<name>`.
    #[schema(example = "openai/gpt-4.1-mini")]
    pub model: String,
    /// A string, or an array of input items (messages, `function_call`, `function_call_output`, `reasoning`).
    #[schema(value_type = Object, example = "Hello")]
    pub input: Value,
    pub instructions: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub tools: Option<Vec<Value>>,
    pub max_output_tokens: Option<u64>,
    pub stream: Option<bool>,
    pub byok: Option<Extension>,
}

/// Responses API token counts and the cost of the request in USD (`null` when the model has no known price).
#[derive(ToSchema)]
pub struct ResponseUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    pub cost: Option<f64>,
}

/// An OpenAI Responses API `response` object.
#[derive(ToSchema)]
pub struct ResponseObject {
    pub id: String,
    #[schema(example = "response")]
    pub object: String,
    /// `completed` or `incomplete`.
    pub status: String,
    /// The model that answered.
    pub model: String,
    #[schema(value_type = Vec<Object>)]
    pub output: Vec<Value>,
    pub usage: Option<ResponseUsage>,
}

/// Anthropic's count_tokens answer.
#[derive(ToSchema)]
pub struct TokenCount {
    pub input_tokens: u64,
}

/// An OpenAI embeddings request.
#[derive(ToSchema)]
pub struct EmbeddingsRequest {
    #[schema(example = "openai/text-embedding-3-small")]
    pub model: String,
    /// A string or an array of strings.
    #[schema(value_type = Object, example = "Hello")]
    pub input: Value,
    pub byok: Option<Extension>,
}

/// Token counts and the cost of the request in USD (`null` when the model has no known price).
#[derive(ToSchema)]
pub struct Usage {
    pub cost: Option<f64>,
}

/// An OpenAI chat completion.
#[derive(ToSchema)]
pub struct ChatCompletion {
    pub id: String,
    #[schema(example = "chat.completion")]
    pub object: String,
    /// The model that answered.
    pub model: String,
    #[schema(value_type = Vec<Object>)]
    pub choices: Vec<Value>,
    pub usage: Option<Usage>,
}

/// An Anthropic message.
#[derive(ToSchema)]
pub struct Message {
    pub id: String,
    #[schema(example = "message")]
    #[schema(rename = "type")]
    pub kind: String,
    pub role: String,
    pub model: String,
    #[schema(value_type = Vec<Object>)]
    pub content: Vec<Value>,
    pub usage: Option<Usage>,
}

#[derive(ToSchema)]
pub struct Embeddings {
    #[schema(example = "list")]
    pub object: String,
    #[schema(value_type = Vec<Object>)]
    pub data: Vec<Value>,
    pub model: String,
    pub usage: Option<Usage>,
}

#[derive(ToSchema)]
pub struct ModelEntry {
    /// `<provider>/<model>` or `policy/<name>`.
    pub id: String,
    #[schema(example = "model")]
    pub object: String,
    pub created: i64,
    pub owned_by: String,
    pub context_window: Option<u64>,
    /// e.g. `tools`, `vision`, `json_schema`, `reasoning`.
    pub capabilities: Option<Vec<String>>,
    /// The operator's price (USD per million tokens: `input`, `output`, `cache_read`, `cache_write`; USD
    /// `per_request`), as billed; null when the model has none.
    #[schema(value_type = Option<Object>)]
    pub pricing: Option<Value>,
}

/// One server-sent event of a streamed answer, as the provider's format defines it: `data` is a JSON
/// chunk (OpenAI: ending with `[DONE]`; Anthropic: named by `event`); after a failure the last event is
/// an error in that format.
#[derive(ToSchema)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
    pub id: Option<String>,
    pub retry: Option<u64>,
}

/// The outcome of verifying a stored key.
#[derive(ToSchema)]
pub struct Verified {
    pub provider: Provider,
    pub valid: bool,
    /// The provider's reason when it rejected the key.
    pub error: Option<String>,
    /// How many models the key can list.
    pub models: u64,
    pub verified_at: DateTime<Utc>,
}

#[derive(OpenApi)]
#[openapi(tags((name = "inference", description = "What apps call (needs the key's completions permission)")))]
struct Tags;

/// The document the function's routes are added to: its tag, described.
pub fn tags() -> utoipa::openapi::OpenApi {
    Tags::openapi()
}
