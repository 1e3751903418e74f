#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    byok_shared::telemetry::init();
    lambda_http::run(byok_console::app()).await
}
