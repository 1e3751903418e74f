//! The function's part of the OpenAPI document (merged by `byok serve` into `/openapi.json`).

use std::collections::BTreeMap;

use byok_shared::domain::permissions::Permissions;
use byok_shared::domain::usage::Resolution;
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

/// Who created a key (Requesty's shape; here always another key of the org).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CreatedBy {
    id: String,
    email: Option<String>,
}

/// A gateway API key as shown (never its secret): Requesty's fields, then ours.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ApiKeyView {
    /// The key's id (`key_...`).
    id: String,
    name: String,
    /// Always false: the gateway never logs requests or answers.
    logging: bool,
    /// USD per month; 0 is unlimited.
    monthly_limit: f64,
    /// USD spent this month (UTC).
    monthly_spend: f64,
    permissions: Permissions,
    labels: BTreeMap<String, String>,
    /// None for the org's first key.
    created_by: Option<CreatedBy>,
    /// The same as `id`.
    api_key_id: String,
    allowed_models: Vec<String>,
    default_model: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ApiKeyList {
    keys: Vec<ApiKeyView>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct OrgView {
    /// The org's id (Requesty's field).
    id: String,
    name: String,
    /// Always null: a self-hosted gateway holds no prepaid balance.
    balance: Option<f64>,
    org_id: String,
    created_at: DateTime<Utc>,
    monthly_spend: f64,
}

/// One period's usage (also each entry of `groups`, with the dimension values beside the totals).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UsageEntry {
    /// USD.
    spend: f64,
    requests: i64,
    errors: i64,
    input_tokens: i64,
    output_tokens: i64,
    cached_tokens: i64,
    reasoning_tokens: i64,
    /// Requests whose model had no price (not counted in `spend`).
    unpriced_requests: i64,
    /// With `group_by`: one entry per combination of the dimensions' values.
    #[schema(value_type = Option<Vec<Object>>)]
    groups: Option<Vec<serde_json::Value>>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UsageReport {
    /// Period start (RFC 3339) → usage; periods without usage are left out.
    usage: BTreeMap<String, UsageEntry>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    resolution: Resolution,
}

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::org::get_org,
        crate::usage::org_usage,
        crate::apikeys::create,
        crate::apikeys::create_put,
        crate::apikeys::list,
        crate::apikeys::get_one,
        crate::apikeys::patch,
        crate::apikeys::delete,
        crate::apikeys::set_limit,
        crate::usage::key_usage,
    ),
    tags((name = "manage", description = "Gateway API keys, limits, the organisation and usage"))
)]
pub struct ApiDoc;
