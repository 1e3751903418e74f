//! Authenticating a presented gateway key, and the caller it yields.

use std::sync::Arc;

use subtle::ConstantTimeEq;

use crate::app::AppState;
use crate::domain::apikey::{ApiKey, hash_secret, is_well_formed};
use crate::domain::permissions::{Completions, Manage, Permissions};
use crate::error::{Error, Result};
use crate::repo::apikeys;

/// Who is calling: always derived from the presented key, never from anything else in the request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key: Arc<ApiKey>,
}

impl Caller {
    pub fn org_id(&self) -> &str {
        &self.key.org_id
    }

    pub fn api_key_id(&self) -> &str {
        &self.key.api_key_id
    }

    pub fn permissions(&self) -> Permissions {
        self.key.permissions
    }

    pub fn require_manage(&self, needed: Manage) -> Result<()> {
        if self.key.permissions.manage >= needed {
            Ok(())
        } else {
            Err(Error::forbidden(match needed {
                Manage::Write => "this API key lacks the manage:write permission",
                _ => "this API key lacks the manage:read permission",
            }))
        }
    }

    pub fn require_completions(&self) -> Result<()> {
        if self.key.permissions.completions == Completions::Write {
            Ok(())
        } else {
            Err(Error::forbidden(
                "this API key lacks the completions permission",
            ))
        }
    }
}

/// Resolve a presented secret to its caller: format check, hash, cached lookup, constant-time hash compare,
/// expiry. Unknown, malformed, deleted and expired keys are all the same 401.
pub async fn authenticate(state: &AppState, presented: &str) -> Result<Caller> {
    let invalid = || Error::unauthenticated("invalid API key");
    if !is_well_formed(presented) {
        return Err(invalid());
    }
    let hash = hash_secret(presented);
    let store = state.store();
    let key = state
        .auth_cache()
        .get_or_try_load(hash.as_str(), async {
            apikeys::find_by_hash(store, &hash)
                .await
                .map(|k| k.map(Arc::new))
        })
        .await?
        .ok_or_else(invalid)?;
    if !bool::from(key.key_hash.as_bytes().ct_eq(hash.as_bytes())) {
        return Err(invalid());
    }
    if key.is_expired(chrono::Utc::now()) {
        return Err(Error::unauthenticated("this API key has expired"));
    }
    Ok(Caller { key })
}

/// Forget a key at once on this instance (after delete or change); other instances converge within the TTL.
pub fn invalidate(state: &AppState, key_hash: &str) {
    state.auth_cache().remove(key_hash);
}
