//! A policy flattened into the ordered attempts one request makes ([`resolve`]), and that route checked
//! against the keys that exist and the targets cooling down ([`explain`]).
//!
//! Fallback steps keep their order; load-balancing targets are ordered by [`pick_weighted`] with the
//! policy's sticky key taken from the request; `policy/<name>` entries expand in place. Load-balancing
//! targets get no retries (the other targets absorb a failure) and the default per-attempt timeout.

use std::collections::BTreeSet;

use serde::Serialize;

use super::graph::PolicySource;
use super::{
    DEFAULT_TIMEOUT_MS, ErrorClass, KeyKind, KeySource, MAX_DEPTH, MAX_ROUTE_LEN, ModelRef, Policy,
    Rule, Sticky, pick_weighted,
};
use crate::domain::provider::Provider;

/// What of a request decides sticky routing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteRequest<'a> {
    pub user_id: Option<&'a str>,
    pub trace_id: Option<&'a str>,
}

impl<'a> RouteRequest<'a> {
    fn sticky_key(&self, sticky: Sticky) -> Option<&'a str> {
        match sticky {
            Sticky::TraceId => self.trace_id,
            Sticky::UserId => self.user_id,
            Sticky::None => None,
        }
        .filter(|k| !k.is_empty())
    }
}

/// One attempt at a provider model (retried up to `retries` times before moving on).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteStep {
    pub provider: Provider,
    /// The model name without the provider prefix, as the provider knows it.
    pub model: String,
    pub key_source: KeySource,
    pub retries: u32,
    pub timeout_ms: u64,
    /// The target's weight, when it came from a load-balancing policy.
    pub weight: Option<f64>,
    /// The policies this attempt came through, outermost first.
    pub via: Vec<String>,
}

impl RouteStep {
    /// `<provider>/<model>`.
    pub fn model_id(&self) -> String {
        format!("{}/{}", self.provider, self.model)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RouteEntry {
    Attempt(RouteStep),
    /// An entry that cannot be tried: a dangling or cyclic `policy/<name>` (possible only through races
    /// between saves), or the route grew past [`MAX_ROUTE_LEN`].
    Unresolved {
        model: String,
        reason: String,
        via: Vec<String>,
    },
}

/// The flattened route of one request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Route {
    pub policy: String,
    pub entries: Vec<RouteEntry>,
    /// The requested policy's classes that fall over (defaults applied).
    pub fallover_on: Vec<ErrorClass>,
    /// The requested policy's total deadline.
    pub deadline_ms: Option<u64>,
    /// False when a load-balancing policy without a sticky key shaped the order: another request may
    /// take another order.
    pub deterministic: bool,
}

impl Route {
    pub fn attempts(&self) -> impl Iterator<Item = &RouteStep> {
        self.entries.iter().filter_map(|e| match e {
            RouteEntry::Attempt(step) => Some(step),
            RouteEntry::Unresolved { .. } => None,
        })
    }

    /// The providers the route may call.
    pub fn providers(&self) -> BTreeSet<Provider> {
        self.attempts().map(|s| s.provider).collect()
    }
}

struct Flattener<'a> {
    source: &'a dyn PolicySource,
    request: RouteRequest<'a>,
    entries: Vec<RouteEntry>,
    deterministic: bool,
}

struct Item<'p> {
    model: &'p ModelRef,
    key_source: Option<KeySource>,
    retries: u32,
    timeout_ms: u64,
    weight: Option<f64>,
}

