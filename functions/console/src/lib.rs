//! The management console: a static single-page app (plain HTML, CSS and JavaScript modules, no build
//! step) compiled into the binary and served at `/console`. It holds no data and needs no store, key or
//! configuration: the page calls the same-origin API (`/v1/...`) with the admin's gateway key, which the
//! browser keeps in session storage. So the Lambda function has no table or KMS permission at all.
//!
//! URLs: the canonical page is `/console` (no trailing slash); the page refers to its assets as
//! `console/<file>`, which resolves to `/console/<file>` locally and to `/<stage>/console/<file>` behind
//! API Gateway. `/console/` redirects (relatively) to `../console`, keeping the stage prefix.

mod assets;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use byok_shared::AppState;
use byok_shared::error::Error;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use assets::{ASSETS, Asset};

/// The console's Content-Security-Policy: nothing but same-origin scripts, styles and API calls.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// This function's handlers, each once: [`routes`] builds them with their OpenAPI operations, [`router`]
/// and [`app`] without (`byok_shared::http::routes`).
macro_rules! each_handler {
    ($($form:tt)+) => {
        byok_shared::handlers!($($form)+; [index], [slash], [asset])
    };
}

/// The function's HTTP router with the common layers (access log, JSON 404/405), as the other functions.
pub fn router(state: AppState) -> Router {
    byok_shared::http::finish(each_handler!(plain), state)
}

/// The router the Lambda function runs: the console needs no state (no store, no cipher, no config), so
/// its cold start builds nothing. Unknown paths answer the usual JSON 404.
pub fn app() -> Router {
    each_handler!(plain)
        .fallback(|| async {
            with_security_headers(Error::not_found("no such route").into_response())
        })
        .with_state(())
}

#[derive(OpenApi)]
#[openapi(tags((name = "console", description = "The management console's static files (public; the page calls the API with the admin's key)")))]
struct Tags;

/// The routes with their OpenAPI operations, for merging into the all-in-one local server and its
/// `/openapi.json` (any state: they use none).
pub fn routes<S: Clone + Send + Sync + 'static>() -> OpenApiRouter<S> {
    each_handler!(openapi OpenApiRouter::with_openapi(Tags::openapi()))
}

#[utoipa::path(get, path = "/console", tag = "console", operation_id = "console_page",
    responses(
        (status = 200, description = "The console's page", content_type = "text/html; charset=utf-8", body = String),
        (status = 304, description = "Unchanged (If-None-Match matched the ETag)"),
    ))]
pub async fn index(headers: HeaderMap) -> Response {
    serve(assets::INDEX, &headers)
}

/// `/console/` → `../console`: relative, so that behind API Gateway the stage prefix is kept.
#[utoipa::path(get, path = "/console/", tag = "console", operation_id = "console_slash",
    responses((status = 308, description = "Redirect to `../console`")))]
pub async fn slash() -> Response {
    let mut response = StatusCode::PERMANENT_REDIRECT.into_response();
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("../console"));
    with_security_headers(response)
}

/// Any path below `/console/` (axum's catch-all `{*path}`; the document writes it `{path}`).
#[utoipa::path(get, path = "/console/{*path}", tag = "console", operation_id = "console_asset",
    params(("path" = String, Path, description = "An asset's name, e.g. `app.js`")),
    responses(
        (status = 200, description = "The asset",
            content((String = "text/html; charset=utf-8"), (String = "text/css; charset=utf-8"),
                (String = "text/javascript; charset=utf-8"), (String = "image/svg+xml"))),
        (status = 304, description = "Unchanged (If-None-Match matched the ETag)"),
        (status = 404, description = "No such asset"),
    ))]
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    // API Gateway may hand `/console/` to the `/console` resource, so the page's `console/app.js` can
    // arrive as `/console/console/app.js`: serve it all the same.
    let name = path.strip_prefix("console/").unwrap_or(&path);
    match assets::find(name) {
        Some(asset) => serve(asset, &headers),
        None => with_security_headers(
            Error::not_found(format!("no console asset named '{}'", name.escape_debug()))
                .into_response(),
        ),
    }
}

fn serve(asset: &'static Asset, request: &HeaderMap) -> Response {
    let etag = asset.etag();
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response()
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    // Asset names carry no content hash, so a browser revalidates every load (a 304 when unchanged):
    // a deployment is seen at once, and the key-holding page never runs stale code.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    with_security_headers(response)
}

/// The headers every console response carries, errors and redirects included.
fn with_security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
