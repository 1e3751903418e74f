#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let state = byok_shared::app::start_from_env().await?;
    lambda_http::run(byok_policies::router(state)).await
}
