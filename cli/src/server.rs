//! The all-in-one local server: every function's routes merged behind the common layers.

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use byok_shared::AppState;
use utoipa_axum::router::OpenApiRouter;

pub fn app(state: AppState) -> Router {
    let (routes, _document) = routes(&state);
    byok_shared::http::finish(routes, state)
}

/// Every function's routes merged, with `GET /openapi.json`, and the OpenAPI document of them all, both
/// from the same registrations.
pub fn routes(state: &AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    // Usage writes may run behind inference responses here; management reads (usage, spend, last-used
    // times) first wait for those already started, so a caller reads what it was just billed.
    let settle = middleware::from_fn_with_state(state.clone(), settle_usage);
    let management = OpenApiRouter::default()
        .merge(byok_keys::routes())
        .merge(byok_manage::routes())
        .merge(byok_policies::routes())
        .route_layer(settle);
    let routes = OpenApiRouter::default()
        .merge(management)
        .merge(byok_router::routes())
        .merge(byok_console::routes());
    crate::openapi::with_document(routes)
}

async fn settle_usage(State(state): State<AppState>, request: Request, next: Next) -> Response {
    state.usage_writes().settled().await;
    next.run(request).await
}

/// Serve until Ctrl-C / SIGTERM, then wait for the usage writes still running.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // SSE frames are small writes in quick succession: without TCP_NODELAY, Nagle holds each one back until
    // the previous one is acknowledged.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    // `into_make_service`: each connection gets a clone of the finished router (an `Arc`). Handing axum the
    // `Router` itself re-runs `with_state(())` per connection, copying the route table (about 10 KB per
    // connection by massif, a sixth of the memory of an open stream).
    axum::serve(listener, app(state.clone()).into_make_service())
        .with_graceful_shutdown(shutdown())
        .await?;
    state.usage_writes().settled().await;
    Ok(())
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
