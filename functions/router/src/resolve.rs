//! From the request's `model` to the ordered attempts: a policy's flattened route, or one direct step
//! that uses the org's own key if stored, else the platform key.

use byok_shared::Result;
use byok_shared::domain::policy::model_ref::ModelRef;
use byok_shared::domain::policy::route::{Route, RouteEntry, RouteRequest, RouteStep, resolve};
use byok_shared::domain::policy::{DEFAULT_TIMEOUT_MS, ErrorClass, KeySource};

use crate::request::Metadata;
use crate::state::Gateway;

/// Retries of a direct `<provider>/<model>` request before it fails.
pub const DIRECT_RETRIES: u32 = 2;

pub async fn route(
    gateway: &Gateway,
    org_id: &str,
    model: &str,
    metadata: &Metadata,
) -> Result<Route> {
    match ModelRef::parse_as(model, "model")? {
        ModelRef::Policy(name) => {
            let store = gateway.app().store();
            let loaded = gateway.caches().policies.get(store, org_id, &name).await?;
            let request = RouteRequest {
                user_id: metadata.user_id.as_deref(),
                trace_id: metadata.trace_id.as_deref(),
            };
            Ok(resolve(&loaded.policy, &loaded.references, &request))
        }
        ModelRef::Model { provider, model } => Ok(Route {
            policy: format!("{provider}/{model}"),
            entries: vec![RouteEntry::Attempt(RouteStep {
                provider,
                model,
                key_source: KeySource::OwnThenPlatform,
                retries: DIRECT_RETRIES,
                timeout_ms: DEFAULT_TIMEOUT_MS,
                weight: None,
                via: Vec::new(),
            })],
            fallover_on: ErrorClass::ALL.to_vec(),
            deadline_ms: Some(gateway.app().config().direct_deadline.as_millis() as u64),
            deterministic: true,
        }),
    }
}
