//! Repositories: the domain's records laid out on the store port, written once for both backends.
//!
//! Layout of the single table (see docs/storage.md):
//! - `ORG#<org>` / `ORG` — the organisation (with the count of its manage:write keys)
//! - `ORG#<org>` / `APIKEY#<id>` — a gateway API key record
//! - `KEYHASH#<sha256>` / `KEYHASH` — lookup from a presented secret's hash to its org, key id and a copy of the key's record
//! - `ORG#<org>` / `IDEM#<api_key_id>#<sha256>` — an `Idempotency-Key`'s claim and answer (TTL)
//! - `PRICES` / `TABLE` — the operator's price table (see `prices`)
//! - `RATE#<api_key_id>` / `W#<minute>` — a key's rate-limit counters for one minute (TTL; see `rate_windows`)

pub mod apikeys;
pub mod budget;
pub mod idempotency;
mod log_row;
pub mod logs;
pub mod orgs;
pub mod platform_keys;
pub mod policies;
pub mod prices;
pub mod provider_keys;
pub mod rate_windows;
pub mod usage;

use crate::error::{Error, ErrorKind};
use crate::store::StoreError;

pub(crate) fn org_pk(org_id: &str) -> String {
    format!("ORG#{org_id}")
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => Error::conflict("the resource was changed concurrently; retry"),
            StoreError::Unavailable(detail) => {
                tracing::error!(error = %detail, "store unavailable");
                Error::unavailable("the gateway's store is unavailable; retry shortly")
            }
            StoreError::Invalid(detail) => {
                tracing::error!(error = %detail, "store data invalid");
                Error::new(ErrorKind::Internal, "internal store error")
            }
        }
    }
}

/// Serialise a record for the store.
pub(crate) fn to_body<T: serde::Serialize>(value: &T) -> crate::Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| Error::internal(format!("serialise record: {e}")))
}

/// Read a record back from the store.
pub(crate) fn from_body<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> crate::Result<T> {
    serde_json::from_value(value).map_err(|e| {
        tracing::error!(error = %e, "stored record has an unexpected shape");
        Error::internal("stored record has an unexpected shape")
    })
}
