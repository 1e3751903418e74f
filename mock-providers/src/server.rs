//! The axum app behind each mock: control endpoints, recording, auth, and the provider's routes.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use http::{HeaderMap, Method, StatusCode, Uri, header};
use serde_json::{Value, json};

use crate::strict;
use crate::wire::{Answer, Frame, anthropic, count, google, openai, responses};
use crate::{Behaviour, Kind, RecordedRequest, Shared};

const OPENAI_MODELS: &[&str] = &[
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4o",
    "gpt-4o-mini",
    "o3",
    "o4-mini",
    "text-embedding-3-small",
    "text-embedding-3-large",
];
const ANTHROPIC_MODELS: &[&str] = &[
    "claude-sonnet-4-5",
    "claude-opus-4-1",
    "claude-haiku-4-5",
    "claude-3-5-haiku-latest",
];
const GOOGLE_MODELS: &[&str] = &[
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "text-embedding-004",
    "gemini-embedding-001",
];
const XAI_MODELS: &[&str] = &["grok-4", "grok-3", "grok-3-mini"];

#[derive(Clone)]
struct App {
    kind: Kind,
    shared: Arc<Shared>,
}

pub(crate) fn router(kind: Kind, shared: Arc<Shared>) -> Router {
    Router::new()
        .fallback(handle)
        .with_state(App { kind, shared })
}

pub(crate) fn reset(shared: &Shared) {
    shared.requests.lock().expect("requests lock").clear();
    shared.queue.lock().expect("queue lock").clear();
    *shared.default.lock().expect("default lock") = None;
    shared
        .prompt_cache
        .lock()
        .expect("prompt cache lock")
        .clear();
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn error_body(kind: Kind, status: u16, message: Option<&str>, code: Option<&str>) -> Value {
    match kind {
        Kind::OpenAi | Kind::Xai => openai::error_body(status, message, code),
        Kind::Anthropic => anthropic::error_body(status, message, code),
        Kind::Google => google::error_body(status, message, code),
    }
}

fn error(kind: Kind, b: &Behaviour, status: u16) -> Response {
    let body = error_body(
        kind,
        status,
        b.error_message.as_deref(),
        b.error_code.as_deref(),
    );
    let mut resp = json_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body,
    );
    if let Some(secs) = b.retry_after
        && let Ok(v) = secs.to_string().parse()
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    for (name, value) in &b.error_headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            axum::http::HeaderValue::from_str(value),
        ) {
            resp.headers_mut().insert(name, value);
        }
    }
    resp
}

fn record(shared: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Value) {
    let mut map = std::collections::BTreeMap::<String, String>::new();
    for (name, value) in headers {
        let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
        map.entry(name.as_str().to_owned())
            .and_modify(|e| {
                e.push_str(", ");
                e.push_str(&v);
            })
            .or_insert(v);
    }
    shared
        .requests
        .lock()
        .expect("requests lock")
        .push(RecordedRequest {
            method: method.to_string(),
            path: uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            headers: map,
            body: body.clone(),
        });
}

/// Header > queue > model name > default > success.
fn behaviour(shared: &Shared, headers: &HeaderMap, model: &str) -> Behaviour {
    if let Some(b) = headers
        .get("x-mock-behaviour")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| serde_json::from_str(v).ok())
    {
        return b;
    }
    if let Some(b) = shared.queue.lock().expect("queue lock").pop_front() {
        return b;
    }
    let by_name = Behaviour::from_model(model);
    if by_name != Behaviour::default() {
        return by_name;
    }
    shared
        .default
        .lock()
        .expect("default lock")
        .clone()
        .unwrap_or_default()
}

/// The key the request authenticated with, if any.
fn key(kind: Kind, headers: &HeaderMap) -> Option<String> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    match kind {
        Kind::OpenAi | Kind::Xai => {
            get("authorization").and_then(|v| v.strip_prefix("Bearer ").map(str::to_owned))
        }
        Kind::Anthropic => get("x-api-key"),
        Kind::Google => get("x-goog-api-key"),
    }
    .filter(|k| !k.is_empty())
}

fn auth_error(kind: Kind, key: Option<&str>) -> Option<Response> {
    let bad = match key {
        None => true,
        Some(k) => k.contains("invalid"),
    };
    if !bad {
        return None;
    }
    Some(match kind {
        Kind::Google if key.is_some() => {
            json_response(StatusCode::BAD_REQUEST, google::invalid_key())
        }
        Kind::Google => json_response(StatusCode::FORBIDDEN, google::error_body(403, None, None)),
        _ => json_response(StatusCode::UNAUTHORIZED, error_body(kind, 401, None, None)),
    })
}

