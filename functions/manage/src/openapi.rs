//! Response schemas of the function's part of the OpenAPI document: the handlers build these bodies with
//! `json!`, so these types exist for the document only (public, as a description of the wire format).

use byok_shared::domain::permissions::Permissions;
use byok_shared::domain::usage::Resolution;
use byok_shared::repo::usage::UsageRow;
use chrono::{DateTime, Utc};
use utoipa::{OpenApi, ToSchema};

/// `POST /v1/manage/apikey`'s answer.
#[derive(ToSchema)]
pub struct CreatedKey {
    pub api_key_id: String,
    /// `bgk_` + 64 hex characters; shown only this once.
    pub api_key: String,
}

/// A gateway API key as shown (never its secret).
#[derive(ToSchema)]
pub struct ApiKeyView {
    pub api_key_id: String,
    pub name: String,
    pub permissions: Permissions,
    /// USD per month; 0 is unlimited.
    pub monthly_limit: f64,
    /// USD spent this month (UTC).
    pub monthly_spend: f64,
    pub allowed_models: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The api_key_id that created it (none for the bootstrap key).
    pub created_by: Option<String>,
}

#[derive(ToSchema)]
pub struct ApiKeyList {
    #[schema(example = "list")]
    pub object: String,
    pub data: Vec<ApiKeyView>,
}

#[derive(ToSchema)]
pub struct OrgView {
    pub org_id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub monthly_spend: f64,
}

#[derive(ToSchema)]
pub struct UsageReport {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub resolution: Resolution,
    pub data: Vec<UsageRow>,
}

#[derive(OpenApi)]
#[openapi(tags((name = "manage", description = "Gateway API keys, limits, the organisation and usage")))]
struct Tags;

/// The document the function's routes are added to: its tag, described.
pub fn tags() -> utoipa::openapi::OpenApi {
    Tags::openapi()
}
