//! `POST /v1/responses` (OpenAI's Responses API): the same admission, routing, fallback, billing and
//! streaming as chat (`chat::handle`); the provider layer passes it through to OpenAI and translates it
//! for the others. State only OpenAI keeps is refused by `pipeline::run` when the route may leave OpenAI.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use byok_shared::Result;
use byok_shared::error::Error;
use byok_shared::http::{Auth, RequestId};
use byok_shared::providers::{ClientFormat, RequestBody};

use crate::chat;
use crate::state::Gateway;

#[utoipa::path(post, path = "/v1/responses", tag = "inference", operation_id = "responses",
    request_body = crate::openapi::ResponsesRequest,
    responses(
        (status = 200, description = "The response object (OpenAI Responses format; `model` names the model that answered, `usage.cost` the cost in USD), or with `stream: true` an SSE stream of Responses events (`response.created` … `response.completed`, each with a `sequence_number`), ending in an `error` event after a failure",
            content((crate::openapi::ResponseObject = "application/json"), (crate::openapi::SseEvent = "text/event-stream"))),
    ))]
pub async fn responses(
    state: State<Gateway>,
    auth: Auth,
    id: RequestId,
    headers: HeaderMap,
    body: Result<RequestBody, Error>,
) -> Result<Response> {
    let format = ClientFormat::Responses;
    chat::handle(state, auth, id, headers, body, format, "/v1/responses").await
}
