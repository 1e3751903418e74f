//! The function's part of the OpenAPI document (merged by `byok serve` into `/openapi.json`). Documents
//! are read field by field by `parse_document` (to name the exact field in errors), so their schema is
//! spelled out here; the entries (`Step`, `Target`, ...) are the domain types themselves.

use byok_shared::domain::policy::{ErrorClass, KeyKind, PlannedAttempt, Step, Sticky, Target};
use byok_shared::repo::provider_keys::Actor;
use chrono::{DateTime, Utc};
use utoipa::{OpenApi, ToSchema};

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // schemas only
pub enum PolicyType {
    Fallback,
    LoadBalance,
}

/// A policy as submitted. `fallback` takes `steps`; `load_balance` takes `targets` (and `sticky`).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct PolicyDocument {
    /// Required on create; on update it may be given but must equal the path's.
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    name: Option<String>,
    #[schema(rename = "type")]
    kind: PolicyType,
    /// 1-16 steps, tried in order.
    steps: Option<Vec<Step>>,
    /// 1-16 weighted targets.
    targets: Option<Vec<Target>>,
    sticky: Option<Sticky>,
    /// The error classes that move on to the next entry (default: all).
    fallover_on: Option<Vec<ErrorClass>>,
    /// Total time budget of a request, 1-900000 ms.
    #[schema(minimum = 1, maximum = 900000)]
    deadline_ms: Option<u64>,
    /// Required on update: the version the policy was read at (stale: 409). Not allowed on create.
    #[schema(minimum = 1)]
    version: Option<u64>,
}

/// A stored policy.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PolicyView {
    #[schema(example = "policy")]
    object: String,
    name: String,
    #[schema(rename = "type")]
    kind: PolicyType,
    /// Present for `fallback`.
    steps: Option<Vec<Step>>,
    /// Present for `load_balance`.
    targets: Option<Vec<Target>>,
    sticky: Option<Sticky>,
    /// The effective classes (defaults applied).
    fallover_on: Vec<ErrorClass>,
    deadline_ms: Option<u64>,
    version: u64,
    created_at: DateTime<Utc>,
    created_by: Option<Actor>,
    updated_at: DateTime<Utc>,
    updated_by: Option<Actor>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PolicyList {
    #[schema(example = "list")]
    object: String,
    data: Vec<PolicyView>,
}

/// `explain`'s optional sample request: the sticky keys a load-balancing policy would use.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ExplainSample {
    #[schema(max_length = 256)]
    user_id: Option<String>,
    #[schema(max_length = 256)]
    trace_id: Option<String>,
}

/// The first attempt that would be tried.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WouldUse {
    model: String,
    key: Option<KeyKind>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Explanation {
    #[schema(example = "policy.explanation")]
    object: String,
    policy: String,
    #[schema(rename = "type")]
    kind: PolicyType,
    version: u64,
    /// False when an unsticky load-balancing policy shaped the order.
    deterministic: bool,
    fallover_on: Vec<ErrorClass>,
    deadline_ms: Option<u64>,
    /// `null` when every entry would be skipped.
    would_use: Option<WouldUse>,
    route: Vec<PlannedAttempt>,
}

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::create::create,
        crate::read::list,
        crate::read::get_one,
        crate::update::update,
        crate::delete::delete,
        crate::explain::explain,
    ),
    tags((name = "policies", description = "Fallback and load-balancing routing policies (manage:read to read and explain, manage:write to change)"))
)]
pub struct ApiDoc;
