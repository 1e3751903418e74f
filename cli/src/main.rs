use clap::Parser;

/// mimalloc, not glibc's malloc: allocation was a fifth of `serve`'s CPU per request at c=32, with
/// glibc's arena consolidation and lock wake-ups in the profile. Built without transparent huge pages
/// (`no_thp`), which took idle RSS from 21 to 50 MB (README "Performance").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One thread: the commands are short, and `serve` runs its connections on threads of its own
/// (`server::serve`), this one keeping the usage writer and the signals.
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    byok_cli::run(byok_cli::Cli::parse()).await
}
