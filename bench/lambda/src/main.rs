//! `byok-lambda-bench`: the router's Lambda path, measured (see `run.rs`).

mod analysis;
mod proxy;
mod run;
mod runtime;
mod setup;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    use clap::Parser;
    match run::run(run::Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("byok-lambda-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
