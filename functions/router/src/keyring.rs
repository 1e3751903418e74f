//! The engine's view of one org's provider keys: decrypted through the hot-path cache, platform keys only
//! as the org's entitlement allows and (for a request with a reservation) only while its hold on the org's
//! platform budget fits, and a rejection recorded on the own key's health (the platform key's health is the
//! operator's, kept in logs).

use std::sync::Arc;

use async_trait::async_trait;
use byok_shared::domain::policy::KeyKind;
use byok_shared::domain::provider::Provider;
use byok_shared::error::Error;
use byok_shared::providers::ProviderError;
use byok_shared::repo::provider_keys::{self, Owner};
use byok_shared::routing::{KeyRing, Withheld};
use byok_shared::secret::Secret;

use crate::cache::entitlement;
use crate::reserve::PlatformHold;
use crate::state::Gateway;

pub struct OrgKeys<'a> {
    pub gateway: &'a Gateway,
    pub org_id: &'a str,
    /// The request's hold on the org's platform budget, taken before its first platform-key attempt.
    /// `None` for a call that spends nothing (counting tokens) or only asks (admission by price).
    pub platform: Option<&'a PlatformHold>,
}

#[async_trait]
impl KeyRing for OrgKeys<'_> {
    async fn key(&self, provider: Provider, kind: KeyKind) -> Result<Option<Arc<Secret>>, Error> {
        let app = self.gateway.app();
        let cache = &self.gateway.caches().keys;
        cache
            .get(app.store(), app.cipher(), self.org_id, provider, kind)
            .await
    }

    /// Platform keys only for an entitled org (through the hot-path cache) whose request's estimate fits
    /// its platform limit (held on this instance's lease of the org's platform budget).
    async fn withheld(&self, kind: KeyKind) -> Result<Option<Withheld>, Error> {
        if kind != KeyKind::Platform {
            return Ok(None);
        }
        let app = self.gateway.app();
        let orgs = &self.gateway.caches().orgs;
        let default = app.config().platform_keys_default;
        let entitlement = entitlement::of(orgs, app.store(), self.org_id, default).await?;
        if !entitlement.enabled {
            return Ok(Some(entitlement::not_entitled()));
        }
        match self.platform {
            Some(hold) => hold.take(self.gateway, self.org_id).await,
            None => Ok(None),
        }
    }

    async fn rejected(&self, provider: Provider, kind: KeyKind, error: &ProviderError) {
        if kind != KeyKind::Own {
            return;
        }
        let message = format!(
            "{} {}",
            error.status.map(|s| s.to_string()).unwrap_or_default(),
            error.message
        );
        let store = self.gateway.app().store();
        let update = provider_keys::record_health(store, Owner::Org(self.org_id), provider, |h| {
            h.last_error = Some(message.trim().to_owned());
        });
        if let Err(e) = update.await {
            tracing::warn!(error = %e.message, "could not record key health");
        }
    }
}
