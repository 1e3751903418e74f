//! Writing request log records, batched, where the router's usage writes run (`usage_writes`): inside the
//! invocation on Lambda (before the response completes), behind the response in `byok serve` under the
//! same gate, so management reads there wait for them and shutdown flushes them.
//!
//! A record is pushed onto one queue, then a flush is run. At most one flush writes at a time: in serve it
//! lingers a moment ([`LINGER`]), then takes everything queued (the records of every request that finished
//! meanwhile), writes it with one `put_many` (one SQLite transaction), and goes on until the queue is
//! empty; a flush that finds another one writing leaves its record to it. Under load the batches grow
//! instead of the transactions (one per request cost the gateway about half its throughput in
//! byok-bench). On Lambda each invocation flushes its own record, at once. Payloads (keys with `logging`
//! on) are encrypted here, off the request's path in serve.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use byok_shared::domain::request_log::{LogRecord, Payload};
use byok_shared::repo::logs::{self, Entry};

use crate::state::Gateway;

/// Behind the response (`byok serve`), how long the writing flush waits for the records of the requests
/// finishing meanwhile before it takes the queue. Without it a flush under load took one or two records,
/// and each SQLite transaction rewrote whole 4 KiB pages into the WAL for them: the request log cost 13 %
/// of the gateway's throughput in byok-bench. Nobody waits for it but a management read (which waits for
/// the writes before it) and shutdown. Lambda never lingers: its invocation awaits its own record.
const LINGER: std::time::Duration = std::time::Duration::from_millis(5);

/// A finished request's record, not yet written.
pub struct Pending {
    pub org_id: String,
    pub record: LogRecord,
    pub payload: Option<Payload>,
}

/// Records waiting for a flush.
#[derive(Default)]
pub struct LogQueue {
    pending: Mutex<Vec<Pending>>,
    /// A flush is writing: it will take what is queued now.
    writing: AtomicBool,
}

impl LogQueue {
    fn push(&self, pending: Pending) {
        self.lock().push(pending);
    }

    fn take(&self) -> Vec<Pending> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Pending>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Queue the record and run a flush where usage writes run.
pub async fn record(gateway: &Gateway, pending: Pending) {
    queue(gateway, pending);
    let flusher = gateway.clone();
    gateway.caches().usage_writes.run(flush(flusher)).await;
}

/// Queue the record for the next flush (which the caller runs, e.g. beside a request's usage writes).
pub fn queue(gateway: &Gateway, pending: Pending) {
    gateway.caches().logs.push(pending);
}

/// Write everything queued, unless another flush is writing (it then writes what is queued too). In
/// `serve` the writing flush holds its usage-writes gate until the queue is empty, so a management read
/// that waited for the gate sees every record queued before it.
pub async fn flush(gateway: Gateway) {
    let queue = &gateway.caches().logs;
    let linger = gateway.app().config().usage_behind_response;
    loop {
        if queue.writing.swap(true, Ordering::AcqRel) {
            return;
        }
        if linger {
            tokio::time::sleep(LINGER).await;
        }
        let batch = queue.take();
        if !batch.is_empty() {
            write(&gateway, batch).await;
        }
        queue.writing.store(false, Ordering::Release);
        // A record queued after the take, by a flush that then saw this one writing, is ours to write.
        if queue.lock().is_empty() {
            return;
        }
    }
}

async fn write(gateway: &Gateway, batch: Vec<Pending>) {
    let app = gateway.app();
    let mut entries = Vec::with_capacity(batch.len());
    for p in batch {
        let payload = match &p.payload {
            None => None,
            Some(payload) => {
                let id = &p.record.request_id;
                match logs::encrypt_payload(app.cipher(), &p.org_id, id, payload).await {
                    Ok(ciphertext) => Some(ciphertext),
                    Err(e) => {
                        tracing::error!(error = %e.message, "request payload could not be encrypted; recorded without it");
                        None
                    }
                }
            }
        };
        let mut record = p.record;
        record.payload_captured = payload.is_some();
        entries.push(Entry {
            org_id: p.org_id,
            record,
            payload,
        });
    }
    let retention = app.config().log_retention;
    if let Err(e) = logs::write(app.store(), &entries, retention).await {
        tracing::error!(error = %e.message, records = entries.len(), "request log records could not be written");
    }
}