impl Flattener<'_> {
    fn push(&mut self, entry: RouteEntry) -> bool {
        if self.entries.len() >= MAX_ROUTE_LEN {
            return false;
        }
        self.entries.push(entry);
        true
    }

    fn expand(&mut self, policy: &Policy, via: &mut Vec<String>) {
        via.push(policy.name.clone());
        let items: Vec<Item<'_>> = match &policy.rule {
            Rule::Fallback { steps } => steps
                .iter()
                .map(|s| Item {
                    model: &s.model,
                    key_source: s.key_source,
                    retries: s.retries.unwrap_or(0),
                    timeout_ms: s.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS),
                    weight: None,
                })
                .collect(),
            Rule::LoadBalance { targets, sticky } => {
                let key = self.request.sticky_key(*sticky);
                if key.is_none() && targets.len() > 1 {
                    self.deterministic = false;
                }
                pick_weighted(targets, key)
                    .into_iter()
                    .map(|t| Item {
                        model: &t.model,
                        key_source: t.key_source,
                        retries: 0,
                        timeout_ms: DEFAULT_TIMEOUT_MS,
                        weight: Some(t.weight),
                    })
                    .collect()
            }
        };
        for item in items {
            let keep_going = match item.model {
                ModelRef::Model { provider, model } => self.push(RouteEntry::Attempt(RouteStep {
                    provider: *provider,
                    model: model.clone(),
                    key_source: item.key_source.unwrap_or(KeySource::DEFAULT),
                    retries: item.retries,
                    timeout_ms: item.timeout_ms,
                    weight: item.weight,
                    via: via.clone(),
                })),
                ModelRef::Policy(name) => self.nested(name, via),
            };
            if !keep_going {
                break;
            }
        }
        via.pop();
    }

    fn nested(&mut self, name: &str, via: &mut Vec<String>) -> bool {
        let unresolved = |reason: String| RouteEntry::Unresolved {
            model: format!("policy/{name}"),
            reason,
            via: via.clone(),
        };
        if via.iter().any(|n| n == name) {
            let entry = unresolved(format!("policy/{name} refers back to itself (cycle)"));
            return self.push(entry);
        }
        if via.len() >= MAX_DEPTH {
            let entry = unresolved(format!("policies nest deeper than {MAX_DEPTH} levels"));
            return self.push(entry);
        }
        match self.source.policy(name) {
            Some(policy) => {
                self.expand(policy, via);
                self.entries.len() < MAX_ROUTE_LEN
            }
            None => {
                let entry = unresolved(format!("policy/{name} does not exist"));
                self.push(entry)
            }
        }
    }
}

/// Flatten `policy` for `request`. `source` supplies nested policies (of the same org).
pub fn resolve(policy: &Policy, source: &dyn PolicySource, request: &RouteRequest<'_>) -> Route {
    let mut flattener = Flattener {
        source,
        request: *request,
        entries: Vec::new(),
        deterministic: true,
    };
    flattener.expand(policy, &mut Vec::new());
    Route {
        policy: policy.name.clone(),
        entries: flattener.entries,
        fallover_on: policy.fallover_classes(),
        deadline_ms: policy.deadline_ms,
        deterministic: flattener.deterministic,
    }
}

/// Which keys exist right now: providers with an own key of the org, and with a platform key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyAvailability {
    pub own: BTreeSet<Provider>,
    pub platform: BTreeSet<Provider>,
}

impl KeyAvailability {
    pub fn has(&self, provider: Provider, kind: KeyKind) -> bool {
        match kind {
            KeyKind::Own => self.own.contains(&provider),
            KeyKind::Platform => self.platform.contains(&provider),
        }
    }
}

/// Hook for the router's health tracking: a (model, key) that keeps failing cools down for a while and is
/// skipped meanwhile. The default sees nothing cooling down.
pub trait CooldownView: Send + Sync {
    /// True while `<provider>/<model>` with this kind of key is cooling down.
    fn in_cooldown(&self, _provider: Provider, _model: &str, _key: KeyKind) -> bool {
        false
    }
}

/// Nothing is ever cooling down (until the router feeds its health state).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCooldown;

impl CooldownView for NoCooldown {}

