//! The OpenAPI document of the whole HTTP API. Every function registers its routes through `utoipa_axum`'s
//! `OpenApiRouter` from the handlers' `#[utoipa::path]` annotations, so the merged router of
//! [`crate::server`] carries the document of exactly the routes it serves; it is finished by
//! `byok_shared::http::openapi::finish_document` (security, the error body on every error status) and
//! `byok serve` serves it at `GET /openapi.json`.

use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::{Extension, Router};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
    tags((name = "meta", description = "This document"))
)]
struct Meta;

/// The finished document as JSON, for `GET /openapi.json`.
#[derive(Clone)]
struct Document(Bytes);

/// Add `GET /openapi.json` to `routes`: the axum router of them all, and their document (its own route
/// included) finished by `finish_document`, which that route serves.
pub fn with_document<S: Clone + Send + Sync + 'static>(
    routes: OpenApiRouter<S>,
) -> (Router<S>, utoipa::openapi::OpenApi) {
    let mut meta = Meta::openapi();
    meta.info.version = env!("CARGO_PKG_VERSION").into();
    let (meta_router, meta) = OpenApiRouter::with_openapi(meta)
        .routes(routes!(openapi_json))
        .split_for_parts();
    let (router, doc) = routes.split_for_parts();
    let mut doc = meta.merge_from(doc);
    byok_shared::http::openapi::finish_document(&mut doc);
    let json = doc
        .to_pretty_json()
        .expect("the OpenAPI document serializes");
    let meta_router = meta_router.layer(Extension(Document(Bytes::from(json))));
    (router.merge(meta_router), doc)
}

/// `GET /openapi.json`.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", operation_id = "openapi",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
async fn openapi_json(Extension(Document(json)): Extension<Document>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], json)
}
