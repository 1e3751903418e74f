//! The floor: a pass-through proxy on the gateway's own HTTP stack (axum server with TCP_NODELAY, pooled
//! reqwest client, a multi-threaded tokio runtime) that does nothing but forward: no authentication,
//! routing, JSON parsing, accounting or logging. Any gateway built on this stack pays at least this for
//! the two extra socket hops on the same machine, so it shows how much of the gap to direct is the hop
//! itself and how much is the gateway's own work. It runs as a separate process (this binary, re-executed).

use std::process::Command;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::procs::{Proc, Res, spawn_announcing};

/// The headers forwarded each way.
const REQUEST_HEADERS: [&str; 2] = ["authorization", "content-type"];

#[derive(Clone)]
struct Floor {
    upstream: String,
    http: reqwest::Client,
}

async fn forward(
    State(floor): State<Floor>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = floor
        .http
        .request(method, format!("{}{path}", floor.upstream))
        .body(body);
    for name in REQUEST_HEADERS {
        if let Some(v) = headers.get(name) {
            request = request.header(name, v);
        }
    }
    match request.send().await {
        Ok(r) => {
            let mut response = Response::builder().status(r.status().as_u16());
            if let Some(v) = r.headers().get("content-type") {
                response = response.header("content-type", v);
            }
            response
                .body(Body::from_stream(r.bytes_stream()))
                .unwrap_or_else(|e| (StatusCode::BAD_GATEWAY, e.to_string()).into_response())
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// Serve the floor proxy in front of `upstream` on an ephemeral port; prints `http://<addr>` on stdout.
pub async fn serve(upstream: &str) -> Res<()> {
    use axum::serve::ListenerExt;
    let http = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| e.to_string())?;
    let floor = Floor {
        upstream: upstream.trim_end_matches('/').to_owned(),
        http,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let app = Router::new().fallback(forward).with_state(floor);
    axum::serve(listener, app.into_make_service())
        .await
        .map_err(|e| e.to_string())
}

/// Start the floor proxy (this binary with `--floor-upstream`, `env` added to its environment) in front of
/// `upstream`; returns its base URL.
pub fn start(upstream: &str, env: &[(String, String)]) -> Res<(Proc, String)> {
    let mut command = Command::new(std::env::current_exe().map_err(|e| e.to_string())?);
    command.args(["--floor-upstream", upstream]);
    command.envs(env.iter().map(|(k, v)| (k, v)));
    let (proc, line) = spawn_announcing(command, "the floor proxy")?;
    let url = line.trim().to_owned();
    if !url.starts_with("http://") {
        return Err(format!("the floor proxy printed {line:?}"));
    }
    Ok((proc, url))
}
