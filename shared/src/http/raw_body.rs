//! The inference endpoints' body extractor: a [`RequestBody`] (the caller's top-level fields as their own
//! text), with the same rejections as [`super::JsonBody`] gives every other endpoint.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use serde_json::error::Category;

use super::extract::{not_json, not_json_content_type, unreadable};
use crate::error::Error;
use crate::providers::RequestBody;

impl<S: Send + Sync> FromRequest<S> for RequestBody {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        if !json_content_type(req.headers()) {
            return Err(not_json_content_type());
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| unreadable(e.status(), &e.body_text()))?;
        RequestBody::from_json(&bytes).map_err(|e| match e.classify() {
            Category::Data => Error::bad_request(format!("invalid request body: {e}")),
            Category::Syntax | Category::Eof | Category::Io => not_json(),
        })
    }
}

/// `application/json` or `application/<anything>+json`, as axum's `Json` accepts.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(mime) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
    else {
        return false;
    };
    mime.type_() == "application"
        && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;

    use super::*;
    use crate::error::ErrorKind;

    async fn extract(content_type: Option<&str>, body: &'static str) -> Result<RequestBody, Error> {
        let mut req = Request::builder().method("POST").uri("/");
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        RequestBody::from_request(req.body(Body::from(body)).unwrap(), &()).await
    }

    #[tokio::test]
    async fn rejects_as_the_json_extractor_does() {
        let ok = extract(Some("application/json; charset=utf-8"), r#"{"model":"m"}"#).await;
        assert_eq!(ok.unwrap().get_str("model").as_deref(), Some("m"));
        assert!(
            extract(Some("application/vnd.api+json"), "{}")
                .await
                .is_ok()
        );
        for (ct, body, says) in [
            (None, "{}", "Content-Type: application/json"),
            (Some("text/plain"), "{}", "Content-Type: application/json"),
            (Some("application/json"), "{\"a\":", "not valid JSON"),
            (Some("application/json"), "{\"a\":1e999}", "not valid JSON"),
        ] {
            let e = extract(ct, body).await.expect_err(body);
            assert_eq!(e.kind, ErrorKind::InvalidRequest, "{body}");
            assert!(e.message.contains(says), "{}: {}", body, e.message);
        }
    }
}
