//! The check that a function's Lambda router (built without its OpenAPI document) serves every operation
//! the document shows: each path and method reaches a handler, not the fallback's 404 or 405.

use axum::Router;
use axum::http::Method;
use utoipa::openapi::OpenApi;

use crate::http::call;

/// Panics naming the first documented operation that `app` does not route. Path parameters are filled
/// with `x`; the handler may refuse the request (401, 400, 404 of its own), but the fallback must not
/// answer. A path the document does not show must reach the fallback, so the check can tell them apart.
pub async fn assert_serves_every_operation(app: &Router, doc: &OpenApi) {
    let mut checked = 0;
    for (path, item) in &doc.paths.paths {
        let operations = [
            (Method::GET, item.get.is_some()),
            (Method::PUT, item.put.is_some()),
            (Method::POST, item.post.is_some()),
            (Method::DELETE, item.delete.is_some()),
            (Method::PATCH, item.patch.is_some()),
            (Method::HEAD, item.head.is_some()),
            (Method::OPTIONS, item.options.is_some()),
        ];
        let uri = fill(path);
        for (method, _) in operations.into_iter().filter(|(_, documented)| *documented) {
            let r = call(app, method.clone(), &uri, None, None).await;
            assert!(
                !is_fallback(r.status.as_u16(), &r.text),
                "{method} {path} is documented but not routed: {} {}",
                r.status,
                r.text
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "the document shows no operation");
    let r = call(app, Method::GET, "/no/such/route/here", None, None).await;
    assert!(
        is_fallback(r.status.as_u16(), &r.text),
        "an undocumented path did not reach the fallback: {} {}",
        r.status,
        r.text
    );
}

fn is_fallback(status: u16, text: &str) -> bool {
    status == 405 || (status == 404 && text.contains("no such route"))
}

/// `/v1/x/{id}` → `/v1/x/x`; `/files/{*path}` → `/files/x`.
fn fill(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "x" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}
