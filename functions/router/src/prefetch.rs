//! A cold instance's reads, side by side: the first request of an org on an instance needs the org's record
//! (auto-caching default, platform entitlement) and the key of its route's first step, which do not depend
//! on each other; read one after the other they were two sequential round trips (three with the key's KMS
//! decrypt) before the provider call. Warm (the org cached) this is one cache look-up and nothing else.
//! What it loads lands in the hot-path caches the request then reads; an error here is not cached, so the
//! request's own read meets it again and reports it.

use byok_shared::domain::policy::KeyKind;

use crate::request::Parsed;
use crate::resolve;
use crate::state::Gateway;

pub async fn cold_reads(gateway: &Gateway, org_id: &str, parsed: &Parsed) {
    if gateway.caches().orgs.contains(org_id) {
        return;
    }
    // Boxed: the reads' futures are large, and inline they would grow every request's future (and stack)
    // for what a cold instance does once per org.
    Box::pin(side_by_side(gateway, org_id, parsed)).await;
}

async fn side_by_side(gateway: &Gateway, org_id: &str, parsed: &Parsed) {
    let caches = gateway.caches();
    let app = gateway.app();
    let org = caches.orgs.get(app.store(), org_id);
    let first_key = async {
        let Ok(route) = resolve::route(gateway, org_id, &parsed.model, &parsed.metadata).await
        else {
            return;
        };
        let Some(step) = route.attempts().next() else {
            return;
        };
        // Own keys only: platform keys are the operator's, shared by every org and warm sooner.
        if step.key_source.order().contains(&KeyKind::Own) {
            let own = caches.keys.get(
                app.store(),
                app.cipher(),
                org_id,
                step.provider,
                KeyKind::Own,
            );
            let _ = own.await;
        }
    };
    let _ = futures::join!(org, first_key);
}
