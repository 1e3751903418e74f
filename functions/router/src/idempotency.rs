//! `Idempotency-Key`: a repeat within 10 minutes gets the first (non-streaming, successful) result again,
//! without calling a provider or charging. A pending marker is written first with a conditional put, so two
//! concurrent requests with the same key cannot both reach the provider.

use axum::http::HeaderMap;
use byok_shared::auth::Caller;
use byok_shared::error::Error;
use byok_shared::store::{Item, StoreError};
use byok_shared::{AppState, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const HEADER: &str = "idempotency-key";
const TTL_SECONDS: i64 = 600;
const MAX_LEN: usize = 255;

#[derive(Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum Record {
    Pending,
    Done {
        body: Value,
        model: String,
        key_source: String,
        attempts: String,
    },
}

/// A stored answer to replay.
pub struct Replay {
    pub body: Value,
    pub model: String,
    pub key_source: String,
    pub attempts: String,
}

pub enum Begin {
    /// No key given, or a streaming request: nothing to do.
    None,
    /// First time: proceed, then `finish` or `abandon` the slot.
    Slot(Slot),
    Replay(Replay),
}

pub struct Slot {
    pk: String,
    sk: String,
}

pub async fn begin(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
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
    let digest = hex::encode(Sha256::digest(key.as_bytes()));
    let slot = Slot {
        pk: format!("ORG#{}", caller.org_id()),
        sk: format!("IDEM#{}#{digest}", caller.api_key_id()),
    };
    let expires = chrono::Utc::now().timestamp() + TTL_SECONDS;
    let pending = Item::new(
        &slot.pk,
        &slot.sk,
        serde_json::to_value(Record::Pending).unwrap_or_default(),
    )
    .expiring_at(expires);
    match state.store().put_if_absent(&pending).await {
        Ok(()) => Ok(Begin::Slot(slot)),
        Err(StoreError::Conflict) => {
            let stored = state.store().get(&slot.pk, &slot.sk).await?;
            match stored.map(|i| serde_json::from_value::<Record>(i.body)) {
                Some(Ok(Record::Done {
                    body,
                    model,
                    key_source,
                    attempts,
                })) => Ok(Begin::Replay(Replay {
                    body,
                    model,
                    key_source,
                    attempts,
                })),
                Some(Ok(Record::Pending)) => Err(Error::conflict(
                    "a request with this Idempotency-Key is still in progress",
                )),
                // Expired between the two calls, or unreadable: proceed without replay protection.
                _ => Ok(Begin::None),
            }
        }
        Err(e) => Err(e.into()),
    }
}

impl Slot {
    pub async fn finish(
        self,
        state: &AppState,
        body: &Value,
        model: &str,
        key_source: &str,
        attempts: &str,
    ) {
        let record = Record::Done {
            body: body.clone(),
            model: model.into(),
            key_source: key_source.into(),
            attempts: attempts.into(),
        };
        let expires = chrono::Utc::now().timestamp() + TTL_SECONDS;
        let item = Item::new(
            &self.pk,
            &self.sk,
            serde_json::to_value(record).unwrap_or_default(),
        )
        .expiring_at(expires);
        if let Err(e) = state.store().put(&item).await {
            tracing::warn!(error = %e, "idempotent result could not be stored");
        }
    }

    /// A failed request leaves no result: the client may retry with the same key.
    pub async fn abandon(self, state: &AppState) {
        if let Err(e) = state.store().delete(&self.pk, &self.sk, None).await {
            tracing::warn!(error = %e, "idempotency slot could not be released");
        }
    }
}
