//! Where requests' usage writes (counters, rate-limit corrections, last-used times, log records) run.
//!
//! In a Lambda function a request's writes are awaited before its response completes (a batch of one): the
//! sandbox may freeze right after it, and a frozen write is a lost one. In the long-lived local server a
//! request only pushes its writes onto a queue and its response goes on; one writer at a time lingers a
//! moment ([`LINGER`]), takes everything queued (at most [`MAX_BATCH`]) and writes it as one batch, in
//! which requests that share a row make one add (`repo::usage::record_many`). A request there costs a
//! queue push, not a task, a lock and three store adds of its own (billing was about a fifth of serve's
//! CPU per request at c=32, by perf, before). Nothing is lost or read stale within the process:
//! - every push takes a sequence number; the writer publishes the number of the last job of each batch it
//!   has finished;
//! - [`Batched::settled`] waits until every job pushed before it is finished. Usage, spend and last-used
//!   reads call it first (read-your-writes), and so does shutdown.
//!
//! A `kill -9` can lose the writes of the responses of its last moments (usually a few milliseconds).

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::watch;

/// How long the writer waits for more jobs before it takes the queue. Nobody waits for it but a
/// management read (which waits for the writes before it) and shutdown.
const LINGER: Duration = Duration::from_millis(5);

/// The most jobs one batch takes: the store adds a batch issues at once stay bounded.
const MAX_BATCH: usize = 256;

/// The most jobs waiting: past it a request waits until the writer has caught up to within this many jobs
/// of its own, so a store that falls behind slows the requests down instead of filling the memory.
const MAX_QUEUED: u64 = 4096;

pub struct Batched<T> {
    /// `None`: inline (Lambda).
    queue: Option<Arc<Queue<T>>>,
}

struct Queue<T> {
    /// The runtime the writer runs on: the one that built the queue. `byok serve` builds it on the runtime
    /// that outlives its serving threads' own, so a batch is never dropped with a serving thread's runtime
    /// at shutdown. `None` outside a runtime (the writer then runs where the first job is pushed).
    runtime: Option<Handle>,
    state: Mutex<State<T>>,
    /// The sequence number of the last job written (or dropped by a failed write).
    done: watch::Sender<u64>,
}

struct State<T> {
    pending: Vec<T>,
    /// Jobs pushed so far; a job's sequence number is the count after its push.
    pushed: u64,
    /// A writer is running: it will take what is queued.
    writing: bool,
}

impl<T: Send + 'static> Batched<T> {
    /// Awaited in the request (Lambda, and the default).
    pub fn inline() -> Self {
        Self { queue: None }
    }

    /// Behind the response, batched (the local server).
    pub fn behind_response() -> Self {
        Self {
            queue: Some(Arc::new(Queue {
                runtime: Handle::try_current().ok(),
                state: Mutex::new(State {
                    pending: Vec::new(),
                    pushed: 0,
                    writing: false,
                }),
                done: watch::Sender::new(0),
            })),
        }
    }

    /// Write `job`: now, as a batch of one (in the request's span), or queued for the writer, which `write`
    /// then is if none is running. A batch holds many requests, so its log lines carry no request's span
    /// (they count the requests instead).
    pub async fn run<W, F>(&self, job: T, write: W)
    where
        W: Fn(Vec<T>) -> F + Send + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let Some(queue) = &self.queue else {
            // Boxed: a batch's writes side by side make a large future, and inline in the request's own
            // it overflowed debug builds' stacks before.
            return Box::pin(write(vec![job])).await;
        };
        let (start, seq) = {
            let mut state = queue.lock();
            state.pending.push(job);
            state.pushed += 1;
            (!std::mem::replace(&mut state.writing, true), state.pushed)
        };
        if start {
            let drain = drain(queue.clone(), write);
            match &queue.runtime {
                Some(runtime) => drop(runtime.spawn(drain)),
                None => drop(tokio::spawn(drain)),
            }
        }
        if seq.saturating_sub(*queue.done.borrow()) > MAX_QUEUED {
            queue.written(seq - MAX_QUEUED).await;
        }
    }

    /// Returns once every job pushed before this call has been written.
    pub async fn settled(&self) {
        if let Some(queue) = &self.queue {
            let target = queue.lock().pushed;
            queue.written(target).await;
        }
    }
}

