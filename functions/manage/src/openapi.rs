//! The function's part of the OpenAPI document (merged by `byok serve` into `/openapi.json`).

use byok_shared::domain::permissions::Permissions;
use byok_shared::domain::usage::Resolution;
use byok_shared::repo::usage::UsageRow;
use chrono::{DateTime, Utc};
use utoipa::{OpenApi, ToSchema};

/// `POST /v1/manage/apikey`'s answer.
#[derive(ToSchema)]
#[allow(dead_code)] // schemas only: the handlers build these bodies with `json!`
pub struct CreatedKey {
    api_key_id: String,
    /// `bgk_` + 64 hex characters; shown only this once.
    api_key: String,
}

/// A gateway API key as shown (never its secret).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ApiKeyView {
    api_key_id: String,
    name: String,
    permissions: Permissions,
    /// USD per month; 0 is unlimited.
    monthly_limit: f64,
    /// USD spent this month (UTC).
    monthly_spend: f64,
    allowed_models: Vec<String>,
    expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    /// The api_key_id that created it (none for the bootstrap key).
    created_by: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ApiKeyList {
    #[schema(example = "list")]
    object: String,
    data: Vec<ApiKeyView>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct OrgView {
    org_id: String,
    name: String,
    created_at: DateTime<Utc>,
    monthly_spend: f64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UsageReport {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    resolution: Resolution,
    data: Vec<UsageRow>,
}

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::org::get_org,
        crate::usage::org_usage,
        crate::apikeys::create,
        crate::apikeys::list,
        crate::apikeys::get_one,
        crate::apikeys::delete,
        crate::apikeys::set_limit,
        crate::usage::key_usage,
    ),
    tags((name = "manage", description = "Gateway API keys, limits, the organisation and usage"))
)]
pub struct ApiDoc;
