//! The OpenAPI side of the HTTP translation: the error shape as a schema, the bearer-key security scheme,
//! and [`finish_document`], which every merged document goes through so that each operation documents the
//! error statuses the common layers and extractors can produce, all with the one error body.
//!
//! Handlers carry `#[utoipa::path(...)]` annotations naming their own success and domain-error statuses
//! (with a description only); this module fills in the error body, so the shape lives in one place.
//! Each function registers its routes with `utoipa_axum`'s `OpenApiRouter` (`routes!(handler)`), so a
//! route and its operation come from the same annotation; the path is axum's (`{*rest}` for a catch-all),
//! written the OpenAPI way (`{rest}`) by [`openapi_path`].

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder, SecurityRequirement};
use utoipa::{OpenApi as _, ToSchema};

/// `{"error": {...}}`, the body of every error response.
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only: errors are built by `error_body`
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// What went wrong, for humans.
    message: String,
    /// The class of error, e.g. `invalid_request_error`, `authentication_error`, `not_found_error`.
    #[schema(rename = "type")]
    kind: String,
    /// The offending field (`steps[1].model`, `provider`, ...), when one is to blame.
    param: Option<String>,
    /// A stable machine-readable code, e.g. `invalid_request`, `invalid_api_key`, `not_found`.
    code: String,
}

/// `{"type": "error", "error": {...}}`, the body of every error response on `/v1/messages*` (Anthropic's
/// shape, see `http::error::ErrorShape`).
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only: errors are built by `anthropic_error_body`
pub struct AnthropicErrorBody {
    /// Always `error`.
    #[schema(rename = "type")]
    kind: String,
    error: AnthropicErrorDetail,
    /// The gateway's request id (also in the `x-request-id` header).
    request_id: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AnthropicErrorDetail {
    /// Anthropic's error type: `invalid_request_error`, `authentication_error`, `permission_error`,
    /// `not_found_error`, `request_too_large`, `rate_limit_error`, `billing_error`, `api_error`,
    /// `timeout_error`, `overloaded_error`.
    #[schema(rename = "type")]
    kind: String,
    /// What went wrong, for humans.
    message: String,
}

#[derive(utoipa::OpenApi)]
#[openapi(components(schemas(ErrorBody, ErrorDetail, AnthropicErrorBody, AnthropicErrorDetail)))]
struct ErrorSchemas;

/// Tags whose operations need no gateway key (the console's static files, the API document).
pub const PUBLIC_TAGS: &[&str] = &["console", "meta"];

/// Operations with this tag and a body (chat, messages, embeddings) go through the routing engine and share
/// its error statuses.
pub const INFERENCE_TAG: &str = "inference";

/// The security scheme names used in the document.
pub const BEARER: &str = "bearer";
pub const X_API_KEY: &str = "x_api_key";

fn describe(status: &str) -> &'static str {
    match status {
        "400" => "Invalid request: malformed JSON, wrong field type, unknown field or bad value",
        "401" => "Missing, malformed, unknown, expired or deleted gateway API key",
        "403" => "The key lacks the permission this route needs",
        "404" => "Not found (in the caller's organisation)",
        "409" => "Conflict (already exists, stale version, still referenced)",
        "412" => "The key's or organisation's monthly spend limit is reached",
        "413" => "Request body too large",
        "422" => "Well-formed but refused (e.g. the provider rejected the key)",
        "429" => "Rate limited by the provider",
        "502" => "The provider failed or answered with an error",
        "503" => "No provider key or target is available",
        "504" => "The provider did not answer in time",
        _ => "Error",
    }
}

/// An axum route path as an OpenAPI path template: a catch-all `{*rest}` becomes `{rest}`.
pub fn openapi_path(axum_path: &str) -> String {
    axum_path.replace("{*", "{")
}

/// Write the paths the OpenAPI way ([`openapi_path`]), add the security schemes, mark public operations,
/// and give every operation the error statuses the
/// common layers produce (400; 401/403 when authenticated; 413 when it takes a body; the routing engine's
/// 404/412/422/429/502/503/504 on inference routes), each error
/// response with [`ErrorBody`] as `application/json`.
pub fn finish_document(doc: &mut OpenApi) {
    doc.paths.paths = std::mem::take(&mut doc.paths.paths)
        .into_iter()
        .map(|(path, item)| (openapi_path(&path), item))
        .collect();
    doc.merge(ErrorSchemas::openapi());
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("bgk_<64 hex>")
                .description(Some("A gateway API key: `Authorization: Bearer bgk_...`"))
                .build(),
        ),
    );
    components.add_security_scheme(
        X_API_KEY,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "x-api-key",
            "The gateway API key, as Anthropic clients send it",
        ))),
    );
    for (path, item) in doc.paths.paths.iter_mut() {
        let schema = match crate::http::ErrorShape::for_path(path) {
            crate::http::ErrorShape::OpenAi => "ErrorBody",
            crate::http::ErrorShape::Anthropic => "AnthropicErrorBody",
        };
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            finish_operation(op, schema);
        }
    }
}

fn finish_operation(op: &mut Operation, error_schema: &str) {
    let public = op
        .tags
        .iter()
        .flatten()
        .any(|t| PUBLIC_TAGS.contains(&t.as_str()));
    let mut statuses: Vec<&str> = vec![];
    if public {
        op.security = Some(vec![]);
    } else {
        if op.security.is_none() {
            op.security = Some(vec![SecurityRequirement::new::<_, _, &str>(BEARER, [])]);
        }
        statuses.extend(["400", "401", "403"]);
    }
    if op.request_body.is_some() {
        statuses.extend(["400", "413"]);
    }
    let routed = op.request_body.is_some() && op.tags.iter().flatten().any(|t| t == INFERENCE_TAG);
    if routed {
        // What the routing engine answers when no attempt succeeds, for every routed request at once.
        statuses.extend(["404", "412", "422", "429", "502", "503", "504"]);
    }
    for status in statuses {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| {
                RefOr::T(ResponseBuilder::new().description(describe(status)).build())
            });
    }
    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let is_error = status.starts_with('4') || status.starts_with('5');
        if is_error && response.content.is_empty() {
            response.content.insert(
                "application/json".into(),
                RefOr::T(
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(error_schema)))
                        .build(),
                ),
            );
        }
        if is_error && response.description.is_empty() {
            response.description = describe(status).into();
        }
    }
}
