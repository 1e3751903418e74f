//! `POST /v1/byok?verify=true`: a free, read-only provider call (list models) with the submitted key before
//! it is saved. A key the provider rejects is refused with 422 and the provider's reason. No decryption is
//! involved: the plaintext is the one just submitted.

use byok_shared::domain::provider::Provider;
use byok_shared::error::{Error, ErrorKind};
use byok_shared::providers::ErrorClass;
use byok_shared::secret::Secret;
use byok_shared::{AppState, Result};
use chrono::{DateTime, Utc};

pub async fn before_saving(
    state: &AppState,
    provider: Provider,
    key: &Secret,
) -> Result<DateTime<Utc>> {
    match state.providers().list_models(provider, key).await {
        Ok(_) => Ok(Utc::now()),
        Err(e) if e.class == ErrorClass::KeyRejected => Err(Error::new(
            ErrorKind::Unprocessable,
            format!("{provider} rejected the key: {}", e.message),
        )
        .with_param("api_key")),
        Err(e) => Err(Error::new(
            ErrorKind::Upstream,
            format!(
                "{provider} could not be reached to verify the key: {}",
                e.message
            ),
        )),
    }
}
