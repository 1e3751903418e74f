//! The floor on the gateway's own stack: axum's server (TCP_NODELAY) and a pooled reqwest client on the
//! multi-threaded Tokio runtime, collecting the request body and relaying the answer as a stream, as the
//! gateway does.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;

use crate::procs::Res;

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

pub async fn serve(listener: TcpListener, upstream: &str) -> Res<()> {
    serve_until(listener, upstream, std::future::pending()).await
}

/// [`serve`] until `stop` completes.
pub async fn serve_until(
    listener: TcpListener,
    upstream: &str,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Res<()> {
    use axum::serve::ListenerExt;
    let http = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(64)
        .build()
        .map_err(|e| e.to_string())?;
    let floor = Floor {
        upstream: upstream.to_owned(),
        http,
    };
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let app = Router::new().fallback(forward).with_state(floor);
    axum::serve(listener, app.into_make_service())
        .with_graceful_shutdown(stop)
        .await
        .map_err(|e| e.to_string())
}