impl<F: Fn(Provider, &str, KeyKind) -> bool + Send + Sync> CooldownView for F {
    fn in_cooldown(&self, provider: Provider, model: &str, key: KeyKind) -> bool {
        self(provider, model, key)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Try,
    Skip,
}

/// One entry of an explanation, in route order.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PlannedAttempt {
    /// `<provider>/<model>`, or `policy/<name>` for an entry that could not be expanded.
    pub model: String,
    pub action: Action,
    /// The key the attempt would use (`None` when skipped).
    pub key: Option<KeyKind>,
    pub key_source: Option<KeySource>,
    pub retries: Option<u32>,
    pub timeout_ms: Option<u64>,
    pub weight: Option<f64>,
    pub via: Vec<String>,
    /// Why the entry is skipped, or (when tried) why a preferred key is passed over.
    pub reasons: Vec<String>,
}

/// The key `step` would use now, with the reasons each preferred key was passed over.
pub fn choose_key(
    step: &RouteStep,
    keys: &KeyAvailability,
    cooldown: &dyn CooldownView,
) -> (Option<KeyKind>, Vec<String>) {
    let mut reasons = Vec::new();
    for kind in step.key_source.order() {
        if !keys.has(step.provider, *kind) {
            reasons.push(match kind {
                KeyKind::Own => format!("no own key stored for {}", step.provider),
                KeyKind::Platform => format!("no platform key for {}", step.provider),
            });
        } else if cooldown.in_cooldown(step.provider, &step.model, *kind) {
            reasons.push(format!(
                "target in cooldown: {} with the {kind} key",
                step.model_id()
            ));
        } else {
            return (Some(*kind), reasons);
        }
    }
    (None, reasons)
}

