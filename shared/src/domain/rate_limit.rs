//! Per-key rate limits: requests per minute (`rpm`) and tokens per minute (`tpm`), counted in fixed
//! one-minute windows (UTC, aligned to the minute) shared by every instance through the store.
//!
//! Every request the key sends to an inference endpoint counts one request and its estimated tokens
//! (input size and the requested output cap) when it is admitted; once answered, the estimate is corrected
//! to the real input + output tokens. A request that would take the window past either limit is refused
//! with 429 and its counts are given back, so refused requests do not eat the next ones' allowance.

use crate::providers::RequestBody;
use serde::{Deserialize, Serialize};

/// Length of a window, seconds.
pub const WINDOW_SECS: i64 = 60;
pub const MAX_RPM: u32 = 1_000_000;
pub const MAX_TPM: u64 = 10_000_000_000;

/// A key's limits; `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
}

impl RateLimits {
    pub fn is_unlimited(&self) -> bool {
        self.rpm.is_none() && self.tpm.is_none()
    }

    /// 1..=1e6 requests and 1..=1e10 tokens per minute.
    pub fn validate(&self) -> crate::Result<()> {
        if self.rpm.is_some_and(|r| !(1..=MAX_RPM).contains(&r)) {
            return Err(crate::Error::invalid(
                "rpm",
                format!(
                    "rpm must be a whole number of requests per minute from 1 to {MAX_RPM}, or null for no limit"
                ),
            ));
        }
        if self.tpm.is_some_and(|t| !(1..=MAX_TPM).contains(&t)) {
            return Err(crate::Error::invalid(
                "tpm",
                format!(
                    "tpm must be a whole number of tokens per minute from 1 to {MAX_TPM}, or null for no limit"
                ),
            ));
        }
        Ok(())
    }

    /// The first limit of `self` wider than `outer`'s (none is wider than any), as its field name.
    pub fn wider_than(&self, outer: &RateLimits) -> Option<&'static str> {
        let wider = |inner: Option<u64>, outer: Option<u64>| {
            outer.is_some_and(|o| inner.is_none_or(|i| i > o))
        };
        if wider(self.rpm.map(u64::from), outer.rpm.map(u64::from)) {
            return Some("rpm");
        }
        if wider(self.tpm, outer.tpm) {
            return Some("tpm");
        }
        None
    }
}

/// The window `now` (Unix seconds) falls in: its number and the seconds until it ends (at least 1).
pub fn window(now: i64) -> (i64, u64) {
    let index = now.div_euclid(WINDOW_SECS);
    let reset = (index + 1) * WINDOW_SECS - now;
    (index, reset.max(1) as u64)
}

/// A cheap token estimate of a request body, before the call: a quarter of the bytes of what the model
/// reads (messages, system, tools, or an embeddings input), plus the output it may write (`max_tokens`,
/// `max_completion_tokens` or `max_output_tokens`). Corrected to the provider's count after the call.
///
/// Read from the fields' text as the caller wrote it: a string's bytes between its quotes (escapes as
/// written), anything else its JSON text.
pub fn estimate_tokens(body: &RequestBody) -> u64 {
    let read: usize = ["messages", "system", "tools", "input", "prompt"]
        .iter()
        .filter_map(|field| body.raw(field))
        .map(|raw| {
            let text = raw.get();
            match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                Some(inside) => inside.len(),
                None => text.len(),
            }
        })
        .sum();
    let output = ["max_tokens", "max_completion_tokens", "max_output_tokens"]
        .iter()
        .find_map(|field| body.get_u64(field))
        .unwrap_or(0)
        .min(MAX_TPM);
    (read as u64).div_ceil(4) + output
}

/// What the window's counters say after this request's add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub requests: i64,
    pub tokens: i64,
}

/// Why a request is refused: the limit it would pass, as `requests` or `tokens`.
pub fn exceeded(limits: &RateLimits, after: Standing) -> Option<&'static str> {
    if limits
        .rpm
        .is_some_and(|rpm| after.requests > i64::from(rpm))
    {
        return Some("requests");
    }
    if limits.tpm.is_some_and(|tpm| after.tokens > tpm as i64) {
        return Some("tokens");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn windows_are_whole_utc_minutes() {
        assert_eq!(window(120), (2, 60));
        assert_eq!(window(179), (2, 1));
        assert_eq!(window(150), (2, 30));
    }

    #[test]
    fn the_limit_itself_passes_and_one_more_does_not() {
        let limits = RateLimits {
            rpm: Some(10),
            tpm: Some(100),
        };
        let at = |requests, tokens| exceeded(&limits, Standing { requests, tokens });
        assert_eq!(at(10, 100), None);
        assert_eq!(at(11, 0), Some("requests"));
        assert_eq!(at(1, 101), Some("tokens"));
        assert_eq!(
            exceeded(
                &RateLimits::default(),
                Standing {
                    requests: 1 << 40,
                    tokens: 1 << 40
                }
            ),
            None
        );
    }

    #[test]
    fn a_limit_is_wider_when_looser_or_absent_under_a_limited_outer() {
        let outer = RateLimits {
            rpm: Some(10),
            tpm: None,
        };
        let key = |rpm, tpm| RateLimits { rpm, tpm };
        assert_eq!(key(Some(10), None).wider_than(&outer), None);
        assert_eq!(key(Some(5), Some(7)).wider_than(&outer), None);
        assert_eq!(key(Some(11), None).wider_than(&outer), Some("rpm"));
        assert_eq!(key(None, None).wider_than(&outer), Some("rpm"));
        let outer = key(None, Some(1000));
        assert_eq!(key(Some(1), None).wider_than(&outer), Some("tpm"));
        assert_eq!(key(None, None).wider_than(&RateLimits::default()), None);
    }

    #[test]
    fn limits_are_bounded() {
        assert!(
            RateLimits {
                rpm: Some(0),
                tpm: None
            }
            .validate()
            .is_err()
        );
        assert!(
            RateLimits {
                rpm: None,
                tpm: Some(0)
            }
            .validate()
            .is_err()
        );
        assert!(
            RateLimits {
                rpm: Some(MAX_RPM + 1),
                tpm: None
            }
            .validate()
            .is_err()
        );
        assert!(
            RateLimits {
                rpm: Some(60),
                tpm: Some(100_000)
            }
            .validate()
            .is_ok()
        );
    }

    #[test]
    fn the_estimate_counts_what_is_read_and_the_output_cap() {
        let body =
            json!({"messages": [{"role": "user", "content": "x".repeat(400)}], "max_tokens": 50});
        let estimate = |v: Value| estimate_tokens(&RequestBody::from(v));
        let n = estimate(body);
        assert!((150..=170).contains(&n), "{n}");
        assert_eq!(estimate(json!({"input": "abcdefgh"})), 2);
        assert_eq!(estimate(json!({})), 0);
    }
}
