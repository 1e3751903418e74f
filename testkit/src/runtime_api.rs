//! A minimal Lambda Runtime API on loopback: hands one event to a function's real `bootstrap` binary and
//! captures its response, as the Lambda service (or `sam local invoke`) would. Buffered responses arrive as
//! API Gateway proxy JSON; streamed ones as the HTTP-integration prelude, eight zero bytes, then the body.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};

#[derive(Default)]
struct Shared {
    event: Mutex<Option<String>>,
    response: Mutex<Option<(HeaderMap, Bytes)>>,
    error: Mutex<Option<String>>,
}

/// What the function answered.
pub struct Invocation {
    /// The status the API Gateway client would see.
    pub status: u16,
    /// The body the client would see.
    pub body: String,
    pub streamed: bool,
}

async fn next(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let event = shared.event.lock().expect("event").take();
    match event {
        Some(event) => {
            let deadline = (chrono::Utc::now() + chrono::Duration::seconds(30)).timestamp_millis();
            let headers = [
                (
                    "lambda-runtime-aws-request-id",
                    "8476a536-e9f4-11e8-9739-2dfe598c3fcd".to_owned(),
                ),
                ("lambda-runtime-deadline-ms", deadline.to_string()),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:byok".to_owned(),
                ),
                (
                    "lambda-runtime-trace-id",
                    "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"
                        .to_owned(),
                ),
                ("content-type", "application/json".to_owned()),
            ];
            (StatusCode::OK, headers.map(|(k, v)| (k, v)), event).into_response()
        }
        // One invocation per test: later polls wait until the process is killed.
        None => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::NO_CONTENT.into_response()
        }
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    *shared.response.lock().expect("response") = Some((headers, body));
    StatusCode::ACCEPTED
}

async fn error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    *shared.error.lock().expect("error") = Some(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}

/// Run `binary` (a function's bootstrap) against a one-shot runtime API with `event`, with `env` set, and
/// return its answer. Panics with the function's error report if it reports one, or on timeout.
pub async fn invoke(binary: &str, event: &str, env: &[(&str, String)]) -> Invocation {
    let shared = Arc::new(Shared {
        event: Mutex::new(Some(event.to_owned())),
        ..Shared::default()
    });
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(error))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let mut command = Command::new(binary);
    command
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "byok-test")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/byok-test")
        .env("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child: Child = command.spawn().expect("start the bootstrap");
    let started = Instant::now();
    let outcome = loop {
        if let Some(r) = shared.response.lock().expect("response").take() {
            break Ok(r);
        }
        if let Some(e) = shared.error.lock().expect("error").take() {
            break Err(e);
        }
        if started.elapsed() > Duration::from_secs(30) {
            break Err("no response within 30 s".to_owned());
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Err(format!("the bootstrap exited: {status}"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let _ = child.kill();
    let output = child.wait_with_output().expect("bootstrap output");
    server.abort();
    let (headers, body) = outcome.unwrap_or_else(|e| {
        panic!(
            "{binary} failed: {e}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let streamed = headers
        .get("lambda-runtime-function-response-mode")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"streaming"));
    if streamed {
        let split = body
            .windows(8)
            .position(|w| w == [0u8; 8])
            .expect("prelude separator");
        let prelude: serde_json::Value =
            serde_json::from_slice(&body[..split]).expect("prelude JSON");
        let status = prelude["statusCode"].as_u64().unwrap_or(200) as u16;
        Invocation {
            status,
            body: String::from_utf8_lossy(&body[split + 8..]).into_owned(),
            streamed,
        }
    } else {
        let proxy: serde_json::Value =
            serde_json::from_slice(&body).expect("API Gateway proxy response");
        let status = proxy["statusCode"].as_u64().expect("statusCode") as u16;
        Invocation {
            status,
            body: proxy["body"].as_str().unwrap_or_default().to_owned(),
            streamed,
        }
    }
}