/// What each entry of `route` would do right now.
pub fn explain(
    route: &Route,
    keys: &KeyAvailability,
    cooldown: &dyn CooldownView,
) -> Vec<PlannedAttempt> {
    route
        .entries
        .iter()
        .map(|entry| match entry {
            RouteEntry::Attempt(step) => {
                let (key, reasons) = choose_key(step, keys, cooldown);
                PlannedAttempt {
                    model: step.model_id(),
                    action: if key.is_some() {
                        Action::Try
                    } else {
                        Action::Skip
                    },
                    key,
                    key_source: Some(step.key_source),
                    retries: Some(step.retries),
                    timeout_ms: Some(step.timeout_ms),
                    weight: step.weight,
                    via: step.via.clone(),
                    reasons,
                }
            }
            RouteEntry::Unresolved { model, reason, via } => PlannedAttempt {
                model: model.clone(),
                action: Action::Skip,
                key: None,
                key_source: None,
                retries: None,
                timeout_ms: None,
                weight: None,
                via: via.clone(),
                reasons: vec![reason.clone()],
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::{Value, json};

    use super::*;
    use crate::domain::policy::{ParseMode, parse_document};

    fn policy(body: Value) -> Policy {
        parse_document(&body, ParseMode::Create).unwrap().policy
    }

    fn models(route: &Route) -> Vec<String> {
        route
            .entries
            .iter()
            .map(|e| match e {
                RouteEntry::Attempt(s) => s.model_id(),
                RouteEntry::Unresolved { model, .. } => model.clone(),
            })
            .collect()
    }

    fn source(policies: &[Policy]) -> BTreeMap<String, Policy> {
        policies
            .iter()
            .map(|p| (p.name.clone(), p.clone()))
            .collect()
    }

    #[test]
    fn flattens_nested_policies_in_order() {
        let lb = policy(
            json!({"name": "lb", "type": "load_balance", "sticky": "user_id",
            "targets": [{"model": "openai/a", "weight": 1}, {"model": "xai/b", "weight": 1, "key_source": "platform"}]}),
        );
        let main = policy(
            json!({"name": "main", "type": "fallback", "deadline_ms": 5000, "steps": [
            {"model": "anthropic/claude-sonnet-4-5", "retries": 2, "timeout_ms": 1000},
            {"model": "policy/lb"},
            {"model": "google/gemini-2.5-flash", "key_source": "own_then_platform"}]}),
        );
        let src = source(&[lb]);
        let request = RouteRequest {
            user_id: Some("u1"),
            trace_id: None,
        };
        let route = resolve(&main, &src, &request);
        let got = models(&route);
        assert_eq!(got[0], "anthropic/claude-sonnet-4-5");
        assert_eq!(got[3], "google/gemini-2.5-flash");
        let mut middle = got[1..3].to_vec();
        middle.sort();
        assert_eq!(middle, ["openai/a", "xai/b"]);
        assert!(route.deterministic);
        assert_eq!(route.deadline_ms, Some(5000));
        let steps: Vec<_> = route.attempts().collect();
        assert_eq!(steps[0].retries, 2);
        assert_eq!(steps[0].timeout_ms, 1000);
        assert_eq!(steps[1].via, ["main", "lb"]);
        assert_eq!(steps[1].retries, 0);
        // Sticky: the same user always gets the same order.
        for _ in 0..5 {
            assert_eq!(models(&resolve(&main, &src, &request)), got);
        }
        // Without the sticky field the order may vary, and the route says so.
        assert!(!resolve(&main, &src, &RouteRequest::default()).deterministic);
    }

    #[test]
    fn dangling_and_cyclic_references_become_unresolved_entries() {
        let a = policy(
            json!({"name": "a", "type": "fallback", "steps": [{"model": "policy/b"}, {"model": "policy/ghost"}, {"model": "openai/x"}]}),
        );
        let b = policy(
            json!({"name": "b", "type": "fallback", "steps": [{"model": "policy/a"}, {"model": "xai/y"}]}),
        );
        let route = resolve(&a, &source(&[a.clone(), b]), &RouteRequest::default());
        assert_eq!(
            models(&route),
            ["policy/a", "xai/y", "policy/ghost", "openai/x"]
        );
        let RouteEntry::Unresolved { reason, .. } = &route.entries[0] else {
            panic!("unresolved expected")
        };
        assert!(reason.contains("cycle"), "{reason}");
    }

    #[test]
    fn explain_picks_keys_and_names_why_steps_are_skipped() {
        let p = policy(json!({"name": "p", "type": "fallback", "steps": [
            {"model": "anthropic/claude", "key_source": "own"},
            {"model": "xai/grok-4", "key_source": "platform"},
            {"model": "openai/gpt", "key_source": "own_then_platform"},
            {"model": "google/gemini", "key_source": "platform_then_own"}]}));
        let route = resolve(&p, &BTreeMap::new(), &RouteRequest::default());
        let keys = KeyAvailability {
            own: [Provider::OpenAi, Provider::Google].into(),
            platform: [Provider::Anthropic].into(),
        };
        let plan = explain(&route, &keys, &NoCooldown);
        assert_eq!(plan[0].action, Action::Skip);
        assert_eq!(plan[0].reasons, ["no own key stored for anthropic"]);
        assert_eq!(plan[1].action, Action::Skip);
        assert_eq!(plan[1].reasons, ["no platform key for xai"]);
        assert_eq!(plan[2].key, Some(KeyKind::Own));
        assert!(plan[2].reasons.is_empty());
        assert_eq!(plan[3].key, Some(KeyKind::Own));
        assert_eq!(plan[3].reasons, ["no platform key for google"]);

        // The cooldown hook: the own OpenAI key cools down, so the platform key (absent) is the next try.
        let cooling = |provider: Provider, _model: &str, key: KeyKind| {
            provider == Provider::OpenAi && key == KeyKind::Own
        };
        let plan = explain(&route, &keys, &cooling);
        assert_eq!(plan[2].action, Action::Skip);
        assert_eq!(
            plan[2].reasons,
            [
                "target in cooldown: openai/gpt with the own key",
                "no platform key for openai"
            ]
        );
    }
}
