//! Hard spend limits, the arithmetic: what a request may cost at most before it is sent (its estimate),
//! how large a slice of a budget an instance leases, and the local ledger that spends a lease from memory.
//!
//! Amounts are nano-dollars (`i64`), like the spend counters. The store side (a bounded atomic add on the
//! budget counter) and the holder of leases live in the router; nothing here does I/O.
//!
//! The budget counter of a key (or an org) holds its recorded spend plus every lease granted and not yet
//! returned. A lease is granted with one bounded add (`budget + grant <= limit`), spent locally by holds
//! of each request's estimate, settled to the real cost when the request is billed, and returned
//! (`budget -= grant`) when it expires or is replaced. Recorded spend is added to the budget counter too,
//! so while a lease lives, what was spent from it counts twice: the limit is only ever approached from
//! below. See README "Spend limits" for the overshoot bound.

use crate::domain::price::Price;
use crate::domain::usage::to_nanos;
use crate::providers::{RequestBody, Usage};

/// The largest token counts a request may use: its input (an upper bound, see [`request_need`]) and its
/// output (its own `max_tokens`, or the operator's cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// Output fields, in the order a request is read: OpenAI's current and legacy names, Anthropic's.
const OUTPUT_FIELDS: [&str; 2] = ["max_completion_tokens", "max_tokens"];

/// What a request may use. Input: the size of the request body in bytes as it is sent on (its fields'
/// text as the caller wrote them), an upper bound on its tokens (a byte-level BPE token covers at least one
/// byte of text, and the JSON around the text is larger than the per-message tokens a provider adds).
/// Output: the request's `max_completion_tokens` or `max_tokens`, else `default_output` (embeddings:
/// none).
pub fn request_need(body: &RequestBody, embeddings: bool, default_output: u64) -> Need {
    let input_tokens = body.json_len() as u64;
    let output_tokens = if embeddings {
        0
    } else {
        OUTPUT_FIELDS
            .iter()
            .find_map(|f| body.get_u64(f))
            .unwrap_or(default_output)
    };
    Need {
        input_tokens,
        output_tokens,
    }
}

/// The most `need` can cost at any of `prices` (a route may be served by any of its steps), rounded up
/// to a whole nano-dollar. Zero for an empty route. The input is priced at the dearer of its plain and
/// cache-write prices: with auto caching the whole prompt may be written to the cache.
pub fn estimate<'a>(prices: impl IntoIterator<Item = &'a Price>, need: Need) -> i64 {
    let plain = Usage {
        input_tokens: need.input_tokens,
        output_tokens: need.output_tokens,
        ..Usage::default()
    };
    let written = Usage {
        cache_write_tokens: need.input_tokens,
        ..plain
    };
    prices
        .into_iter()
        .map(|p| ceil_nanos(p.cost(&plain).max(p.cost(&written))))
        .max()
        .unwrap_or(0)
}

fn ceil_nanos(usd: f64) -> i64 {
    let nanos = (usd * 1_000_000_000.0).ceil();
    if nanos.is_finite() && nanos < i64::MAX as f64 {
        (nanos as i64).max(0)
    } else {
        i64::MAX
    }
}

/// A USD limit as nano-dollars (0 and below: no limit).
pub fn limit_nanos(usd: f64) -> Option<i64> {
    (usd > 0.0).then(|| to_nanos(usd))
}

/// How large the slices an instance leases are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeasePolicy {
    /// Largest lease, nano-dollars (a lease is at least one request's need, whatever this says).
    pub cap: i64,
    /// A lease takes at most `1/share` of what is left of the budget, so instances share what is left.
    pub share: i64,
}

/// Requests' worth of estimates a lease has room for, at least (so a warm request rarely renews).
pub const LEASE_REQUESTS: i64 = 8;

