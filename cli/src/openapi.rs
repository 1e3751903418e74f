//! The OpenAPI document of the whole HTTP API, generated from the handlers' `#[utoipa::path]`
//! annotations and the request/response types: every function's part merged, then finished by
//! `byok_shared::http::openapi::finish_document` (security, the error body on every error status).
//! `byok serve` serves it at `GET /openapi.json`.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::OpenApi;

/// Where the document is served.
pub const PATH: &str = "/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "BYOK LLM gateway",
        description = "Bring-your-own-keys LLM gateway: provider keys, routing policies, gateway API keys and \
usage, and the OpenAI- and Anthropic-compatible inference endpoints. Every error is \
`{\"error\":{\"message\",\"type\",\"param\",\"code\"}}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    paths(openapi_json),
    tags((name = "meta", description = "This document"))
)]
struct Meta;

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Meta::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    doc.merge(byok_keys::openapi::ApiDoc::openapi());
    doc.merge(byok_policies::openapi::ApiDoc::openapi());
    doc.merge(byok_manage::openapi::ApiDoc::openapi());
    doc.merge(byok_router::openapi::ApiDoc::openapi());
    doc.merge(byok_console::openapi::ApiDoc::openapi());
    byok_shared::http::openapi::finish_document(&mut doc);
    doc
}

/// The document as JSON, built once.
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        document()
            .to_pretty_json()
            .expect("the OpenAPI document serializes")
    })
}

/// `GET /openapi.json`.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", operation_id = "openapi",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], json())
}
