//! The org's platform-key entitlement for the hot path: whether it may use the operator's platform keys
//! (its own setting, else the operator's default) and its optional monthly limit on platform spend, read
//! from the org record through [`OrgCache`] (one cached record for every org setting), so a warm request
//! makes no store call for them; an operator's change (`byok org set`) reaches every instance within the
//! TTL. Only a route that would use a platform key asks. The limit itself is enforced by a reservation on
//! the org's platform budget (`reserve::platform`), not here.

use byok_shared::Result;
use byok_shared::domain::org::PlatformEntitlement;
use byok_shared::error::Error;
use byok_shared::routing::Withheld;
use byok_shared::store::Store;

use crate::cache::orgs::OrgCache;

/// The org's entitlement, `default` standing for an org without a setting of its own.
pub async fn of(
    orgs: &OrgCache,
    store: &dyn Store,
    org_id: &str,
    default: bool,
) -> Result<PlatformEntitlement> {
    Ok(orgs.get(store, org_id).await?.platform_entitlement(default))
}

/// Why an org that is not entitled may not use platform keys.
pub fn not_entitled() -> Withheld {
    Withheld {
        outcome: "not_entitled",
        error: Error::forbidden(
            "this organisation may not use the operator's platform keys; store your own provider key, \
             or ask the operator to enable platform keys",
        ),
    }
}
