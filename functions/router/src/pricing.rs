//! Admission by price: a request that would count against a spend limit or could use the operator's
//! platform key must have a price for every model its route may call (listed, or the operator's default);
//! otherwise it is refused before any provider call with 400 `model_not_priced`, so nothing is ever billed
//! at an unknown (or zero) cost. A request on the org's own keys with no limit needs no price.

use byok_shared::Result;
use byok_shared::auth::Caller;
use byok_shared::domain::policy::KeyKind;
use byok_shared::domain::policy::route::Route;
use byok_shared::error::{Error, ErrorKind};
use byok_shared::routing::KeyRing;

use crate::keyring::OrgKeys;
use crate::state::Gateway;

pub async fn require(gateway: &Gateway, caller: &Caller, route: &Route) -> Result<()> {
    let table = gateway.caches().prices.get(gateway.app().store()).await?;
    let limited = caller.key.monthly_limit > 0.0;
    let keys = OrgKeys {
        gateway,
        org_id: caller.org_id(),
        platform: None,
    };
    for step in route.attempts() {
        if table.price(step.provider, &step.model).is_some() {
            continue;
        }
        let platform = step.key_source.order().contains(&KeyKind::Platform)
            && keys.withheld(KeyKind::Platform).await?.is_none()
            && keys.key(step.provider, KeyKind::Platform).await?.is_some();
        if limited || platform {
            let why = if limited {
                "this API key has a spend limit"
            } else {
                "the request may use the operator's platform key"
            };
            return Err(Error::new(
                ErrorKind::ModelNotPriced,
                format!(
                    "{}/{} has no price and {why}; the operator can price it with `byok price set`",
                    step.provider, step.model
                ),
            )
            .with_param("model"));
        }
    }
    Ok(())
}
