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

tokio::task_local! {
    /// The id of the request whose handler is running, set by the common layers ([`in_request`]).
    static REQUEST_ID: String;
}

/// Run `handler` as request `id`: every event it raises is logged with `"span":{"name":"request",
/// "request_id":…}`, the shape a `request` span gave these lines, at every level. A task-local, not a
/// span: the span, opened at `info`, was filtered out at `RUST_LOG=warn` and took the id off every warning
/// and error; and it was opened, entered and left at every poll, closed, and its field formatted, for
/// every request (0–7 % of `serve`'s CPU per request, more on a busy machine). The task-local is read only
/// when an event is written. Like a span's, it does not follow into tasks the handler spawns.
pub async fn in_request<F: std::future::Future>(id: String, handler: F) -> F::Output {
    REQUEST_ID.scope(id, handler).await
}

/// The JSON lines every binary writes (and the tests capture), unfiltered: one object per event with
/// `timestamp`, `level`, `fields` and `target`, and `span` inside a request ([`in_request`]).
pub fn layer<W>(writer: W) -> json_lines::JsonLines<W>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    json_lines::JsonLines::new(writer)
}

fn json_layer<S, W>(writer: W) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    layer(writer).with_filter(filter(std::env::var("RUST_LOG").ok().as_deref()))
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
#[cfg(test)]
pub(crate) mod captured;
pub mod json_lines;

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

    use super::captured::Lines;
    use super::*;

    #[tokio::test]
    async fn events_carry_their_own_requests_id_and_no_other() {
        let lines = Lines::default();
        // At `warn`: the id is on warnings and errors whatever the level (a span opened at `info` was
        // filtered out with it, and took the id from every line at `warn`).
        let _guard = lines.capture("warn");
        // Two requests interleaved on the same task (so on one thread, polled in turns), each logging
        // before and after the other has run.
        let request = |id: &'static str| {
            in_request(id.to_owned(), async move {
                tracing::warn!(who = id, "first");
                tokio::task::yield_now().await;
                tracing::warn!(who = id, "second");
            })
        };
        tokio::join!(request("req_a"), request("req_b"));
        in_request("req_c".into(), async {
            tracing::info!(who = "req_c", "filtered out")
        })
        .await;
        tracing::warn!(who = "none", "outside");
        let written = lines.written();
        assert_eq!(written.len(), 5);
        for line in &written {
            let who = line["fields"]["who"].as_str().unwrap();
            if who == "none" {
                assert!(line.get("span").is_none(), "{line}");
            } else {
                assert_eq!(line["span"]["request_id"], who, "{line}");
                assert_eq!(line["span"]["name"], "request");
            }
            assert_eq!(line["level"], "WARN");
            assert!(line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
            assert_eq!(line["target"], "byok_shared::telemetry::tests");
        }
    }

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
