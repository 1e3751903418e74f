//! Per-instance health of (model, key kind) targets: after `threshold` consecutive failures a target cools
//! down for `period` and is skipped meanwhile (unless nothing else is left). State lives in this process
//! only; each Lambda instance learns on its own, which is enough to stop hammering a failing target.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::policy::{CooldownView, KeyKind};
use crate::domain::provider::Provider;

pub const DEFAULT_THRESHOLD: u32 = 3;
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(30);

type Target = (Provider, String, KeyKind);

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

    pub fn success(&self, provider: Provider, model: &str, key: KeyKind) {
        if let Ok(mut state) = self.state.lock() {
            state.remove(&(provider, model.to_owned(), key));
        }
    }

    pub fn failure(&self, provider: Provider, model: &str, key: KeyKind) {
        if let Ok(mut state) = self.state.lock() {
            let health = state.entry((provider, model.to_owned(), key)).or_default();
            health.consecutive_failures += 1;
            if health.consecutive_failures >= self.threshold {
                health.until = Some(Instant::now() + self.period);
                health.consecutive_failures = 0;
            }
        }
    }
}

impl CooldownView for Cooldowns {
    fn in_cooldown(&self, provider: Provider, model: &str, key: KeyKind) -> bool {
        let Ok(state) = self.state.lock() else {
            return false;
        };
        state
            .get(&(provider, model.to_owned(), key))
            .and_then(|h| h.until)
            .is_some_and(|until| until > Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cools_down_after_consecutive_failures_and_recovers() {
        let c = Cooldowns::new(2, Duration::from_millis(50));
        let (p, m, k) = (Provider::OpenAi, "gpt-4.1", KeyKind::Own);
        c.failure(p, m, k);
        assert!(!c.in_cooldown(p, m, k));
        c.success(p, m, k);
        c.failure(p, m, k);
        assert!(!c.in_cooldown(p, m, k), "a success resets the count");
        c.failure(p, m, k);
        assert!(c.in_cooldown(p, m, k));
        assert!(!c.in_cooldown(p, m, KeyKind::Platform), "per key kind");
        std::thread::sleep(Duration::from_millis(60));
        assert!(!c.in_cooldown(p, m, k));
    }
}
