//! A recording reverse proxy: every call waits a fixed delay (an in-region AWS round trip) before it is
//! forwarded, and is logged with its operation (`X-Amz-Target`, else the path) and start and end times.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One call seen by a proxy.
#[derive(Debug, Clone)]
pub struct Call {
    pub service: &'static str,
    pub op: String,
    pub start: Instant,
    pub end: Instant,
}

#[derive(Clone)]
struct Proxy {
    service: &'static str,
    upstream: String,
    delay: Duration,
    http: reqwest::Client,
    log: Arc<Mutex<Vec<Call>>>,
}

/// Hop-by-hop and host headers are the proxy's own; everything else (the SigV4 headers too) is forwarded.
fn forwarded(name: &str) -> bool {
    !matches!(
        name,
        "host" | "connection" | "content-length" | "transfer-encoding"
    )
}

/// The kinds of a DynamoDB item key (`ORG#…`/`KEY#…` → `ORG/KEY`), ids left out: which record a call reads
/// or writes.
fn item_kind(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let key = v.get("Key")?;
    let kind = |attr: &str| {
        let s = key.get(attr)?.get("S")?.as_str()?;
        Some(s.split('#').next().unwrap_or(s).to_owned())
    };
    Some(format!(
        "{}/{}",
        kind("pk")?,
        kind("sk").unwrap_or_default()
    ))
}

async fn forward(
    State(p): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let start = Instant::now();
    let op = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map_or_else(
            || uri.path().to_owned(),
            |t| {
                let name = t.rsplit('.').next().unwrap_or(t);
                match item_kind(&body) {
                    Some(kind) => format!("{name}({kind})"),
                    None => name.to_owned(),
                }
            },
        );
    tokio::time::sleep(p.delay).await;
    let path = uri.path_and_query().map_or("/", |x| x.as_str());
    let mut request = p
        .http
        .request(method, format!("{}{path}", p.upstream))
        .body(body);
    for (name, value) in &headers {
        if forwarded(name.as_str()) {
            request = request.header(name, value);
        }
    }
    let answer = match request.send().await {
        Ok(r) => {
            let mut response = Response::builder().status(r.status().as_u16());
            for (name, value) in r.headers() {
                if forwarded(name.as_str()) {
                    response = response.header(name, value);
                }
            }
            match r.bytes().await {
                Ok(b) => response
                    .body(Body::from(b))
                    .unwrap_or_else(|e| bad(e.to_string())),
                Err(e) => bad(e.to_string()),
            }
        }
        Err(e) => bad(e.to_string()),
    };
    let call = Call {
        service: p.service,
        op,
        start,
        end: Instant::now(),
    };
    p.log.lock().expect("call log").push(call);
    answer
}

fn bad(e: String) -> Response {
    (StatusCode::BAD_GATEWAY, e).into_response()
}

/// A running proxy: its base URL and the calls it saw.
pub struct Running {
    pub url: String,
    log: Arc<Mutex<Vec<Call>>>,
}

impl Running {
    pub fn calls(&self) -> Vec<Call> {
        self.log.lock().expect("call log").clone()
    }
}

/// Start a proxy for `service` in front of `upstream`, adding `delay` to every call.
pub async fn start(service: &'static str, upstream: &str, delay: Duration) -> Running {
    let log = Arc::new(Mutex::new(Vec::new()));
    let http = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .build()
        .expect("a reqwest client");
    let proxy = Proxy {
        service,
        upstream: upstream.trim_end_matches('/').to_owned(),
        delay,
        http,
        log: log.clone(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a proxy port");
    let url = format!("http://{}", listener.local_addr().expect("proxy address"));
    let app = Router::new().fallback(forward).with_state(proxy);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Running { url, log }
}
