//! The all-in-one local server: every function's routes merged behind the common layers.

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use byok_router::Gateway;
use byok_shared::AppState;
use tokio::sync::{oneshot, watch};
use utoipa_axum::router::OpenApiRouter;

/// Every function's routes in one process. Here, and only here, the management functions share a process
/// with the router's caches, so the caches are connected to their changes (`byok_shared::colocated`): a key
/// rotated or a policy saved through the API takes effect at once.
pub fn app(state: AppState) -> Router {
    assemble(state).0
}

/// The app, and the router's state (whose usage writes shutdown waits for).
fn assemble(state: AppState) -> (Router, Gateway) {
    let gateway = connected(&state);
    let (routes, _document) = routes_with(&gateway);
    (byok_shared::http::finish(routes, state), gateway)
}

/// Every function's routes merged, with `GET /openapi.json`, and the OpenAPI document of them all, both
/// from the same registrations.
pub fn routes(state: &AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    routes_with(&connected(state))
}

/// The router's state, its caches connected to the other functions' changes.
fn connected(state: &AppState) -> Gateway {
    let gateway = Gateway::new(state.clone());
    state.connect(gateway.colocated());
    gateway
}

fn routes_with(gateway: &Gateway) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    // Usage writes may run behind inference responses here; management reads (usage, spend, last-used
    // times) first wait for those already started, so a caller reads what it was just billed.
    let settle = middleware::from_fn_with_state(gateway.clone(), settle_usage);
    let management = OpenApiRouter::default()
        .merge(byok_keys::routes())
        .merge(byok_manage::routes())
        .merge(byok_policies::routes())
        .route_layer(settle);
    let routes = OpenApiRouter::default()
        .merge(management)
        .merge(byok_router::routes().with_state(gateway.clone()))
        .merge(byok_console::routes());
    crate::openapi::with_document(routes)
}

async fn settle_usage(State(gateway): State<Gateway>, request: Request, next: Next) -> Response {
    gateway.settled().await;
    next.run(request).await
}

/// Serve until Ctrl-C / SIGTERM, then wait for the usage writes still running and return unused spend
/// leases.
///
/// Each listener gets a thread of its own running a single-threaded runtime (thread per core, as nginx
/// runs a worker process per core): a connection's requests, its provider calls (each thread has its own
/// connection pool) and its stream relays stay on one thread, with no wake-ups across threads and no
/// work stealing, which cost the gateway 11–19 % of its CPU per request (README "Performance",
/// "a runtime per core in `serve`"). The caches, limits, leases and the store stay shared by the threads.
/// The usage writer runs on the calling runtime, which outlives the serving threads, so no batch is
/// dropped with a thread's runtime.
pub async fn serve(listeners: Vec<std::net::TcpListener>, state: AppState) -> std::io::Result<()> {
    // `into_make_service`: each connection gets a clone of the finished router (an `Arc`). Handing axum the
    // `Router` itself re-runs `with_state(())` per connection, copying the route table (about 10 KB per
    // connection by massif, a sixth of the memory of an open stream).
    let (app, gateway) = assemble(state);
    let (stop, mut stopping) = watch::channel(false);
    let mut threads = Vec::new();
    let mut result = Ok(());
    for (slot, listener) in listeners.into_iter().enumerate() {
        let (app, stopping) = (app.clone(), stopping.clone());
        // A thread that ends on its own (an error, or a panic in a build that unwinds), or fails to start
        // (the closure is dropped unrun), stops the others.
        let stop_on_exit = StopOnExit(stop.clone());
        let (ended, end) = oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name(format!("serve-{slot}"))
            .spawn(move || {
                let _stop = stop_on_exit;
                let _ = ended.send(serve_thread(slot, listener, app, stopping));
            });
        match spawned {
            Ok(_) => threads.push(end),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    tokio::select! {
        _ = shutdown() => {}
        _ = stopping.wait_for(|stop| *stop) => {}
    }
    stop.send_replace(true);
    for end in threads {
        let ended = end
            .await
            .unwrap_or_else(|_| Err(std::io::Error::other("a serving thread panicked")));
        result = result.and(ended);
    }
    gateway.shutdown().await;
    result
}

/// Stops every serving thread when dropped.
struct StopOnExit(watch::Sender<bool>);

impl Drop for StopOnExit {
    fn drop(&mut self) {
        self.0.send_replace(true);
    }
}

/// The most threads each serving runtime starts for blocking work (the store's calls, token counts), so
/// that the process's total stays bounded by the thread count (Tokio's default is 512 per runtime).
const BLOCKING_THREADS: usize = 64;

/// One serving thread: `listener`'s connections on a runtime of its own, until `stopping`.
fn serve_thread(
    slot: usize,
    listener: std::net::TcpListener,
    app: Router,
    mut stopping: watch::Receiver<bool>,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    byok_shared::providers::use_own_pool(slot);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()?;
    runtime.block_on(async move {
        // SSE frames are small writes in quick succession: without TCP_NODELAY, Nagle holds each one back
        // until the previous one is acknowledged.
        let listener = tokio::net::TcpListener::from_std(listener)?.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app.into_make_service())
            .with_graceful_shutdown(async move {
                let _ = stopping.wait_for(|stop| *stop).await;
            })
            .await
    })
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
