//! The request log on the store port: one item per request, `LOG#<org>` / `<inverted ULID of the request
//! id>`, so a partition query reads an org's requests newest first, a time range is where the query starts
//! and stops, and a request id names its item (no index, no scan). Other filters are checked on the records
//! the time-range query reads, at most [`MAX_READ`] per page (see docs/storage.md for the cost).
//!
//! A captured payload sits in the same item as a ciphertext (encryption context: org, `request_log`,
//! request id), never in plaintext, and only the detail read returns it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use zeroize::Zeroizing;

use super::from_body;
use super::log_row::Row;
use crate::cipher::{Cipher, CipherError, EncryptionContext, envelope};
use crate::domain::request_log::{self, LogFilter, LogRecord, Payload};
use crate::error::Error;
use crate::store::{Item, Record, Store, decode_cursor, encode_cursor};

/// Most records one list page reads from the store, matching or not. A page that reaches it ends early
/// with a cursor, so a rare filter costs bounded reads per call.
pub const MAX_READ: usize = 2000;
/// Records read per store query when a filter beyond the time range is set.
const FILTERED_CHUNK: usize = 200;
/// The `provider` field of a payload's encryption context.
pub const PAYLOAD_CONTEXT: &str = "request_log";
pub(crate) const PAYLOAD_FIELD: &str = "payload";

pub fn partition(org_id: &str) -> String {
    format!("LOG#{org_id}")
}

/// A record to write: whose, and (keys with `logging` on) its encrypted payload.
#[derive(Debug, Clone)]
pub struct Entry {
    pub org_id: String,
    pub record: LogRecord,
    pub payload: Option<Vec<u8>>,
}

/// The encryption context of a request's payload: bound to the org and the request id, so a ciphertext
/// copied to another record (or org) does not decrypt.
pub fn payload_context(org_id: &str, request_id: &str) -> EncryptionContext {
    EncryptionContext::new(org_id, PAYLOAD_CONTEXT, request_id)
}

/// The payload encrypted under its context. Envelope encryption ([`envelope`]): two bodies of up to
/// [`request_log::PAYLOAD_CAP`] each are far more than one KMS `Encrypt` call takes (4 KiB).
pub async fn encrypt_payload(
    cipher: &dyn Cipher,
    org_id: &str,
    request_id: &str,
    payload: &Payload,
) -> crate::Result<Vec<u8>> {
    let text = Zeroizing::new(
        serde_json::to_vec(payload)
            .map_err(|e| Error::internal(format!("serialise payload: {e}")))?,
    );
    envelope::seal(cipher, &text, &payload_context(org_id, request_id))
        .await
        .map_err(|e| Error::unavailable(format!("payload could not be encrypted: {e}")))
}

pub async fn decrypt_payload(
    cipher: &dyn Cipher,
    org_id: &str,
    request_id: &str,
    ciphertext: &[u8],
) -> crate::Result<Payload> {
    let context = payload_context(org_id, request_id);
    let failed =
        |e: CipherError| Error::unavailable(format!("payload could not be decrypted: {e}"));
    let text = if ciphertext.first() == Some(&envelope::FORMAT) {
        envelope::open(cipher, ciphertext, &context)
            .await
            .map_err(failed)?
    } else {
        // Written before envelope encryption: the payload went through the port directly.
        let secret = cipher.decrypt(ciphertext, &context).await.map_err(failed)?;
        Zeroizing::new(secret.expose().as_bytes().to_vec())
    };
    serde_json::from_slice(&text)
        .map_err(|e| Error::internal(format!("stored payload has an unexpected shape: {e}")))
}

/// The entry as a store record: the log record's row (`log_row`: its `null` fields left out) serialised
/// straight to JSON text (no JSON tree: building, walking and dropping one per request was most of the
/// request log's cost in `byok serve`), with the payload's ciphertext beside its fields when captured.
fn record(entry: &Entry, retention: chrono::Duration) -> crate::Result<Record> {
    let sk = request_log::sort_key(&entry.record.request_id)
        .ok_or_else(|| Error::internal("a log record without a request id"))?;
    let payload = entry
        .payload
        .as_ref()
        .map(|ciphertext| STANDARD.encode(ciphertext));
    let row = Row {
        record: &entry.record,
        payload: payload.as_deref(),
    };
    let body = serde_json::to_string(&row)
        .map_err(|e| Error::internal(format!("serialise log record: {e}")))?;
    let expires = entry.record.created_at + retention;
    Ok(Record {
        pk: partition(&entry.org_id),
        sk,
        body,
        expires_at: Some(expires.timestamp()),
    })
}