fn sse(frames: Vec<Frame>, b: &Behaviour) -> Response {
    let mut frames = frames;
    if let Some(n) = b.malformed_at
        && n < frames.len()
    {
        frames[n].data = "{\"malformed\": ".into();
    }
    if let Some(n) = b.cut_after {
        frames.truncate(n);
    }
    let delay = Duration::from_millis(b.chunk_delay_ms);
    let stall = b.stall;
    let stream = futures::stream::iter(frames.into_iter().enumerate())
        .then(move |(i, f)| async move {
            if i > 0 && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Ok::<_, std::convert::Infallible>(Bytes::from(f.encode()))
        })
        .take_while(move |_| futures::future::ready(!stall));
    let body = if stall {
        Body::from_stream(stream.chain(futures::stream::pending()))
    } else {
        Body::from_stream(stream)
    };
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(body)
        .expect("a response")
}

async fn handle(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = uri.path().to_owned();
    if let Some(control) = path.strip_prefix("/__mock/") {
        return control_endpoint(&app.shared, control, &json_body);
    }
    record(&app.shared, &method, &uri, &headers, &json_body);
    let kind = app.kind;
    // Gemini names the model in the path: /v1beta/models/{model}:{action}.
    let (google_model, action) = path
        .strip_prefix("/v1beta/models/")
        .and_then(|rest| rest.split_once(':'))
        .map(|(m, a)| (m.to_owned(), a.to_owned()))
        .unwrap_or_default();
    let model = json_body
        .get("model")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or(google_model.clone());
    let b = behaviour(&app.shared, &headers, &model);
    if b.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(b.delay_ms)).await;
    }
    if let Some(resp) = auth_error(kind, key(kind, &headers).as_deref()) {
        return resp;
    }
    if kind == Kind::Anthropic && !headers.contains_key("anthropic-version") {
        return json_response(
            StatusCode::BAD_REQUEST,
            anthropic::error_body(400, Some("anthropic-version: header is required"), None),
        );
    }
    if let Err(refusal) = strict_check(kind, method.as_str(), &path, &action, &headers, &json_body)
    {
        return json_response(
            StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::BAD_REQUEST),
            refusal.body,
        );
    }
    if let Some(status) = b.status {
        return error(kind, &b, status);
    }
    let stream = json_body
        .get("stream")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if b.stall && !stream && action != "streamGenerateContent" {
        futures::future::pending::<()>().await;
    }
    let mut answer = Answer::new(kind.as_str(), &model, &b);
    if kind == Kind::Anthropic && path == "/v1/messages" && b.usage.is_none() {
        // Breakpoints in the prompt: answer with the cache's use, as Anthropic does.
        let scope = format!("{}#{model}", key(kind, &headers).unwrap_or_default());
        let mut cache = app.shared.prompt_cache.lock().expect("prompt cache lock");
        let used = crate::prompt_cache::apply(&mut cache, &scope, &json_body);
        if used.read + used.written > 0 {
            answer.usage.input = used.input;
            answer.usage.cached = used.read;
            answer.usage.cache_write = used.written;
        }
    }
    match (kind, method.as_str(), path.as_str()) {
        (Kind::OpenAi | Kind::Xai, "POST", "/v1/chat/completions") => {
            if stream {
                let include = json_body
                    .pointer("/stream_options/include_usage")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                sse(openai::chat_stream(&answer, include), &b)
            } else {
                json_response(StatusCode::OK, openai::chat_json(&answer))
            }
        }
        (Kind::OpenAi, "POST", "/v1/responses") => {
            if stream {
                sse(responses::responses_stream(&answer), &b)
            } else {
                json_response(StatusCode::OK, responses::responses_json(&answer))
            }
        }
        (Kind::OpenAi | Kind::Xai, "POST", "/v1/embeddings") => json_response(
            StatusCode::OK,
            openai::embeddings(&model, json_body.get("input").unwrap_or(&Value::Null)),
        ),
        (Kind::OpenAi, "GET", "/v1/models") => {
            json_response(StatusCode::OK, openai::models(OPENAI_MODELS, "openai"))
        }
        (Kind::Xai, "GET", "/v1/models") => {
            json_response(StatusCode::OK, openai::models(XAI_MODELS, "xai"))
        }
        (Kind::Anthropic, "POST", "/v1/messages") => {
            if stream {
                sse(anthropic::chat_stream(&answer), &b)
            } else {
                json_response(StatusCode::OK, anthropic::chat_json(&answer))
            }
        }
        (Kind::Anthropic, "POST", "/v1/messages/count_tokens") => {
            counted(kind, count::anthropic(&json_body))
        }
        (Kind::Anthropic, "GET", "/v1/models") => {
            json_response(StatusCode::OK, anthropic::models(ANTHROPIC_MODELS))
        }
        (Kind::Google, "GET", "/v1beta/models") => {
            json_response(StatusCode::OK, google::models(GOOGLE_MODELS))
        }
        (Kind::Google, "POST", _) => match action.as_str() {
            "generateContent" => json_response(StatusCode::OK, google::chat_json(&answer)),
            "streamGenerateContent" if uri.query().is_some_and(|q| q.contains("alt=sse")) => {
                sse(google::chat_stream(&answer), &b)
            }
            "streamGenerateContent" => {
                let chunks: Vec<Value> = google::chat_stream(&answer)
                    .iter()
                    .filter_map(|f| serde_json::from_str(&f.data).ok())
                    .collect();
                json_response(StatusCode::OK, Value::Array(chunks))
            }
            "countTokens" => counted(kind, count::google(&google_model, &json_body)),
            "embedContent" => json_response(StatusCode::OK, google::embed_one(&json_body)),
            "batchEmbedContents" => json_response(StatusCode::OK, google::embed_batch(&json_body)),
            _ => error(kind, &Behaviour::default(), 404),
        },
        _ => error(kind, &Behaviour::default(), 404),
    }
}

