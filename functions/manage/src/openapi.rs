//! Response schemas of the function's part of the OpenAPI document: the handlers build these bodies with
//! `json!`, so these types exist for the document only (public, as a description of the wire format).

use std::collections::BTreeMap;

use byok_shared::domain::permissions::Permissions;
use byok_shared::domain::usage::Resolution;
use chrono::{DateTime, Utc};
use utoipa::{OpenApi, ToSchema};

/// `POST /v1/manage/apikey`'s answer.
#[derive(ToSchema)]
pub struct CreatedKey {
    pub api_key_id: String,
    /// `bgk_` + 64 hex characters; shown only this once.
    pub api_key: String,
}

/// Who created a key (Requesty's shape; here always another key of the org).
#[derive(ToSchema)]
pub struct CreatedBy {
    pub id: String,
    pub email: Option<String>,
}

/// A gateway API key as shown (never its secret): Requesty's fields, then ours.
#[derive(ToSchema)]
pub struct ApiKeyView {
    /// The key's id (`key_...`).
    pub id: String,
    pub name: String,
    /// Whether the request log captures this key's request and response bodies (encrypted, first 32 KiB each).
    pub logging: bool,
    /// USD per month; 0 is unlimited.
    pub monthly_limit: f64,
    /// USD spent this month (UTC).
    pub monthly_spend: f64,
    pub permissions: Permissions,
    pub labels: BTreeMap<String, String>,
    /// None for the org's first key.
    pub created_by: Option<CreatedBy>,
    /// The same as `id`.
    pub api_key_id: String,
    pub allowed_models: Vec<String>,
    pub default_model: Option<String>,
    /// Auto caching for requests that do not set `requesty.auto_cache`; `null`: off.
    pub auto_cache: Option<bool>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// Requests per minute; null: no limit.
    pub rpm: Option<u32>,
    /// Tokens (input + output) per minute; null: no limit.
    pub tpm: Option<u64>,
}

#[derive(ToSchema)]
pub struct ApiKeyList {
    pub keys: Vec<ApiKeyView>,
}

#[derive(ToSchema)]
pub struct OrgView {
    /// The org's id (Requesty's field).
    pub id: String,
    pub name: String,
    /// Always null: a self-hosted gateway holds no prepaid balance.
    pub balance: Option<f64>,
    pub org_id: String,
    pub created_at: DateTime<Utc>,
    pub monthly_spend: f64,
    /// Auto caching for requests whose request and key do not set it; `null`: off.
    pub auto_cache: Option<bool>,
    /// The part of `monthly_spend` on the org's own provider keys.
    pub monthly_spend_own: f64,
    /// The part of `monthly_spend` on the operator's platform keys.
    pub monthly_spend_platform: f64,
    pub platform_keys: PlatformKeysView,
}

/// Whether the org may use the operator's platform keys, and its monthly limit on them (0: none).
#[derive(ToSchema)]
pub struct PlatformKeysView {
    pub enabled: bool,
    /// USD per calendar month (UTC); 0 means no limit of its own.
    pub monthly_limit: f64,
}

/// One period's usage (also each entry of `groups`, with the dimension values beside the totals).
#[derive(ToSchema)]
pub struct UsageEntry {
    /// USD.
    pub spend: f64,
    /// USD, the part of `spend` on the org's own provider keys.
    pub own_spend: f64,
    /// USD, the part of `spend` on the operator's platform keys.
    pub platform_spend: f64,
    pub requests: i64,
    pub errors: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// Input tokens read from the provider's prompt cache (part of `input_tokens`).
    pub cached_tokens: i64,
    pub reasoning_tokens: i64,
    /// Input tokens written to the provider's prompt cache (part of `input_tokens`).
    pub cache_write_tokens: i64,
    /// Requests whose model had no price (not counted in `spend`).
    pub unpriced_requests: i64,
    /// With `group_by`: one entry per combination of the dimensions' values.
    #[schema(value_type = Option<Vec<Object>>)]
    pub groups: Option<Vec<serde_json::Value>>,
}

#[derive(ToSchema)]
pub struct UsageReport {
    /// Period start (RFC 3339) → usage; periods without usage are left out.
    pub usage: BTreeMap<String, UsageEntry>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub resolution: Resolution,
}

#[derive(OpenApi)]
#[openapi(tags((name = "manage", description = "Gateway API keys, limits, the organisation and usage")))]
struct Tags;

/// The document the function's routes are added to: its tag, described.
pub fn tags() -> utoipa::openapi::OpenApi {
    Tags::openapi()
}