/// Write records (one store call where the backend batches), each expiring `retention` after its time.
pub async fn write(
    store: &dyn Store,
    entries: &[Entry],
    retention: std::time::Duration,
) -> crate::Result<()> {
    let retention = chrono::Duration::from_std(retention)
        .map_err(|_| Error::internal("log retention out of range"))?;
    let records = entries
        .iter()
        .map(|e| record(e, retention))
        .collect::<crate::Result<Vec<_>>>()?;
    store.put_many(records).await?;
    Ok(())
}

/// A stored record and its payload's ciphertext, if captured.
#[derive(Debug, Clone)]
pub struct Stored {
    pub record: LogRecord,
    pub payload: Option<Vec<u8>>,
}

fn stored(item: Item) -> crate::Result<Stored> {
    let mut body = item.body;
    let payload = match &mut body {
        Value::Object(map) => map.remove(PAYLOAD_FIELD),
        _ => None,
    };
    let payload = match payload {
        Some(Value::String(b64)) => Some(
            STANDARD
                .decode(b64)
                .map_err(|_| Error::internal("stored payload is not base64"))?,
        ),
        _ => None,
    };
    Ok(Stored {
        record: from_body(body)?,
        payload,
    })
}

/// The org's record of `request_id`; `None` for an unknown or malformed id, or another org's request.
pub async fn get(
    store: &dyn Store,
    org_id: &str,
    request_id: &str,
) -> crate::Result<Option<Stored>> {
    let Some(sk) = request_log::sort_key(request_id) else {
        return Ok(None);
    };
    store
        .get(&partition(org_id), &sk)
        .await?
        .map(stored)
        .transpose()
}

/// One page of the org's records, newest first.
#[derive(Debug, Clone)]
pub struct LogPage {
    pub records: Vec<LogRecord>,
    /// Where the next page starts; `None` when nothing older can match.
    pub next_cursor: Option<String>,
}

/// Up to `limit` of the org's records matching `filter`, newest first, starting after `cursor` (else at
/// the filter's `end`, else now). Reads at most [`MAX_READ`] records.
pub async fn list(
    store: &dyn Store,
    org_id: &str,
    filter: &LogFilter,
    limit: usize,
    cursor: Option<&str>,
) -> crate::Result<LogPage> {
    let pk = partition(org_id);
    // A cursor comes from the caller: one this API did not hand out is the caller's error (400), never a
    // store error.
    let is_sort_key = |sk: String| sk.len() == 26 && sk.bytes().all(|b| b.is_ascii_alphanumeric());
    if let Some(c) = cursor
        && !decode_cursor(c).is_ok_and(is_sort_key)
    {
        return Err(Error::invalid(
            "cursor",
            "cursor must be a next_cursor this API returned",
        ));
    }
    let mut after = match cursor {
        Some(c) => Some(c.to_owned()),
        None => filter
            .end
            .map(|end| encode_cursor(&request_log::sort_key_before(end))),
    };
    let chunk = if filter.is_time_only() {
        limit
    } else {
        FILTERED_CHUNK.max(limit)
    };
    let mut records = Vec::new();
    let mut read = 0;
    loop {
        let page = store.query(&pk, "", chunk, after.as_deref()).await?;
        let count = page.items.len();
        for (i, item) in page.items.into_iter().enumerate() {
            read += 1;
            let sk = item.sk.clone();
            let record = stored(item)?.record;
            if filter.start.is_some_and(|s| record.created_at < s) {
                return Ok(LogPage {
                    records,
                    next_cursor: None,
                });
            }
            if filter.matches(&record) {
                records.push(record);
            }
            let last_of_all = i + 1 == count && page.next.is_none();
            if records.len() == limit || read >= MAX_READ {
                return Ok(LogPage {
                    records,
                    next_cursor: (!last_of_all).then(|| encode_cursor(&sk)),
                });
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => {
                return Ok(LogPage {
                    records,
                    next_cursor: None,
                });
            }
        }
    }
}
