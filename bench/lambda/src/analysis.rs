//! Where each invocation's AWS calls fall against its provider call: awaited before it, awaited after it
//! (before the response completed), or off the response's path.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::proxy::Call;
use crate::runtime::Invocation;

/// Time covered by the union of `intervals` (sorted by start).
fn covered(mut intervals: Vec<(Instant, Instant)>) -> Duration {
    intervals.sort_by_key(|i| i.0);
    let mut total = Duration::ZERO;
    let mut current: Option<(Instant, Instant)> = None;
    for (s, e) in intervals {
        current = match current {
            Some((cs, ce)) if s <= ce => Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += ce - cs;
                Some((s, e))
            }
            None => Some((s, e)),
        };
    }
    if let Some((cs, ce)) = current {
        total += ce - cs;
    }
    total
}

/// Round trips one after another: the most calls of which none overlaps the next (the longest sequential
/// chain; calls made in parallel count once).
fn chain(mut intervals: Vec<(Instant, Instant)>) -> usize {
    intervals.sort_by_key(|i| i.1);
    let mut n = 0;
    let mut free_from: Option<Instant> = None;
    for (s, e) in intervals {
        if free_from.is_none_or(|f| s >= f) {
            n += 1;
            free_from = Some(e);
        }
    }
    n
}

/// Where the calls an invocation caused after its response stop being its own: at the next invocation of
/// the same instance (`next`: that invocation's instance and arrival), else when its instance stopped. The
/// next instance's init (its price-table load) belongs to no earlier invocation.
pub fn caused_until(
    instance: usize,
    next: Option<(usize, Instant)>,
    stopped: &[Instant],
) -> Option<Instant> {
    match next {
        Some((same, given)) if same == instance => Some(given),
        _ => stopped.get(instance).copied(),
    }
}

/// The facts of one invocation; `until` (see [`caused_until`]) bounds the calls it caused after its response.
pub fn invocation(
    inv: &Invocation,
    until: Option<Instant>,
    aws: &[Call],
    provider: &[Call],
) -> Value {
    let within = |c: &Call| c.start >= inv.given && c.start <= inv.done;
    let p: Vec<&Call> = provider.iter().filter(|c| within(c)).collect();
    let p_start = p.iter().map(|c| c.start).min();
    let p_end = p.iter().map(|c| c.end).max();
    let provider_ms = match (p_start, p_end) {
        (Some(s), Some(e)) => (e - s).as_secs_f64() * 1e3,
        _ => 0.0,
    };
    let mut before = Vec::new();
    let mut after = Vec::new();
    let mut overlapping = Vec::new();
    let mut behind = Vec::new();
    for c in aws {
        let caused_after = c.start > inv.done && until.is_none_or(|n| c.start < n);
        if caused_after {
            behind.push(c);
        } else if within(c) {
            match (p_start, p_end) {
                (Some(ps), _) if c.end <= ps => before.push(c),
                (_, Some(pe)) if c.start >= pe && c.end <= inv.done => after.push(c),
                (None, None) if c.end <= inv.done => before.push(c),
                _ => overlapping.push(c),
            }
        }
    }
    let serial = |cs: &[&Call]| chain(cs.iter().map(|c| (c.start, c.end)).collect());
    let waited =
        |cs: &[&Call]| covered(cs.iter().map(|c| (c.start, c.end)).collect()).as_secs_f64() * 1e3;
    let ops = |cs: &[&Call]| {
        cs.iter()
            .map(|c| format!("{}:{}", c.service, c.op))
            .collect::<Vec<_>>()
    };
    let total_ms = (inv.done - inv.given).as_secs_f64() * 1e3;
    json!({
        "ok": inv.ok,
        "total_ms": total_ms,
        "provider_ms": provider_ms,
        "added_ms": total_ms - provider_ms,
        "awaited_before": before.len(),
        "awaited_before_serial": serial(&before),
        "awaited_before_ms": waited(&before),
        "awaited_after": after.len(),
        "awaited_after_serial": serial(&after),
        "awaited_after_ms": waited(&after),
        "overlapping_provider": overlapping.len(),
        "after_response": behind.len(),
        "ops_before": ops(&before),
        "ops_after": ops(&after),
        "ops_overlapping": ops(&overlapping),
        "ops_after_response": ops(&behind),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_of_overlapping_and_disjoint_intervals() {
        let t = Instant::now();
        let ms = |n| t + Duration::from_millis(n);
        let u = covered(vec![(ms(0), ms(5)), (ms(3), ms(8)), (ms(20), ms(25))]);
        assert_eq!(u, Duration::from_millis(13));
        assert_eq!(covered(Vec::new()), Duration::ZERO);
    }

    #[test]
    fn parallel_calls_count_once_in_the_chain() {
        let t = Instant::now();
        let ms = |n| t + Duration::from_millis(n);
        // Two in parallel, then one after both: two sequential round trips.
        assert_eq!(
            chain(vec![(ms(0), ms(5)), (ms(1), ms(6)), (ms(7), ms(12))]),
            2
        );
        assert_eq!(
            chain(vec![(ms(0), ms(5)), (ms(5), ms(10)), (ms(10), ms(15))]),
            3
        );
        assert_eq!(chain(Vec::new()), 0);
    }

    #[test]
    fn what_an_instance_caused_ends_at_its_next_invocation_or_its_stop() {
        let t = Instant::now();
        let ms = |n| t + Duration::from_millis(n);
        let stopped = [ms(100), ms(300)];
        // The next invocation is the same instance's: up to its arrival.
        assert_eq!(caused_until(0, Some((0, ms(50))), &stopped), Some(ms(50)));
        // The next is another instance's (whose init came before it): up to this instance's stop.
        assert_eq!(caused_until(0, Some((1, ms(250))), &stopped), Some(ms(100)));
        assert_eq!(caused_until(1, None, &stopped), Some(ms(300)));
    }
}
