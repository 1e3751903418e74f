//! The function's part of the OpenAPI document (merged by `byok serve` into `/openapi.json`). Inference
//! bodies are the providers' own formats, forwarded after the gateway's fields are read and stripped
//! (`request::parse`), so only what the gateway itself reads is spelled out; other fields pass through.

use byok_shared::domain::provider::Provider;
use chrono::{DateTime, Utc};
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};

/// `{"byok": {...}}`: the gateway's own metadata, sent through the SDK's extra-body option; removed
/// before the request is forwarded.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // schemas only
pub struct Extension {
    tags: Option<Vec<String>>,
    /// Sticky key and usage dimension (default: OpenAI's `user` / Anthropic's `metadata.user_id`).
    #[schema(max_length = 256)]
    user_id: Option<String>,
    #[schema(max_length = 256)]
    trace_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    extra: Option<Value>,
}

/// An OpenAI chat completion request (all of OpenAI's fields are accepted and forwarded).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ChatRequest {
    /// `<provider>/<model>` or `policy/<name>`.
    #[schema(example = "openai/gpt-4.1-mini")]
    model: String,
    #[schema(value_type = Vec<Object>, example = json!([{"role": "user", "content": "Hello"}]))]
    messages: Vec<Value>,
    stream: Option<bool>,
    #[schema(value_type = Option<Object>)]
    stream_options: Option<Value>,
    byok: Option<Extension>,
}

/// An Anthropic messages request (all of Anthropic's fields are accepted and forwarded).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MessagesRequest {
    /// `<provider>/<model>` or `policy/<name>`.
    #[schema(example = "anthropic/claude-sonnet-4-5")]
    model: String,
    #[schema(example = 256)]
    max_tokens: u32,
    #[schema(value_type = Vec<Object>, example = json!([{"role": "user", "content": "Hello"}]))]
    messages: Vec<Value>,
    stream: Option<bool>,
    byok: Option<Extension>,
}

/// An OpenAI embeddings request.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EmbeddingsRequest {
    #[schema(example = "openai/text-embedding-3-small")]
    model: String,
    /// A string or an array of strings.
    #[schema(value_type = Object, example = "Hello")]
    input: Value,
    byok: Option<Extension>,
}

/// Token counts and the cost of the request in USD (`null` when the model has no known price).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Usage {
    cost: Option<f64>,
}

/// An OpenAI chat completion.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ChatCompletion {
    id: String,
    #[schema(example = "chat.completion")]
    object: String,
    /// The model that answered.
    model: String,
    #[schema(value_type = Vec<Object>)]
    choices: Vec<Value>,
    usage: Option<Usage>,
}

/// An Anthropic message.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Message {
    id: String,
    #[schema(example = "message")]
    #[schema(rename = "type")]
    kind: String,
    role: String,
    model: String,
    #[schema(value_type = Vec<Object>)]
    content: Vec<Value>,
    usage: Option<Usage>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Embeddings {
    #[schema(example = "list")]
    object: String,
    #[schema(value_type = Vec<Object>)]
    data: Vec<Value>,
    model: String,
    usage: Option<Usage>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ModelEntry {
    /// `<provider>/<model>` or `policy/<name>`.
    id: String,
    #[schema(example = "model")]
    object: String,
    created: i64,
    owned_by: String,
    context_window: Option<u64>,
    /// e.g. `tools`, `vision`, `json_schema`, `reasoning`.
    capabilities: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    pricing: Option<Value>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ModelList {
    #[schema(example = "list")]
    object: String,
    data: Vec<ModelEntry>,
}

/// One server-sent event of a streamed answer, as the provider's format defines it: `data` is a JSON
/// chunk (OpenAI: ending with `[DONE]`; Anthropic: named by `event`); after a failure the last event is
/// an error in that format.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SseEvent {
    event: Option<String>,
    data: String,
    id: Option<String>,
    retry: Option<u64>,
}

/// The outcome of verifying a stored key.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Verified {
    provider: Provider,
    valid: bool,
    /// The provider's reason when it rejected the key.
    error: Option<String>,
    /// How many models the key can list.
    models: u64,
    verified_at: DateTime<Utc>,
}

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::chat::openai,
        crate::chat::anthropic,
        crate::embeddings::embeddings,
        crate::models::list,
        crate::verify::verify,
    ),
    tags((name = "inference", description = "What apps call (needs the key's completions permission)"))
)]
pub struct ApiDoc;
