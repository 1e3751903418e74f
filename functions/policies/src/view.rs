//! The JSON of a policy as shown to users.

use byok_shared::domain::policy::{Policy, Rule};
use byok_shared::repo::policies::PolicyRecord;
use serde_json::{Value, json};

/// `{name, type, steps | targets + sticky, fallover_on, deadline_ms, version, created_*, updated_*}`;
/// `fallover_on` shows the effective classes (defaults applied).
pub fn policy(record: &PolicyRecord) -> Value {
    let p: &Policy = &record.policy;
    let mut out = json!({
        "object": "policy",
        "name": p.name,
        "type": p.kind(),
        "fallover_on": p.fallover_classes(),
        "deadline_ms": p.deadline_ms,
        "version": record.version,
        "created_at": record.created_at,
        "created_by": record.created_by,
        "updated_at": record.updated_at,
        "updated_by": record.updated_by,
    });
    match &p.rule {
        Rule::Fallback { steps } => out["steps"] = json!(steps),
        Rule::LoadBalance { targets, sticky } => {
            out["targets"] = json!(targets);
            out["sticky"] = json!(sticky);
        }
    }
    out
}

/// The gateway key making a change, as recorded on the policy.
pub fn actor(caller: &byok_shared::auth::Caller) -> byok_shared::repo::provider_keys::Actor {
    byok_shared::repo::provider_keys::Actor {
        api_key_id: caller.api_key_id().to_owned(),
        name: caller.key.name.clone(),
    }
}
