//! Throttling "last used" writes: a used key's timestamp is written at most once a minute per instance, so
//! the hot path makes no extra store write on most requests and the shown time is at most a minute stale.

use std::time::Duration;

use byok_shared::cache::TtlCache;

/// How often one instance writes a key's last-used time.
pub const EVERY: Duration = Duration::from_secs(60);

pub struct LastUsed {
    marked: TtlCache<String, ()>,
}

impl Default for LastUsed {
    fn default() -> Self {
        Self {
            marked: TtlCache::new(100_000, EVERY),
        }
    }
}

impl LastUsed {
    /// True for the first use of `what` in the current window: write its last-used time now.
    pub async fn first_in_window(&self, what: String) -> bool {
        self.marked.insert_if_absent(what, ()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn once_per_window_per_key() {
        let t = LastUsed::default();
        assert!(t.first_in_window("a".into()).await);
        assert!(!t.first_in_window("a".into()).await);
        assert!(t.first_in_window("b".into()).await);
    }
}
