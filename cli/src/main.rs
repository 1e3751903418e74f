use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    byok_cli::run(byok_cli::Cli::parse()).await
}
