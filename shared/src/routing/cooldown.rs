//! Per-instance health of routing targets: after `threshold` consecutive failures a target cools down for
//! `period` and is skipped meanwhile (unless nothing else is left). State lives in this process only; each
//! Lambda instance learns on its own, which is enough to stop hammering a failing target.
//!
//! Tenants are adversaries: a target is the provider, the model and **whose key**. An org's own key is its
//! own target (keyed by the org), so one org's revoked key or failing account never makes another org skip
//! its own key. Only the operator's platform key is one target shared by every org, and only failures that
//! say something about the provider count there (see [`super::classify::cools_down`]): never the caller's
//! own error, never a timeout the caller tightened below the default.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::policy::{CooldownView, KeyKind};
use crate::domain::provider::Provider;

pub const DEFAULT_THRESHOLD: u32 = 3;
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(30);
/// Most targets remembered; past it, the healthy ones are forgotten first (a bounded map under any load).
const MAX_TARGETS: usize = 100_000;

/// Whose key a target uses: an org's own, or the platform's (shared by every org).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Owner {
    Org(String),
    Platform,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Target {
    owner: Owner,
    provider: Provider,
    model: String,
}

#[derive(Default)]
struct Health {
    consecutive_failures: u32,
    until: Option<Instant>,
}

pub struct Cooldowns {
    threshold: u32,
    period: Duration,
    state: Mutex<HashMap<Target, Health>>,
}

impl Default for Cooldowns {
    fn default() -> Self {
        Self::new(DEFAULT_THRESHOLD, DEFAULT_PERIOD)
    }
}

impl Cooldowns {
    pub fn new(threshold: u32, period: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            period,
            state: Mutex::new(HashMap::new()),
        }
    }

    /// The targets as `org_id` sees them: its own keys, and the shared platform keys.
    pub fn of<'a>(&'a self, org_id: &'a str) -> TenantCooldowns<'a> {
        TenantCooldowns {
            cooldowns: self,
            org_id,
        }
    }

    fn target(org_id: &str, provider: Provider, model: &str, key: KeyKind) -> Target {
        Target {
            owner: match key {
                KeyKind::Own => Owner::Org(org_id.to_owned()),
                KeyKind::Platform => Owner::Platform,
            },
            provider,
            model: model.to_owned(),
        }
    }

    fn success(&self, target: &Target) {
        if let Ok(mut state) = self.state.lock() {
            state.remove(target);
        }
    }

    fn failure(&self, target: Target) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if state.len() >= MAX_TARGETS && !state.contains_key(&target) {
            let now = Instant::now();
            state.retain(|_, h| h.until.is_some_and(|until| until > now));
            if state.len() >= MAX_TARGETS {
                return;
            }
        }
        let health = state.entry(target).or_default();
        health.consecutive_failures += 1;
        if health.consecutive_failures >= self.threshold {
            health.until = Some(Instant::now() + self.period);
            health.consecutive_failures = 0;
        }
    }

    fn cooling(&self, target: &Target) -> bool {
        let Ok(state) = self.state.lock() else {
            return false;
        };
        state
            .get(target)
            .and_then(|h| h.until)
            .is_some_and(|until| until > Instant::now())
    }
}

/// One org's view of the targets (see the module notes).
#[derive(Clone, Copy)]
pub struct TenantCooldowns<'a> {
    cooldowns: &'a Cooldowns,
    org_id: &'a str,
}

impl TenantCooldowns<'_> {
    pub fn success(&self, provider: Provider, model: &str, key: KeyKind) {
        let target = Cooldowns::target(self.org_id, provider, model, key);
        self.cooldowns.success(&target);
    }

    pub fn failure(&self, provider: Provider, model: &str, key: KeyKind) {
        let target = Cooldowns::target(self.org_id, provider, model, key);
        self.cooldowns.failure(target);
    }
}

impl CooldownView for TenantCooldowns<'_> {
    fn in_cooldown(&self, provider: Provider, model: &str, key: KeyKind) -> bool {
        let target = Cooldowns::target(self.org_id, provider, model, key);
        self.cooldowns.cooling(&target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cools_down_after_consecutive_failures_and_recovers() {
        let c = Cooldowns::new(2, Duration::from_millis(50));
        let t = c.of("org-a");
        let (p, m, k) = (Provider::OpenAi, "gpt-4.1", KeyKind::Own);
        t.failure(p, m, k);
        assert!(!t.in_cooldown(p, m, k));
        t.success(p, m, k);
        t.failure(p, m, k);
        assert!(!t.in_cooldown(p, m, k), "a success resets the count");
        t.failure(p, m, k);
        assert!(t.in_cooldown(p, m, k));
        assert!(!t.in_cooldown(p, m, KeyKind::Platform), "per key kind");
        std::thread::sleep(Duration::from_millis(60));
        assert!(!t.in_cooldown(p, m, k));
    }

    #[test]
    fn own_keys_cool_down_per_org_and_platform_keys_for_all() {
        let c = Cooldowns::new(1, Duration::from_secs(60));
        let (a, b) = (c.of("org-a"), c.of("org-b"));
        let (p, m) = (Provider::Anthropic, "claude-sonnet-4-5");
        a.failure(p, m, KeyKind::Own);
        assert!(a.in_cooldown(p, m, KeyKind::Own));
        assert!(
            !b.in_cooldown(p, m, KeyKind::Own),
            "org a's failing own key must not make org b skip its own key"
        );
        b.failure(p, m, KeyKind::Platform);
        assert!(
            a.in_cooldown(p, m, KeyKind::Platform),
            "the platform key is shared"
        );
    }
}
