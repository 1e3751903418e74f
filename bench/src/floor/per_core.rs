//! The stack floor as `byok serve` runs it since 2026-12-04: a single-threaded Tokio runtime per core,
//! each with its own reqwest pool, accepting on the same listening socket. The multi-threaded `stack`
//! floor stays beside it, so a run shows what the runtime model alone is worth on the bare stack.

use tokio::net::TcpListener;
use tokio::sync::watch;

use super::stack;
use crate::procs::Res;

/// Serve on one runtime per core until this future is dropped (its threads then stop).
pub async fn serve(listener: TcpListener, upstream: &str) -> Res<()> {
    let listener = listener.into_std().map_err(|e| e.to_string())?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Dropping the sender (this future's end) ends every thread's server.
    let (_running, stopped) = watch::channel(());
    let mut ended = Vec::new();
    for _ in 0..threads {
        let listener = listener.try_clone().map_err(|e| e.to_string())?;
        let (upstream, mut stopped) = (upstream.to_owned(), stopped.clone());
        let (done, end) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let served = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
                .and_then(|runtime| {
                    runtime.block_on(async move {
                        let listener =
                            TcpListener::from_std(listener).map_err(|e| e.to_string())?;
                        let stop = async move { while stopped.changed().await.is_ok() {} };
                        stack::serve_until(listener, &upstream, stop).await
                    })
                });
            let _ = done.send(served);
        });
        ended.push(end);
    }
    for end in ended {
        end.await
            .map_err(|_| "a floor thread panicked".to_owned())??;
    }
    Ok(())
}
