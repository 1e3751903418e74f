//! A loopback Lambda Runtime API that hands a bootstrap one event at a time, as the Lambda service does,
//! and timestamps each step: init done (the first poll for an event), event handed over, response complete
//! (its body, streamed or not, fully received).

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::sync::{Mutex as AsyncMutex, mpsc};

/// The timing of one invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub given: Instant,
    pub done: Instant,
    pub ok: bool,
    /// The first bytes of the response (a streamed body includes its prelude), for error messages.
    pub head: String,
}

struct Shared {
    events: AsyncMutex<mpsc::Receiver<String>>,
    first_poll: Mutex<Option<Instant>>,
    given: Mutex<Option<Instant>>,
    finished: mpsc::Sender<Invocation>,
    seq: Mutex<u64>,
}

async fn next(State(s): State<Arc<Shared>>) -> impl IntoResponse {
    s.first_poll
        .lock()
        .expect("poll")
        .get_or_insert_with(Instant::now);
    let event = s.events.lock().await.recv().await;
    let Some(event) = event else {
        // No more events: park the poll until the process is stopped.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        return StatusCode::NO_CONTENT.into_response();
    };
    let id = {
        let mut seq = s.seq.lock().expect("seq");
        *seq += 1;
        format!("00000000-0000-4000-8000-{:012}", *seq)
    };
    *s.given.lock().expect("given") = Some(Instant::now());
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() + 30_000);
    let headers = [
        ("lambda-runtime-aws-request-id", id),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:byok".to_owned(),
        ),
        (
            "lambda-runtime-trace-id",
            "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=0".to_owned(),
        ),
        ("content-type", "application/json".to_owned()),
    ];
    (StatusCode::OK, headers, event).into_response()
}

async fn finish(s: &Shared, ok: bool, body: &[u8]) {
    let given = s
        .given
        .lock()
        .expect("given")
        .take()
        .unwrap_or_else(Instant::now);
    let head = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    let _ = s
        .finished
        .send(Invocation {
            given,
            done: Instant::now(),
            ok,
            head,
        })
        .await;
}

async fn response(State(s): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    let ok = !body.is_empty();
    finish(&s, ok, &body).await;
    StatusCode::ACCEPTED
}

async fn error(State(s): State<Arc<Shared>>, _headers: HeaderMap, body: Bytes) -> StatusCode {
    finish(&s, false, &body).await;
    StatusCode::ACCEPTED
}

/// A bootstrap process under the runtime API; killed when dropped.
pub struct Function {
    child: Child,
    spawned: Instant,
    shared: Arc<Shared>,
    events: mpsc::Sender<String>,
    finished: mpsc::Receiver<Invocation>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.server.abort();
    }
}

impl Function {
    /// Start `binary` with `env` under a fresh runtime API.
    pub async fn start(binary: &str, env: &[(&str, String)]) -> Result<Self, String> {
        let (events, rx) = mpsc::channel(1);
        let (done_tx, finished) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            events: AsyncMutex::new(rx),
            first_poll: Mutex::new(None),
            given: Mutex::new(None),
            finished: done_tx,
            seq: Mutex::new(0),
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
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let mut command = Command::new(binary);
        command
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "byok-bench")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/byok-bench")
            .env("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true")
            .env("RUST_LOG", "info")
            // Lambda sets neither: the bench's own environment must not choose the bootstrap's CA roots.
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            command.env(k, v);
        }
        let spawned = Instant::now();
        let child = command
            .spawn()
            .map_err(|e| format!("start {binary}: {e}"))?;
        Ok(Self {
            child,
            spawned,
            shared,
            events,
            finished,
            server,
        })
    }

    /// Spawn to the first poll for an event: Lambda's init phase.
    pub async fn init_time(&mut self) -> Result<Duration, String> {
        let limit = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(t) = *self.shared.first_poll.lock().expect("poll") {
                return Ok(t - self.spawned);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("the bootstrap exited during init: {status}"));
            }
            if Instant::now() > limit {
                return Err("no poll for an event within 20 s".into());
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }

    /// Hand over one event and wait (bounded) for its complete response.
    pub async fn invoke(&mut self, event: &str) -> Result<Invocation, String> {
        self.events
            .send(event.to_owned())
            .await
            .map_err(|e| e.to_string())?;
        tokio::time::timeout(Duration::from_secs(30), self.finished.recv())
            .await
            .map_err(|_| "no response within 30 s".to_owned())?
            .ok_or_else(|| "the runtime API stopped".to_owned())
    }
}