impl<T> Queue<T> {
    /// Returns once the jobs up to sequence number `seq` are written.
    async fn written(&self, seq: u64) {
        let mut done = self.done.subscribe();
        // The sender lives in `self`, which this borrow keeps: the wait ends only when the count does.
        let _ = done.wait_for(|&written| written >= seq).await;
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Write batches until the queue is empty. Each batch is written on its own task, so a panic in a write
/// loses that batch (and is logged by Tokio), never the queue or a `settled` waiter.
async fn drain<T, W, F>(queue: Arc<Queue<T>>, write: W)
where
    T: Send + 'static,
    W: Fn(Vec<T>) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let mut taken = *queue.done.borrow();
    loop {
        tokio::time::sleep(LINGER).await;
        let batch = {
            let mut state = queue.lock();
            if state.pending.is_empty() {
                state.writing = false;
                return;
            }
            let first = state.pending.len().min(MAX_BATCH);
            let rest = state.pending.split_off(first);
            std::mem::replace(&mut state.pending, rest)
        };
        taken += batch.len() as u64;
        let _ = tokio::spawn(write(batch)).await;
        queue.done.send_replace(taken);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A writer that takes its time, counts the jobs it wrote and records each batch's size.
    #[derive(Clone, Default)]
    struct Recorder {
        written: Arc<AtomicUsize>,
        batches: Arc<Mutex<Vec<usize>>>,
    }

    impl Recorder {
        fn write(
            &self,
        ) -> impl Fn(Vec<u32>) -> futures::future::BoxFuture<'static, ()> + Send + 'static {
            let this = self.clone();
            move |batch| {
                let this = this.clone();
                Box::pin(async move {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    this.batches.lock().unwrap().push(batch.len());
                    this.written.fetch_add(batch.len(), Ordering::SeqCst);
                })
            }
        }
    }

    #[tokio::test]
    async fn inline_writes_a_batch_of_one_before_run_returns() {
        let recorder = Recorder::default();
        Batched::inline().run(7u32, recorder.write()).await;
        assert_eq!(recorder.written.load(Ordering::SeqCst), 1);
        assert_eq!(*recorder.batches.lock().unwrap(), vec![1]);
    }

    #[tokio::test]
    async fn behind_the_response_returns_at_once_batches_and_settled_waits_for_every_job() {
        let writes = Batched::behind_response();
        let recorder = Recorder::default();
        for job in 0..40u32 {
            writes.run(job, recorder.write()).await;
        }
        assert_eq!(recorder.written.load(Ordering::SeqCst), 0, "run waited");
        writes.settled().await;
        assert_eq!(recorder.written.load(Ordering::SeqCst), 40);
        // Pushed together, written together: one batch, not forty.
        assert_eq!(*recorder.batches.lock().unwrap(), vec![40]);
    }

    #[tokio::test]
    async fn batches_are_bounded_and_a_later_push_is_written_too() {
        let writes = Batched::behind_response();
        let recorder = Recorder::default();
        let jobs = MAX_BATCH as u32 + 10;
        for job in 0..jobs {
            writes.run(job, recorder.write()).await;
        }
        writes.settled().await;
        assert_eq!(*recorder.batches.lock().unwrap(), vec![MAX_BATCH, 10]);
        // The writer stopped with the queue empty; the next push starts one again.
        writes.run(0, recorder.write()).await;
        writes.settled().await;
        assert_eq!(
            recorder.written.load(Ordering::SeqCst),
            jobs as usize + 1,
            "a push after the writer stopped was not written"
        );
    }

    #[tokio::test]
    async fn past_the_queue_bound_a_push_waits_for_the_writer() {
        let writes = Batched::behind_response();
        let recorder = Recorder::default();
        for job in 0..MAX_QUEUED as u32 {
            writes.run(job, recorder.write()).await;
        }
        assert_eq!(recorder.written.load(Ordering::SeqCst), 0, "run waited");
        // One more: it waits until its job is within the bound, i.e. the first batch is written.
        writes.run(0, recorder.write()).await;
        assert_eq!(recorder.written.load(Ordering::SeqCst), MAX_BATCH);
        writes.settled().await;
        assert_eq!(
            recorder.written.load(Ordering::SeqCst),
            MAX_QUEUED as usize + 1
        );
    }

    #[tokio::test]
    async fn a_write_that_panics_loses_its_batch_but_never_blocks_settled() {
        let writes = Batched::behind_response();
        let written = Arc::new(AtomicUsize::new(0));
        // One writer for the queue's life, as in the gateway: it panics on a batch holding job 0.
        let write = |written: Arc<AtomicUsize>| {
            move |batch: Vec<u32>| {
                let written = written.clone();
                async move {
                    assert!(!batch.contains(&0), "write failed");
                    written.fetch_add(batch.len(), Ordering::SeqCst);
                }
            }
        };
        writes.run(0u32, write(written.clone())).await;
        tokio::time::timeout(Duration::from_secs(5), writes.settled())
            .await
            .expect("settled waited for a batch that panicked");
        writes.run(1, write(written.clone())).await;
        writes.settled().await;
        assert_eq!(
            written.load(Ordering::SeqCst),
            1,
            "the writer died with the panic"
        );
    }
}
