//! Routing policies: what a request for `policy/<name>` turns into.
//!
//! - A **fallback** policy is an ordered list of steps; each step names a model, which key to use
//!   (`own`, `platform`, `own_then_platform`, `platform_then_own`), how often to retry it (0–10) and its
//!   per-attempt timeout.
//! - A **load_balance** policy has weighted targets, optionally sticky by `trace_id` or `user_id`; the
//!   targets are tried in a weighted order (see [`pick_weighted`]), so the others absorb a failure.
//! - An entry's model is `<provider>/<model>` or `policy/<name>` (a nested policy, expanded in place; no
//!   cycles, at most [`MAX_DEPTH`] levels, at most [`MAX_ROUTE_LEN`] attempts once flattened).
//! - `fallover_on` names the error classes that move on to the next entry (default: all of
//!   [`ErrorClass::ALL`]); the caller's own invalid request and content refusals are never among them.
//!   `deadline_ms` bounds the whole request. Both belong to the requested (outermost) policy; a nested
//!   policy's own values apply only when it is requested directly.
//!
//! Submodules: [`model_ref`] (model ids), [`parse`] (documents → validated [`Policy`]), [`graph`]
//! (references, cycles), [`weighted`] (sticky weighted order), [`route`] (flattening and explain),
//! [`allow`] (API key allow-lists).

pub mod allow;
pub mod graph;
pub mod model_ref;
pub mod parse;
#[cfg(test)]
mod parse_props;
pub mod route;
pub mod weighted;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use allow::is_allowed;
pub use graph::{PolicySource, check_references};
pub use model_ref::{ModelRef, validate_policy_name};
pub use parse::{
    ParseMode, PolicyDocument, PolicyInput, PolicyType, StepDocument, TargetDocument,
    parse_document,
};
pub use route::{
    CooldownView, KeyAvailability, NoCooldown, PlannedAttempt, Route, RouteEntry, RouteRequest,
    RouteStep, explain, resolve,
};
pub use weighted::pick_weighted;

/// Longest policy name.
pub const MAX_NAME_LEN: usize = 64;
/// Most steps or targets in one policy.
pub const MAX_ENTRIES: usize = 16;
/// Most retries of one step.
pub const MAX_RETRIES: u32 = 10;
/// Per-attempt timeout when a step gives none, and for load-balancing targets.
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;
/// Upper bound of `timeout_ms` and `deadline_ms`: 15 minutes, the longest a Lambda invocation runs.
pub const MAX_TIMEOUT_MS: u64 = 900_000;
/// Lower bound of a step's `timeout_ms`: no provider answers sooner, so a tighter timeout only manufactures
/// failures (and, before failures were scoped by tenant, cooled targets down for everyone).
pub const MIN_TIMEOUT_MS: u64 = 1_000;
/// Largest accepted weight.
pub const MAX_WEIGHT: f64 = 1_000_000.0;
/// Deepest nesting of policies (the requested one counts as level 1).
pub const MAX_DEPTH: usize = 4;
/// Most attempts a policy may expand to once nested policies are flattened.
pub const MAX_ROUTE_LEN: usize = 64;

/// Which provider key an attempt may use, in which order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    Own,
    Platform,
    OwnThenPlatform,
    PlatformThenOwn,
}

impl KeySource {
    /// The default when a step or target names none: the org's own key (bring your own keys).
    pub const DEFAULT: KeySource = KeySource::Own;

    /// The keys to try, in order.
    pub fn order(self) -> &'static [KeyKind] {
        match self {
            KeySource::Own => &[KeyKind::Own],
            KeySource::Platform => &[KeyKind::Platform],
            KeySource::OwnThenPlatform => &[KeyKind::Own, KeyKind::Platform],
            KeySource::PlatformThenOwn => &[KeyKind::Platform, KeyKind::Own],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeySource::Own => "own",
            KeySource::Platform => "platform",
            KeySource::OwnThenPlatform => "own_then_platform",
            KeySource::PlatformThenOwn => "platform_then_own",
        }
    }
}

