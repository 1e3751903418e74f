#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let app = byok_shared::app::start_from_env().await?;
    app.providers(); // the TLS client is built during Lambda's init, not on the first request
    lambda_http::run_with_streaming_response(byok_router::router(app)).await
}
