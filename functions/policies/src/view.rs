//! The JSON of a policy as shown to users.

use byok_shared::domain::policy::{ErrorClass, PolicyType, Rule, Step, Sticky, Target};
use byok_shared::repo::policies::PolicyRecord;
use byok_shared::repo::provider_keys::Actor;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// A stored policy: `steps` for `fallback`, `targets` and `sticky` for `load_balance`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyView {
    #[schema(example = "policy")]
    object: &'static str,
    name: String,
    #[serde(rename = "type")]
    kind: PolicyType,
    /// Present for `fallback`.
    #[serde(skip_serializing_if = "Option::is_none")]
    steps: Option<Vec<Step>>,
    /// Present for `load_balance`.
    #[serde(skip_serializing_if = "Option::is_none")]
    targets: Option<Vec<Target>>,
    /// Present for `load_balance`.
    #[serde(skip_serializing_if = "Option::is_none")]
    sticky: Option<Sticky>,
    /// The effective classes (defaults applied).
    fallover_on: Vec<ErrorClass>,
    deadline_ms: Option<u64>,
    version: u64,
    created_at: DateTime<Utc>,
    created_by: Option<Actor>,
    updated_at: DateTime<Utc>,
    updated_by: Option<Actor>,
}

pub fn policy(record: &PolicyRecord) -> PolicyView {
    let p = &record.policy;
    let (kind, steps, targets, sticky) = match &p.rule {
        Rule::Fallback { steps } => (PolicyType::Fallback, Some(steps.clone()), None, None),
        Rule::LoadBalance { targets, sticky } => (
            PolicyType::LoadBalance,
            None,
            Some(targets.clone()),
            Some(*sticky),
        ),
    };
    PolicyView {
        object: "policy",
        name: p.name.clone(),
        kind,
        steps,
        targets,
        sticky,
        fallover_on: p.fallover_classes(),
        deadline_ms: p.deadline_ms,
        version: record.version,
        created_at: record.created_at,
        created_by: record.created_by.clone(),
        updated_at: record.updated_at,
        updated_by: record.updated_by.clone(),
    }
}

/// The gateway key making a change, as recorded on the policy.
pub fn actor(caller: &byok_shared::auth::Caller) -> Actor {
    Actor {
        api_key_id: caller.api_key_id().to_owned(),
        name: caller.key.name.clone(),
    }
}
