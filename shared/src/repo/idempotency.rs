//! `Idempotency-Key` records: `ORG#<org>` / `IDEM#<api_key_id>#<sha256(key)>`, expiring after
//! [`TTL_SECONDS`]. A claim is a conditional put, so two concurrent requests with the same key cannot both
//! proceed; the record holds a hash of the request body, so the same key with another body is refused
//! instead of replaying an answer to a different question.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{from_body, org_pk, to_body};
use crate::error::Result;
use crate::store::{Item, Store, StoreError};

pub const TTL_SECONDS: i64 = 600;

/// A finished request's answer, replayed for a repeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stored {
    pub body: Value,
    pub model: String,
    pub key_source: String,
    pub attempts: String,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum Record {
    Pending { body_sha256: String },
    Done { body_sha256: String, answer: Stored },
}

impl Record {
    fn body_sha256(&self) -> &str {
        match self {
            Record::Pending { body_sha256 } | Record::Done { body_sha256, .. } => body_sha256,
        }
    }
}

/// What a claim found.
#[derive(Debug, PartialEq)]
pub enum Claim {
    /// First use: go on, then [`Idem::complete`] or [`Idem::release`].
    Claimed,
    /// Done before with the same body: replay this.
    Replay(Stored),
    /// The first request with this key is still running.
    InProgress,
    /// The key was used with another body.
    Mismatch,
}

/// One key's record address and the request's body hash.
pub struct Idem {
    pk: String,
    sk: String,
    body_sha256: String,
}

impl Idem {
    pub fn new(org_id: &str, api_key_id: &str, key: &str, body: &Value) -> Self {
        let body_bytes = serde_json::to_vec(body).unwrap_or_default();
        Self {
            pk: org_pk(org_id),
            sk: format!(
                "IDEM#{api_key_id}#{}",
                hex::encode(Sha256::digest(key.as_bytes()))
            ),
            body_sha256: hex::encode(Sha256::digest(&body_bytes)),
        }
    }

    fn item(&self, record: &Record) -> Result<Item> {
        let expires = chrono::Utc::now().timestamp() + TTL_SECONDS;
        Ok(Item::new(&self.pk, &self.sk, to_body(record)?).expiring_at(expires))
    }

    pub async fn claim(&self, store: &dyn Store) -> Result<Claim> {
        let pending = Record::Pending {
            body_sha256: self.body_sha256.clone(),
        };
        match store.put_if_absent(&self.item(&pending)?).await {
            Ok(()) => return Ok(Claim::Claimed),
            Err(StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
        let Some(stored) = store.get(&self.pk, &self.sk).await? else {
            // Expired between the two calls: claim again once.
            return match store.put_if_absent(&self.item(&pending)?).await {
                Ok(()) => Ok(Claim::Claimed),
                Err(StoreError::Conflict) => Ok(Claim::InProgress),
                Err(e) => Err(e.into()),
            };
        };
        let record: Record = from_body(stored.body)?;
        if record.body_sha256() != self.body_sha256 {
            return Ok(Claim::Mismatch);
        }
        Ok(match record {
            Record::Pending { .. } => Claim::InProgress,
            Record::Done { answer, .. } => Claim::Replay(answer),
        })
    }

    /// Store the answer for replays.
    pub async fn complete(&self, store: &dyn Store, answer: Stored) -> Result<()> {
        let done = Record::Done {
            body_sha256: self.body_sha256.clone(),
            answer,
        };
        store.put(&self.item(&done)?).await.map_err(Into::into)
    }

    /// Give the key up (a failed request, or an answer that could not be stored): a retry may proceed.
    pub async fn release(&self, store: &dyn Store) -> Result<()> {
        store
            .delete(&self.pk, &self.sk, None)
            .await
            .map_err(Into::into)
    }
}
