//! `Idempotency-Key` on a non-streaming request: a repeat within 10 minutes with the same body gets the first
//! successful answer again, without calling a provider or charging; the same key with another body is a 422;
//! a repeat while the first still runs is a 409. The records are `byok_shared::repo::idempotency`'s.

use axum::http::HeaderMap;
use byok_shared::Result;
use byok_shared::auth::Caller;
use byok_shared::error::{Error, ErrorKind};
use byok_shared::providers::RequestBody;
use byok_shared::repo::idempotency::{Claim, Idem, Stored};
use byok_shared::store::Store;

pub const HEADER: &str = "idempotency-key";
const MAX_LEN: usize = 255;

pub enum Begin {
    /// No key given, or a streaming request: nothing to do.
    None,
    /// First time: proceed, then `finish` or `abandon` the slot.
    Slot(Slot),
    Replay(Stored),
}

/// A claimed key, held until the request ends.
pub struct Slot(Idem);

pub async fn begin(
    store: &dyn Store,
    caller: &Caller,
    headers: &HeaderMap,
    body: &RequestBody,
    streaming: bool,
) -> Result<Begin> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(Begin::None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= MAX_LEN)
        .ok_or_else(|| {
            Error::invalid(
                "Idempotency-Key",
                format!("Idempotency-Key must be 1-{MAX_LEN} visible ASCII characters"),
            )
        })?;
    if streaming {
        return Ok(Begin::None);
    }
    // The tree, canonical (fields in name order): the same hash as a body sent with other spacing.
    let idem = Idem::new(caller.org_id(), caller.api_key_id(), key, body.tree());
    match idem.claim(store).await? {
        Claim::Claimed => Ok(Begin::Slot(Slot(idem))),
        Claim::Replay(stored) => Ok(Begin::Replay(stored)),
        Claim::InProgress => Err(Error::conflict(
            "a request with this Idempotency-Key is still in progress",
        )),
        Claim::Mismatch => Err(Error::new(
            ErrorKind::Unprocessable,
            "this Idempotency-Key was already used with a different request body",
        )
        .with_param("Idempotency-Key")),
    }
}

impl Slot {
    /// Keep the answer for replays; if it cannot be kept, release the key so a retry is not held up.
    pub async fn finish(self, store: &dyn Store, answer: Stored) {
        if let Err(e) = self.0.complete(store, answer).await {
            tracing::warn!(error = %e, "idempotent result could not be stored; releasing the key");
            self.abandon(store).await;
        }
    }

    /// A failed request leaves no result: the client may retry with the same key.
    pub async fn abandon(self, store: &dyn Store) {
        if let Err(e) = self.0.release(store).await {
            tracing::warn!(error = %e, "idempotency slot could not be released");
        }
    }
}
