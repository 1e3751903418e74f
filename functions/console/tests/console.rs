//! The console's HTTP surface: content types, security headers (CSP), caching, redirects and 404s; and
//! static checks of the assets themselves (nothing external, nothing inline the CSP would block).

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use byok_console::{ASSETS, CSP};
use byok_testkit::http::{Response, call, send};
use byok_testkit::{Backend, TestBackend};

const EXPECTED_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

async fn get(app: &Router, path: &str) -> Response {
    call(app, Method::GET, path, None, None).await
}

fn header<'a>(r: &'a Response, name: &str) -> &'a str {
    r.headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .expect("ascii header")
}

fn assert_hardened(r: &Response, what: &str) {
    assert_eq!(header(r, "content-security-policy"), EXPECTED_CSP, "{what}");
    assert_eq!(header(r, "x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header(r, "referrer-policy"), "no-referrer", "{what}");
    assert_eq!(header(r, "x-frame-options"), "DENY", "{what}");
    assert!(
        r.headers.contains_key("cache-control"),
        "{what}: no cache-control"
    );
}

#[tokio::test]
async fn the_page_is_html_with_a_strict_csp() {
    assert_eq!(CSP, EXPECTED_CSP);
    let app = byok_console::app();
    let r = get(&app, "/console").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&r, "cache-control"), "no-cache");
    assert!(header(&r, "etag").starts_with('"'));
    assert_hardened(&r, "/console");
    // The assets are referred to relatively, so that /<stage>/console works behind API Gateway.
    assert!(
        r.text
            .contains(r#"<script type="module" src="console/app.js"></script>"#)
    );
    assert!(r.text.contains(r#"href="console/app.css""#));
}

#[tokio::test]
async fn every_asset_has_its_content_type_and_the_headers() {
    let app = byok_console::app();
    for asset in &ASSETS {
        let r = get(&app, &format!("/console/{}", asset.name)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", asset.name);
        let expected = match asset.name.rsplit('.').next() {
            Some("html") => "text/html; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("js") => "text/javascript; charset=utf-8",
            Some("svg") => "image/svg+xml",
            other => panic!("unexpected asset kind {other:?}"),
        };
        assert_eq!(header(&r, "content-type"), expected, "{}", asset.name);
        assert_eq!(r.text.as_bytes(), asset.body, "{}", asset.name);
        assert_hardened(&r, asset.name);
    }
}

#[tokio::test]
async fn a_matching_etag_revalidates_with_304() {
    let app = byok_console::app();
    let first = get(&app, "/console/app.js").await;
    let etag = header(&first, "etag").to_owned();
    let request = Request::get("/console/app.js")
        .header("if-none-match", &etag)
        .body(Body::empty())
        .unwrap();
    let again = send(&app, request).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.text.is_empty());
    assert_eq!(header(&again, "etag"), etag);
    assert_hardened(&again, "304");
    // Different content, different validator.
    let css = get(&app, "/console/app.css").await;
    assert_ne!(header(&css, "etag"), etag);
}

#[tokio::test]
async fn trailing_slash_redirects_relatively_and_unknown_assets_are_json_404s() {
    let app = byok_console::app();
    let r = get(&app, "/console/").await;
    assert_eq!(r.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(header(&r, "location"), "../console");
    assert_hardened(&r, "redirect");

    // What a page served at /console/ (API Gateway may map it to /console) asks for.
    let r = get(&app, "/console/console/app.js").await;
    assert_eq!(r.status, StatusCode::OK);

    for path in [
        "/console/nope.js",
        "/console/../Cargo.toml",
        "/console/src/lib.rs",
        "/nothing",
    ] {
        let r = get(&app, path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(r.body["error"]["message"].is_string(), "{path}: {}", r.text);
        assert_hardened(&r, path);
    }
    let r = call(&app, Method::POST, "/console", None, None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}

/// Served through `router(state)` (the common layers) and merged in the local server the same way.
#[tokio::test]
async fn the_stateful_router_serves_the_same() {
    let backend = TestBackend::new(Backend::Embedded).await;
    let app = byok_console::router(backend.state(|_| {}));
    let r = get(&app, "/console").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_hardened(&r, "router(state)");
    assert!(r.headers.contains_key("x-request-id"));
    let r = get(&app, "/console/nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[test]
fn every_file_in_assets_is_served_and_nothing_is_external_or_inline() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut served: Vec<String> = ASSETS.iter().map(|a| a.name.to_owned()).collect();
    on_disk.sort();
    served.sort();
    assert_eq!(on_disk, served, "assets/ and ASSETS differ");

    for asset in &ASSETS {
        let text = std::str::from_utf8(asset.body).expect("utf-8");
        let without_svg_ns = text.replace("http://www.w3.org/2000/svg", "");
        for external in ["http://", "https://", "//fonts.", "@import", "url("] {
            assert!(
                !without_svg_ns.contains(external),
                "{} contains {external}",
                asset.name
            );
        }
        for banned in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "localStorage",
        ] {
            assert!(!text.contains(banned), "{} uses {banned}", asset.name);
        }
    }
    let html = std::str::from_utf8(ASSETS[0].body).unwrap();
    assert!(
        !html.contains(" style="),
        "inline style attribute (blocked by the CSP)"
    );
    assert!(
        !html.contains("<style"),
        "inline stylesheet (blocked by the CSP)"
    );
    assert_eq!(html.matches("<script").count(), 1);
    assert!(
        !regex_like_inline_handler(html),
        "inline event handler (blocked by the CSP)"
    );
}

fn regex_like_inline_handler(html: &str) -> bool {
    html.split_whitespace()
        .any(|w| w.starts_with("on") && w.contains("=\""))
}
