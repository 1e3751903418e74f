//! Organisations and gateway keys for tests, created through the same repositories the API uses.

use byok_shared::domain::permissions::{Completions, Manage, Permissions};
use byok_shared::repo::{apikeys, orgs};
use byok_shared::store::Store;

pub struct TestOrg {
    pub org_id: String,
    /// The admin key's secret (manage:write, completions:write).
    pub admin: String,
    pub admin_key_id: String,
}

pub async fn org(store: &dyn Store, name: &str) -> TestOrg {
    let created = orgs::create(store, name).await.expect("create org");
    TestOrg {
        org_id: created.org.org_id,
        admin: created.api_key.expose().to_owned(),
        admin_key_id: created.api_key_id,
    }
}

/// An org with its own platform-key settings (entitlement, platform limit).
pub async fn org_with(store: &dyn Store, name: &str, settings: orgs::PlatformSettings) -> TestOrg {
    let created = orgs::create_with(store, name, settings)
        .await
        .expect("create org");
    TestOrg {
        org_id: created.org.org_id,
        admin: created.api_key.expose().to_owned(),
        admin_key_id: created.api_key_id,
    }
}

/// A key of `org_id` with the given permissions; returns its secret.
pub async fn key(
    store: &dyn Store,
    org_id: &str,
    manage: Manage,
    completions: Completions,
) -> String {
    let new = apikeys::NewKey {
        name: format!("{manage:?}-{completions:?}").to_lowercase(),
        permissions: Permissions {
            manage,
            completions,
        },
        monthly_limit: 0.0,
        allowed_models: Vec::new(),
        expires_at: None,
        labels: Default::default(),
        default_model: None,
        auto_cache: None,
        rate_limits: Default::default(),
        logging: false,
    };
    let (_, secret) = apikeys::create(store, org_id, new, None)
        .await
        .expect("create key");
    secret.expose().to_owned()
}

/// Store `secret` as `org_id`'s own key for `provider` (no label, no base URL), as `POST /v1/byok` would.
pub async fn own_key(
    store: &dyn Store,
    cipher: &dyn byok_shared::cipher::Cipher,
    org_id: &str,
    provider: byok_shared::domain::provider::Provider,
    secret: &str,
) {
    byok_shared::repo::provider_keys::create(
        store,
        cipher,
        byok_shared::repo::provider_keys::Owner::Org(org_id),
        provider,
        &byok_shared::secret::Secret::new(secret),
        None,
        None,
    )
    .await
    .expect("store an own provider key");
}
