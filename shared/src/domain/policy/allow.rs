//! A gateway API key's allow-list of models and policies.
//!
//! `ApiKey::allowed_models` holds entries of three forms: an exact id (`openai/gpt-4.1-mini`,
//! `policy/main`), a provider wildcard (`anthropic/*`: every model of that provider) or `policy/*` (every
//! policy). An empty list allows everything. A policy that is allowed may route to any model it names:
//! the check applies to what the request asks for, not to the attempts the policy makes.

use crate::domain::apikey::ApiKey;

/// True when `key` may request `model_or_policy` (as written in the request's `model`).
pub fn is_allowed(key: &ApiKey, model_or_policy: &str) -> bool {
    allows(&key.allowed_models, model_or_policy)
}

/// The rule on a bare list (for validation and tests). A bare model name is checked as the
/// `<provider>/<model>` it resolves to (see [`super::model_ref`]).
pub fn allows(allowed: &[String], requested: &str) -> bool {
    if allowed.is_empty() {
        return true;
    }
    if !requested.contains('/')
        && let Ok(full) = super::ModelRef::parse_as(requested, "model")
    {
        return allows(allowed, &full.to_string());
    }
    allowed.iter().any(|entry| match entry.strip_suffix("/*") {
        Some(prefix) => requested
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|rest| !rest.is_empty()),
        None => entry == requested,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::permissions::Permissions;

    fn key(allowed: &[&str]) -> ApiKey {
        ApiKey {
            api_key_id: "key_x".into(),
            org_id: "org_x".into(),
            name: "app".into(),
            key_hash: String::new(),
            permissions: Permissions::default(),
            monthly_limit: 0.0,
            allowed_models: allowed.iter().map(|s| s.to_string()).collect(),
            expires_at: None,
            created_at: chrono::Utc::now(),
            created_by: None,
            labels: Default::default(),
            default_model: None,
            auto_cache: None,
            rate_limits: Default::default(),
            logging: false,
        }
    }

    #[test]
    fn empty_allows_everything() {
        assert!(is_allowed(&key(&[]), "openai/gpt-4.1-mini"));
        assert!(is_allowed(&key(&[]), "policy/anything"));
    }

    #[test]
    fn exact_entries_and_wildcards() {
        let k = key(&["policy/main", "anthropic/*", "openai/gpt-4.1-mini"]);
        assert!(is_allowed(&k, "policy/main"));
        assert!(!is_allowed(&k, "policy/other"));
        assert!(is_allowed(&k, "anthropic/claude-sonnet-4-5"));
        assert!(!is_allowed(&k, "anthropic/"));
        assert!(!is_allowed(&k, "anthropicx/claude"));
        assert!(is_allowed(&k, "openai/gpt-4.1-mini"));
        assert!(!is_allowed(&k, "openai/gpt-4.1"));
        assert!(!is_allowed(&k, "xai/grok-4"));
        // Bare names are checked as what they resolve to.
        assert!(is_allowed(&k, "claude-haiku-4-5"));
        assert!(is_allowed(&k, "gpt-4.1-mini"));
        assert!(!is_allowed(&k, "gpt-4.1"));
        assert!(!is_allowed(&k, "grok-4"));
        assert!(!is_allowed(&k, "llama-3"));
        let all_policies = key(&["policy/*"]);
        assert!(is_allowed(&all_policies, "policy/x"));
        assert!(!is_allowed(&all_policies, "openai/x"));
    }
}
