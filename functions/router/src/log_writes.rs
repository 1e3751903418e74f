//! Writing request log records: a batch of them in one transaction (`put_many`), with the other writes
//! requests leave behind them (`writes`): inside the invocation on Lambda (before the response completes),
//! behind the responses in `byok serve`, where one batch holds the records of every request that finished
//! while the writer lingered (one transaction per request cost the gateway about half its throughput in
//! byok-bench), and management reads and shutdown wait for them. Payloads (keys with `logging` on) are
//! encrypted here, off the request's path in serve.

use byok_shared::domain::request_log::{LogRecord, Payload};
use byok_shared::repo::logs::{self, Entry};

use crate::state::Gateway;
use crate::writes::{self, Job};

/// A finished request's record, not yet written.
pub struct Pending {
    pub org_id: String,
    pub record: LogRecord,
    pub payload: Option<Payload>,
}

/// Write the record of a request that is not billed, where the router's writes run.
pub async fn record(gateway: &Gateway, pending: Pending) {
    writes::run(gateway, Job::logged(pending)).await;
}

/// Write a batch of records in one transaction.
pub async fn write(gateway: &Gateway, batch: Vec<Pending>) {
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