/// The grant to ask for: `need`, plus room for [`LEASE_REQUESTS`] more like it or twice what the previous
/// lease of this budget on this instance spent (`recent`), whichever is more, within `1/share` of what is
/// left and the cap (but never less than `need`). `None` when `need` does not fit what is left at all.
/// `committed` is the budget counter without this instance's current grant.
pub fn lease_size(
    policy: LeasePolicy,
    limit: i64,
    committed: i64,
    need: i64,
    recent: i64,
) -> Option<i64> {
    let left = limit.saturating_sub(committed);
    if need > left {
        return None;
    }
    let room = (left / policy.share.max(1)).min(policy.cap);
    let want = recent
        .max(0)
        .saturating_mul(2)
        .max(need.saturating_mul(LEASE_REQUESTS))
        .saturating_add(need);
    Some(want.min(room).max(need).min(left))
}

/// One instance's lease on one budget, spent from memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    /// What the store holds for this lease (0: no lease).
    granted: i64,
    /// Holds not yet settled plus the real cost of those settled since the grant.
    used: i64,
    /// Holds not yet settled (they carry over to the next grant).
    outstanding: i64,
}

impl Ledger {
    pub fn granted(&self) -> i64 {
        self.granted
    }

    pub fn outstanding(&self) -> i64 {
        self.outstanding
    }

    /// The real cost settled since the grant.
    pub fn spent(&self) -> i64 {
        self.used - self.outstanding
    }

    /// Hold `need` if the lease has room for it.
    pub fn try_hold(&mut self, need: i64) -> bool {
        if self.granted - self.used >= need {
            self.used += need;
            self.outstanding += need;
            true
        } else {
            false
        }
    }

    /// Replace the lease by `granted` (a renewal, whose one store add was `granted - self.granted()`);
    /// the unsettled holds move to it. Then hold `need` on it, if given.
    pub fn regrant(&mut self, granted: i64, need: Option<i64>) -> bool {
        self.granted = granted;
        self.used = self.outstanding;
        need.is_none_or(|n| self.try_hold(n))
    }

