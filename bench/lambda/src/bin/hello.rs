//! A hello-world `lambda_http` bootstrap: the floor for the router's init time, built and run the same way.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::run(lambda_http::service_fn(
        |_req: lambda_http::Request| async { Ok::<_, lambda_http::Error>("hello") },
    ))
    .await
}
