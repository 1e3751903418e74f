//! Extractors: the authenticated caller, and JSON bodies whose every rejection is an OpenAI-shaped error.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::auth::{Caller, authenticate};
use crate::error::{Error, ErrorKind};

/// The authenticated caller, from `Authorization: Bearer <key>` or (Anthropic clients) `x-api-key`.
pub struct Auth(pub Caller);

impl<S> FromRequestParts<S> for Auth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim);
        let api_key = parts
            .headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::trim);
        let presented = bearer.or(api_key).ok_or_else(|| {
            Error::unauthenticated("missing API key: send Authorization: Bearer <key>")
        })?;
        authenticate(&AppState::from_ref(state), presented)
            .await
            .map(Auth)
    }
}

/// A JSON body of type `T`. Not JSON, wrong shape, unknown fields and over-size bodies become 400/413/415
/// errors in the OpenAI shape, naming the field where serde knows it.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(map_rejection(rejection)),
        }
    }
}

/// Query parameters of type `T`; a malformed or unknown parameter is a 400 in the error shape.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| QueryParams(v))
            .map_err(|e| Error::bad_request(format!("invalid query string: {}", e.body_text())))
    }
}

fn map_rejection(rejection: JsonRejection) -> Error {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            // serde's message names the field path, e.g. "provider: unknown variant `foo`".
            let detail = std::error::Error::source(&e)
                .map(ToString::to_string)
                .unwrap_or_else(|| e.body_text());
            Error::bad_request(format!("invalid request body: {detail}"))
        }
        JsonRejection::JsonSyntaxError(_) => not_json(),
        JsonRejection::MissingJsonContentType(_) => not_json_content_type(),
        JsonRejection::BytesRejection(e) => unreadable(e.status(), &e.body_text()),
        other => unreadable(other.status(), &other.body_text()),
    }
}

/// The 400 for a body that is not valid JSON.
pub(super) fn not_json() -> Error {
    Error::bad_request("request body is not valid JSON")
}

/// The 400 for a body sent without a JSON content type.
pub(super) fn not_json_content_type() -> Error {
    Error::bad_request("request body must be JSON (Content-Type: application/json)")
}

/// A body that could not be read: 413 when over the size limit, else 400.
pub(super) fn unreadable(status: axum::http::StatusCode, text: &str) -> Error {
    if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        Error::new(ErrorKind::PayloadTooLarge, "request body is too large")
    } else {
        Error::bad_request(format!("cannot read request body: {text}"))
    }
}