/// One concrete key: the org's own, or the operator's platform key.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    Own,
    Platform,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Own => "own",
            KeyKind::Platform => "platform",
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure class that may move a request on to the next step or target: the vocabulary of a policy's
/// `fallover_on`. Which failure falls under which class is decided in one place, the engine's
/// `routing::classify`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The attempt's timeout passed.
    Timeout,
    /// The provider could not be reached, or the connection broke before a response.
    ConnectionError,
    /// HTTP 429 from the provider.
    RateLimited,
    /// HTTP 5xx from the provider.
    ServerError,
    /// HTTP 401/402/403 from the provider while using the org's own key (bad, revoked, out of credit).
    OwnKeyRejected,
    /// HTTP 401/402/403 from the provider while using the operator's platform key.
    PlatformKeyRejected,
}

impl ErrorClass {
    /// The default `fallover_on`.
    pub const ALL: [ErrorClass; 6] = [
        ErrorClass::Timeout,
        ErrorClass::ConnectionError,
        ErrorClass::RateLimited,
        ErrorClass::ServerError,
        ErrorClass::OwnKeyRejected,
        ErrorClass::PlatformKeyRejected,
    ];
}

/// What a load-balancing policy keeps requests sticky by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sticky {
    TraceId,
    UserId,
    #[default]
    None,
}

/// A fallback step. For a `policy/<name>` step, `key_source`, `retries` and `timeout_ms` are `None`
/// (the nested policy decides); for a provider model they are always set after validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[schema(value_type = String, example = "openai/gpt-4.1-mini")]
    pub model: ModelRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_source: Option<KeySource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// A load-balancing target. For a `policy/<name>` target, `key_source` is `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    #[schema(value_type = String, example = "anthropic/claude-sonnet-4-5")]
    pub model: ModelRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_source: Option<KeySource>,
    pub weight: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Rule {
    Fallback {
        steps: Vec<Step>,
    },
    LoadBalance {
        targets: Vec<Target>,
        #[serde(default)]
        sticky: Sticky,
    },
}

/// A validated policy (build one with [`parse_document`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub name: String,
    #[serde(flatten)]
    pub rule: Rule,
    /// `None` = the default, [`ErrorClass::ALL`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallover_on: Option<Vec<ErrorClass>>,
    /// Total time budget of a request across all attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
}

impl Policy {
    pub fn kind(&self) -> &'static str {
        match self.rule {
            Rule::Fallback { .. } => "fallback",
            Rule::LoadBalance { .. } => "load_balance",
        }
    }

    /// The classes that fall over, defaults applied.
    pub fn fallover_classes(&self) -> Vec<ErrorClass> {
        self.fallover_on
            .clone()
            .unwrap_or_else(|| ErrorClass::ALL.to_vec())
    }

    /// Every entry's model with the request field it came from (`steps[1].model`, `targets[0].model`).
    pub fn entries(&self) -> Vec<(String, &ModelRef)> {
        match &self.rule {
            Rule::Fallback { steps } => steps
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("steps[{i}].model"), &s.model))
                .collect(),
            Rule::LoadBalance { targets, .. } => targets
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("targets[{i}].model"), &t.model))
                .collect(),
        }
    }

    /// The names of the policies this one refers to directly, in entry order (with repeats).
    pub fn references(&self) -> Vec<&str> {
        self.entries()
            .into_iter()
            .filter_map(|(_, m)| m.policy_name())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_source_orders() {
        assert_eq!(
            KeySource::PlatformThenOwn.order(),
            &[KeyKind::Platform, KeyKind::Own]
        );
        assert_eq!(KeySource::Own.order(), &[KeyKind::Own]);
    }

    #[test]
    fn stored_shape_round_trips() {
        let policy = Policy {
            name: "lb".into(),
            rule: Rule::LoadBalance {
                targets: vec![Target {
                    model: "openai/gpt-4.1-mini".parse().unwrap(),
                    key_source: Some(KeySource::Platform),
                    weight: 2.5,
                }],
                sticky: Sticky::UserId,
            },
            fallover_on: Some(vec![ErrorClass::Timeout]),
            deadline_ms: Some(30_000),
        };
        let json = serde_json::to_value(&policy).unwrap();
        assert_eq!(json["type"], "load_balance");
        assert_eq!(json["targets"][0]["model"], "openai/gpt-4.1-mini");
        assert_eq!(json["sticky"], "user_id");
        let back: Policy = serde_json::from_value(json).unwrap();
        assert_eq!(back, policy);
        assert_eq!(back.fallover_classes(), [ErrorClass::Timeout]);
    }
}
