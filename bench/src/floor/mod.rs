//! The floors: pass-through proxies in front of the mock that do nothing but forward (no authentication,
//! routing, JSON parsing, accounting or logging), each one layer lower than the last. Any gateway built on
//! a floor's stack pays at least that floor for the two extra socket hops, so together they show how much
//! of the gap to the nginx proxy is the gateway's own work, how much its HTTP client and server, and how
//! much the runtime. Each runs as a separate process (this binary, re-executed with `--floor-upstream`).

mod hyper_only;
mod per_core;
mod splice;
mod stack;

use std::process::Command;

use clap::ValueEnum;

use crate::procs::{Proc, Res, spawn_announcing};

/// What a floor is built on.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Kind {
    /// The gateway's own stack: axum's server and a pooled reqwest client, as `byok serve` uses them, on a
    /// single-threaded runtime per core (as `byok serve` runs since 2026-12-04).
    StackPerCore,
    /// The same stack on Tokio's multi-threaded runtime (as `byok serve` ran before).
    Stack,
    /// hyper's HTTP/1 server and hyper-util's pooled client, the layer under both axum and reqwest.
    Hyper,
    /// No HTTP: one upstream connection per caller connection, bytes copied both ways by Tokio.
    Splice,
}

impl Kind {
    /// The target's name in the tables.
    pub fn name(self) -> &'static str {
        match self {
            Kind::StackPerCore => "floor: axum + reqwest, runtime per core",
            Kind::Stack => "floor: axum + reqwest",
            Kind::Hyper => "floor: hyper alone",
            Kind::Splice => "floor: TCP splice",
        }
    }
}

/// Serve a floor of `kind` in front of `upstream` on an ephemeral port; prints `http://<addr>` on stdout.
pub async fn serve(kind: Kind, upstream: &str) -> Res<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    run(kind, listener, upstream).await
}

/// Serve a floor of `kind` on `listener` in front of `upstream`.
async fn run(kind: Kind, listener: tokio::net::TcpListener, upstream: &str) -> Res<()> {
    let upstream = upstream.trim_end_matches('/');
    match kind {
        Kind::StackPerCore => per_core::serve(listener, upstream).await,
        Kind::Stack => stack::serve(listener, upstream).await,
        Kind::Hyper => hyper_only::serve(listener, upstream).await,
        Kind::Splice => splice::serve(listener, upstream).await,
    }
}

/// Start a floor of `kind` (this binary, `env` added to its environment) in front of `upstream`;
/// returns its base URL.
pub fn start(kind: Kind, upstream: &str, env: &[(String, String)]) -> Res<(Proc, String)> {
    let mut command = Command::new(std::env::current_exe().map_err(|e| e.to_string())?);
    let arg = kind
        .to_possible_value()
        .ok_or("a floor kind without a name")?;
    command.args(["--floor-upstream", upstream, "--floor-kind", arg.get_name()]);
    command.envs(env.iter().map(|(k, v)| (k, v)));
    let (proc, line) = spawn_announcing(command, kind.name())?;
    let url = line.trim().to_owned();
    if !url.starts_with("http://") {
        return Err(format!("{} printed {line:?}", kind.name()));
    }
    Ok((proc, url))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::HeaderMap;
    use axum::routing::post;

    /// An upstream that answers with what it was sent: the path, the caller's key and the body.
    async fn upstream() -> String {
        let app = Router::new().route(
            "/v1/echo",
            post(|headers: HeaderMap, body: String| async move {
                let key = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                format!("{key}|{body}")
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    #[tokio::test]
    async fn every_floor_passes_a_request_and_its_answer_on_unchanged() {
        let upstream = upstream().await;
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        for kind in Kind::value_variants() {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let server = tokio::spawn({
                let upstream = upstream.clone();
                async move { run(*kind, listener, &upstream).await }
            });
            for round in 0..3 {
                let answer = http
                    .post(format!("{url}/v1/echo"))
                    .header("authorization", "Bearer sk-floor")
                    .body(format!("round {round}"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(answer.status(), 200, "{kind:?}");
                let text = answer.text().await.unwrap();
                assert_eq!(text, format!("Bearer sk-floor|round {round}"), "{kind:?}");
            }
            server.abort();
        }
    }
}