    /// A request held `held` and really cost `cost` (more or less than held).
    pub fn settle(&mut self, held: i64, cost: i64) {
        self.outstanding -= held;
        self.used = self.used - held + cost;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    fn price(input: f64, output: f64) -> Price {
        Price {
            input,
            output,
            cache_read: None,
            cache_write: None,
            per_request: 0.0,
        }
    }

    #[test]
    fn need_reads_max_tokens_and_counts_the_body() {
        let need_of = |v: Value, embeddings, default| {
            request_need(&RequestBody::from(v), embeddings, default)
        };
        let body = json!({"model": "m", "max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]});
        let need = need_of(body.clone(), false, 4096);
        assert_eq!(need.output_tokens, 16);
        assert_eq!(need.input_tokens, body.to_string().len() as u64);
        // The caller's own text is counted, spaces and all: still an upper bound.
        let spaced = br#"{ "max_tokens" : 16 , "messages" : [ "Hi" ] }"#;
        let spaced = RequestBody::from_json(spaced).unwrap();
        assert_eq!(request_need(&spaced, false, 4096).input_tokens, 37);
        let openai = json!({"max_completion_tokens": 7, "max_tokens": 99});
        assert_eq!(need_of(openai, false, 4096).output_tokens, 7);
        assert_eq!(need_of(json!({}), false, 4096).output_tokens, 4096);
        assert_eq!(
            need_of(json!({"max_tokens": 5}), true, 4096).output_tokens,
            0
        );
        // Not a count: the cap.
        assert_eq!(
            need_of(json!({"max_tokens": "9"}), false, 50).output_tokens,
            50
        );
    }

    #[test]
    fn estimate_takes_the_dearest_step_and_rounds_up() {
        let need = Need {
            input_tokens: 100,
            output_tokens: 10,
        };
        // (100 × 0.4 + 10 × 1.6) USD per million tokens = 56 µ$ = 56 000 nano-dollars.
        assert_eq!(estimate([&price(0.4, 1.6)], need), 56_000);
        assert_eq!(
            estimate([&price(0.4, 1.6), &price(3.0, 15.0)], need),
            450_000
        );
        assert_eq!(
            estimate([&price(0.000_001, 0.0)], need),
            1,
            "a fraction of a nano rounds up"
        );
        assert_eq!(estimate(std::iter::empty(), need), 0);
    }

    #[test]
    fn lease_sizes() {
        let p = LeasePolicy {
            cap: 1_000,
            share: 4,
        };
        // Nothing spent recently: room for the need and eight more like it.
        assert_eq!(lease_size(p, 10_000, 0, 10, 0), Some(90));
        // Busy: twice the recent spend plus the need, within the cap and a quarter of what is left.
        assert_eq!(lease_size(p, 10_000, 0, 10, 100), Some(210));
        assert_eq!(lease_size(p, 10_000, 0, 10, 5_000), Some(1_000));
        assert_eq!(lease_size(p, 10_000, 9_000, 10, 5_000), Some(250));
        // Near the end the need itself is granted while it fits, then nothing.
        assert_eq!(lease_size(p, 10_000, 9_990, 10, 5_000), Some(10));
        assert_eq!(lease_size(p, 10_000, 9_991, 10, 0), None);
        assert_eq!(lease_size(p, 10_000, 12_000, 0, 0), None, "already over");
    }

    #[test]
    fn a_ledger_holds_settles_and_carries_holds_to_the_next_grant() {
        let mut l = Ledger::default();
        assert!(!l.try_hold(1), "no lease, no hold");
        assert!(l.regrant(100, Some(60)));
        assert!(!l.try_hold(60));
        assert!(l.try_hold(40));
        l.settle(60, 10);
        assert_eq!((l.outstanding(), l.spent()), (40, 10));
        assert!(l.try_hold(50));
        assert!(!l.try_hold(1));
        // Renewed: the two unsettled holds (90) move over.
        assert!(l.regrant(120, None));
        assert_eq!((l.granted(), l.outstanding(), l.spent()), (120, 90, 0));
        assert!(!l.try_hold(31));
        l.settle(40, 70); // cost more than held: the lease is overdrawn
        l.settle(50, 0);
        assert_eq!((l.outstanding(), l.spent()), (0, 70));
        assert!(l.try_hold(50));
        assert!(!l.try_hold(1));
    }

    proptest! {
        /// A lease never passes what is left, always covers the need when it fits, and is refused only
        /// when the need does not fit.
        #[test]
        fn a_lease_fits_the_budget(limit in 0i64..1 << 40, committed in -(1i64 << 20)..1 << 41,
                                   need in 0i64..1 << 30, recent in -(1i64 << 20)..1 << 40,
                                   cap in 0i64..1 << 40, share in 0i64..16) {
            let size = lease_size(LeasePolicy { cap, share }, limit, committed, need, recent);
            let left = limit - committed;
            match size {
                Some(s) => prop_assert!(s >= need && s <= left, "{s} need {need} left {left}"),
                None => prop_assert!(need > left),
            }
        }

        /// Whatever the order of holds and settlements, holds never take more than the grant (a hold that
        /// does not fit is refused), and once everything is settled the ledger has spent exactly the sum
        /// of the real costs.
        #[test]
        fn holds_stay_within_the_grant(grant in 0i64..10_000,
                                       requests in proptest::collection::vec((1i64..2_000, 0i64..3_000), 0..40)) {
            let mut l = Ledger::default();
            l.regrant(grant, None);
            let mut held = Vec::new();
            let mut spent = 0;
            for (need, cost) in requests {
                let room = grant - l.outstanding() - l.spent();
                let held_now = l.try_hold(need);
                prop_assert_eq!(held_now, need <= room);
                if held_now {
                    held.push((need, cost));
                    prop_assert!(l.outstanding() + l.spent() <= grant);
                }
                if held.len() > 2 {
                    let (n, c) = held.remove(0);
                    l.settle(n, c);
                    spent += c;
                }
            }
            for (n, c) in held {
                l.settle(n, c);
                spent += c;
            }
            prop_assert_eq!((l.outstanding(), l.spent()), (0, spent));
        }
    }
}
