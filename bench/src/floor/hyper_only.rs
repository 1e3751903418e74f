//! The floor on hyper alone: hyper's HTTP/1 server and hyper-util's pooled client (TCP_NODELAY both
//! ways) on the multi-threaded Tokio runtime, with the request and the answer handed on as the bodies
//! they arrived as. axum and reqwest are both built on these two; what the stack floor costs above this
//! one is theirs.

use hyper::body::Incoming;
use hyper::{Request, Uri};
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::procs::Res;

pub async fn serve(listener: TcpListener, upstream: &str) -> Res<()> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Incoming> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(64)
        .build(connector);
    let upstream: Uri = upstream.parse().map_err(|e| format!("{upstream}: {e}"))?;
    loop {
        let (caller, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let _ = caller.set_nodelay(true);
        let (client, upstream) = (client.clone(), upstream.clone());
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            let (client, upstream) = (client.clone(), upstream.clone());
            async move {
                let mut parts = upstream.into_parts();
                parts.path_and_query = request.uri().path_and_query().cloned();
                *request.uri_mut() = Uri::from_parts(parts).map_err(|e| e.to_string())?;
                client.request(request).await.map_err(|e| e.to_string())
            }
        });
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(caller), service)
                .await;
        });
    }
}
