//! The operator's platform keys: provider keys owned by no organisation.

use crate::cipher::Cipher;
use crate::domain::provider::Provider;
use crate::error::{ErrorKind, Result};
use crate::repo::provider_keys::{self, MaskedKey, Owner};
use crate::secret::Secret;
use crate::store::Store;

/// Store or replace the platform key for a provider.
pub async fn set(
    store: &dyn Store,
    cipher: &dyn Cipher,
    provider: Provider,
    key: &Secret,
) -> Result<MaskedKey> {
    validate(key)?;
    match provider_keys::create(
        store,
        cipher,
        Owner::Platform,
        provider,
        key,
        Some("platform".into()),
        None,
    )
    .await
    {
        Err(e) if e.kind == ErrorKind::Conflict => {
            provider_keys::rotate(
                store,
                cipher,
                Owner::Platform,
                provider,
                key,
                None,
                None,
                None,
            )
            .await
        }
        other => other,
    }
}

fn validate(key: &Secret) -> Result<()> {
    crate::domain::provider_key::validate_key(key)
}
