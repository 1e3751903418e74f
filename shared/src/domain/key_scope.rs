//! No restriction shedding: a key may create, change or delete only keys no wider than itself.
//!
//! A key's reach has five restrictions: its permissions, its monthly limit, its allow-list of models and
//! policies, its expiry, and its rate limits (requests and tokens per minute). Key `a` is *within* key `b` when every one of `a`'s restrictions is at least
//! as tight as `b`'s: permissions covered component by component; a limit (0 is unlimited) no higher;
//! an allow-list (empty allows everything) whose every entry `b`'s list allows; an expiry no later
//! (none is never); rate limits (none is unlimited) no higher.

use chrono::{DateTime, Utc};

use super::apikey::ApiKey;
use super::permissions::Permissions;
use super::policy::allow::allows;
use super::rate_limit::RateLimits;

/// The restrictions of a key, as they are or as a change would leave them.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope<'a> {
    pub permissions: Permissions,
    pub monthly_limit: f64,
    pub allowed_models: &'a [String],
    pub expires_at: Option<DateTime<Utc>>,
    pub rate_limits: RateLimits,
}

impl<'a> Scope<'a> {
    pub fn of(key: &'a ApiKey) -> Self {
        Self {
            permissions: key.permissions,
            monthly_limit: key.monthly_limit,
            allowed_models: &key.allowed_models,
            expires_at: key.expires_at,
            rate_limits: key.rate_limits,
        }
    }
}

/// The first restriction of `inner` that is wider than `outer`'s, as the request field that names it;
/// `None` when `inner` is within `outer`.
pub fn wider_field(inner: &Scope<'_>, outer: &Scope<'_>) -> Option<&'static str> {
    if !outer.permissions.covers(&inner.permissions) {
        return Some("permissions");
    }
    if outer.monthly_limit > 0.0
        && (inner.monthly_limit <= 0.0 || inner.monthly_limit > outer.monthly_limit)
    {
        return Some("monthly_limit");
    }
    if !outer.allowed_models.is_empty()
        && (inner.allowed_models.is_empty()
            || !inner
                .allowed_models
                .iter()
                .all(|entry| entry_within(entry, outer.allowed_models)))
    {
        return Some("allowed_models");
    }
    if let Some(outer_end) = outer.expires_at
        && inner.expires_at.is_none_or(|end| end > outer_end)
    {
        return Some("expires_at");
    }
    inner.rate_limits.wider_than(&outer.rate_limits)
}

/// An allow-list entry is within a list when the list allows everything the entry allows: an exact id
/// the list allows, or a wildcard (`openai/*`, `policy/*`) the list holds itself.
fn entry_within(entry: &str, outer: &[String]) -> bool {
    if entry.ends_with("/*") {
        outer.iter().any(|o| o == entry)
    } else {
        allows(outer, entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::permissions::{Completions, Manage};

    fn scope<'a>(
        manage: Manage,
        limit: f64,
        models: &'a [String],
        expires: Option<&str>,
    ) -> Scope<'a> {
        Scope {
            permissions: Permissions {
                manage,
                completions: Completions::Write,
            },
            monthly_limit: limit,
            allowed_models: models,
            expires_at: expires.map(|t| t.parse().unwrap()),
            rate_limits: RateLimits::default(),
        }
    }

    #[test]
    fn each_restriction_is_checked() {
        let none: Vec<String> = Vec::new();
        let openai = vec!["openai/*".to_owned()];
        let mini = vec!["openai/gpt-4.1-mini".to_owned()];
        let outer = scope(Manage::Write, 10.0, &openai, Some("2030-01-01T00:00:00Z"));
        let ok = scope(Manage::Read, 5.0, &mini, Some("2029-01-01T00:00:00Z"));
        assert_eq!(wider_field(&ok, &outer), None);
        assert_eq!(wider_field(&outer, &outer), None, "equal is within");
        let cases = [
            (
                scope(Manage::Write, 0.0, &mini, Some("2029-01-01T00:00:00Z")),
                "monthly_limit",
            ),
            (
                scope(Manage::Write, 11.0, &mini, Some("2029-01-01T00:00:00Z")),
                "monthly_limit",
            ),
            (
                scope(Manage::Write, 5.0, &none, Some("2029-01-01T00:00:00Z")),
                "allowed_models",
            ),
            (scope(Manage::Write, 5.0, &mini, None), "expires_at"),
            (
                scope(Manage::Write, 5.0, &mini, Some("2031-01-01T00:00:00Z")),
                "expires_at",
            ),
        ];
        for (inner, field) in cases {
            assert_eq!(wider_field(&inner, &outer), Some(field), "{inner:?}");
        }
        let reader = scope(Manage::Read, 0.0, &none, None);
        let admin = scope(Manage::Write, 0.0, &none, None);
        assert_eq!(wider_field(&admin, &reader), Some("permissions"));
        assert_eq!(wider_field(&reader, &admin), None);
        let mut limited = scope(Manage::Write, 0.0, &none, None);
        limited.rate_limits.rpm = Some(10);
        assert_eq!(wider_field(&admin, &limited), Some("rpm"));
        assert_eq!(wider_field(&limited, &admin), None);
    }

    #[test]
    fn wildcards_are_within_only_the_same_wildcard() {
        let outer = vec!["openai/gpt-4.1-mini".to_owned(), "policy/*".to_owned()];
        let within = |entries: &[&str]| {
            let inner: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
            entry_list_within(&inner, &outer)
        };
        assert!(within(&["openai/gpt-4.1-mini", "policy/main", "policy/*"]));
        assert!(!within(&["openai/*"]));
        assert!(!within(&["anthropic/claude-sonnet-4-5"]));
    }

    fn entry_list_within(inner: &[String], outer: &[String]) -> bool {
        inner.iter().all(|e| entry_within(e, outer))
    }
}