/// The real API's request validation (see [`crate::strict`]).
fn strict_check(
    kind: Kind,
    method: &str,
    path: &str,
    action: &str,
    headers: &HeaderMap,
    body: &Value,
) -> Result<(), strict::Refusal> {
    if method != "POST" {
        return Ok(());
    }
    let beta = headers.get("anthropic-beta").and_then(|v| v.to_str().ok());
    let model = match kind {
        Kind::Google => path
            .strip_prefix("/v1beta/models/")
            .and_then(|rest| rest.split_once(':'))
            .map_or("", |(m, _)| m),
        _ => body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    };
    if !path.ends_with("count_tokens") && action != "countTokens" {
        strict::limits::check_max_output(kind, path, model, body)?;
    }
    match (kind, path) {
        (Kind::OpenAi | Kind::Xai, "/v1/chat/completions") => {
            strict::openai::check_chat(body, kind == Kind::Xai)
        }
        (Kind::OpenAi, "/v1/responses") => strict::responses::check_responses(body),
        (Kind::Anthropic, "/v1/messages") => strict::anthropic::check_messages(body, beta),
        (Kind::Anthropic, "/v1/messages/count_tokens") => {
            strict::anthropic::check_count_tokens(body, beta)
        }
        (Kind::Google, _) if matches!(action, "generateContent" | "streamGenerateContent") => {
            strict::google::check_generate(body)
        }
        _ => Ok(()),
    }
}

/// A count_tokens answer, or the provider's 400 for a request it refuses.
fn counted(kind: Kind, result: Result<Value, String>) -> Response {
    match result {
        Ok(body) => json_response(StatusCode::OK, body),
        Err(message) => json_response(
            StatusCode::BAD_REQUEST,
            error_body(kind, 400, Some(&message), None),
        ),
    }
}

fn control_endpoint(shared: &Shared, control: &str, body: &Value) -> Response {
    match control {
        "requests" => {
            let requests = shared.requests.lock().expect("requests lock").clone();
            json_response(
                StatusCode::OK,
                serde_json::to_value(requests).unwrap_or(Value::Null),
            )
        }
        "reset" => {
            reset(shared);
            json_response(StatusCode::OK, json!({"ok": true}))
        }
        "script" | "default" => match serde_json::from_value::<Behaviour>(body.clone()) {
            Ok(b) if control == "script" => {
                shared.queue.lock().expect("queue lock").push_back(b);
                json_response(StatusCode::OK, json!({"ok": true}))
            }
            Ok(b) => {
                *shared.default.lock().expect("default lock") = Some(b);
                json_response(StatusCode::OK, json!({"ok": true}))
            }
            Err(e) => json_response(StatusCode::BAD_REQUEST, json!({"error": e.to_string()})),
        },
        _ => json_response(
            StatusCode::NOT_FOUND,
            json!({"error": "unknown control endpoint"}),
        ),
    }
}
