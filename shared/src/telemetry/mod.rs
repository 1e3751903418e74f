//! Structured JSON logs through `tracing`. `RUST_LOG` filters (default `info`): a level, or comma-separated
//! `target=level` directives (`warn,byok_shared=debug`). Directives are matched by target prefix, without
//! the regex engine `EnvFilter` would link into every Lambda binary (about 0.3 MB).

use std::str::FromStr;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// The filter `RUST_LOG` names; `info` when unset, and `info` (with a note on stderr) when unreadable.
pub fn filter(value: Option<&str>) -> Targets {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    match value.map(Targets::from_str) {
        None => Targets::new().with_default(tracing::Level::INFO),
        Some(Ok(targets)) => targets,
        Some(Err(e)) => {
            eprintln!("RUST_LOG is not a filter ({e}); logging at info");
            Targets::new().with_default(tracing::Level::INFO)
        }
    }
}

fn json_layer<S, W>(writer: W) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(writer)
        .with_filter(filter(std::env::var("RUST_LOG").ok().as_deref()))
}

/// Logs written to stderr as they happen: a Lambda function, whose sandbox may freeze right after a
/// response, must not leave lines in a buffer.
pub fn init() {
    // A second init (tests, or a binary that calls it twice) is harmless.
    let _ = tracing_subscriber::registry()
        .with(json_layer(std::io::stderr))
        .try_init();
}

#[cfg(feature = "local")]
pub mod batched;

/// Logs handed to a writer thread (the long-lived local server): a line costs its caller an append to a
/// buffer, not a write to stderr, and the thread writes what gathered in one `write` every few
/// milliseconds ([`batched`]). Nothing is dropped. Keep the guard until exit: dropping it writes what is
/// left. Should the thread not start, lines go to stderr as they happen.
#[cfg(feature = "local")]
pub fn init_background() -> Option<batched::Guard> {
    match batched::batched(std::io::stderr()) {
        Ok((writer, guard)) => {
            let _ = tracing_subscriber::registry()
                .with(json_layer(writer))
                .try_init();
            Some(guard)
        }
        Err(e) => {
            eprintln!("the log writer thread did not start ({e}); logging to stderr directly");
            init();
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use tracing::Level;
    use tracing_subscriber::filter::LevelFilter;

    use super::*;

    #[test]
    fn reads_levels_and_target_directives() {
        assert_eq!(filter(None).default_level(), Some(LevelFilter::INFO));
        assert_eq!(
            filter(Some("warn")).default_level(),
            Some(LevelFilter::WARN)
        );
        let t = filter(Some("warn,byok_shared=debug"));
        assert!(t.would_enable("byok_shared::routing", &Level::DEBUG));
        assert!(!t.would_enable("hyper", &Level::INFO));
        assert_eq!(filter(Some("off")).default_level(), Some(LevelFilter::OFF));
        assert_eq!(
            filter(Some("byok=loud")).default_level(),
            Some(LevelFilter::INFO)
        );
    }
}
