//! Per-key rate-limit windows: one item per key per one-minute window at `RATE#<api_key_id>` /
//! `W#<window>`, with counters `requests` and `tokens` changed only by atomic adds, and a TTL a minute
//! past the window's end so the table does not keep them. Every instance counts into the same item, so the
//! limits hold across instances.

use crate::domain::rate_limit::{Standing, WINDOW_SECS};
use crate::error::Result;
use crate::store::Store;

fn pk(api_key_id: &str) -> String {
    format!("RATE#{api_key_id}")
}

fn sk(window: i64) -> String {
    format!("W#{window}")
}

/// One window of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowRef {
    pub api_key_id: String,
    pub window: i64,
}

impl WindowRef {
    fn expires_at(&self) -> i64 {
        (self.window + 2) * WINDOW_SECS
    }

    /// Add to the window's counts (negative to give back or correct); the counts after the add.
    pub async fn add(&self, store: &dyn Store, requests: i64, tokens: i64) -> Result<Standing> {
        let counters = store
            .add_expiring(
                &pk(&self.api_key_id),
                &sk(self.window),
                &[("requests", requests), ("tokens", tokens)],
                self.expires_at(),
            )
            .await?;
        let get = |name: &str| counters.get(name).copied().unwrap_or(0);
        Ok(Standing {
            requests: get("requests"),
            tokens: get("tokens"),
        })
    }
}
