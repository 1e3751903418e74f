//! The function's part of the OpenAPI document (merged by `byok serve` into `/openapi.json`).

use byok_shared::repo::provider_keys::{AuditEntry, MaskedKey};
use utoipa::{OpenApi, ToSchema};

/// `{"object": "list", "data": [...]}` of masked provider keys.
#[derive(ToSchema)]
#[allow(dead_code)] // schema only
pub struct KeyList {
    #[schema(example = "list")]
    object: String,
    data: Vec<MaskedKey>,
}

/// A page of the audit trail.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AuditList {
    #[schema(example = "list")]
    object: String,
    data: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::handlers::create,
        crate::handlers::list,
        crate::handlers::get_one,
        crate::handlers::rotate,
        crate::handlers::delete,
        crate::audit::list,
    ),
    tags((name = "keys", description = "The organisation's own provider keys (manage:read to read, manage:write to change)"))
)]
pub struct ApiDoc;
