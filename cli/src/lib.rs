//! `byok`: the operator's command line. `serve` runs every function's routes in one local process;
//! `org create`, `platform-key set` and `price set|list|import` bootstrap a gateway, locally or against a deployed stack.

mod args;
mod commands;
mod listen;
pub mod openapi;
mod prices;
pub mod server;

pub use args::Cli;

/// Run a parsed command line; errors print to stderr and give exit code 1 (2 for bad configuration).
pub async fn run(cli: Cli) -> std::process::ExitCode {
    match commands::dispatch(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("byok: {e}");
            std::process::ExitCode::from(e.exit_code())
        }
    }
}
