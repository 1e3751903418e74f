//! Weighted order of load-balancing targets, optionally sticky.
//!
//! Each target gets a score `w / -ln(u)` with `u` uniform in (0, 1); targets are tried in descending score
//! order. The first is target `i` with probability `w_i / Σw`, and the rest follow as weighted sampling
//! without replacement (Efraimidis–Spirakis), so a failing first pick falls over in a weighted order too.
//!
//! With a sticky key, `u` comes from a stable hash (FNV-1a 64, then a SplitMix64 finaliser) of the sticky
//! key and the target's model id, instead of from a random source. That is weighted rendezvous hashing: the
//! same key always gets the same order, and adding or removing a target only moves the keys that target
//! wins or loses, not everyone's.

use super::Target;

/// FNV-1a, 64 bit.
pub fn fnv1a64(parts: &[&[u8]]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            // A separator byte that cannot occur in UTF-8, so ("ab","c") and ("a","bc") differ.
            hash ^= 0xff;
            hash = hash.wrapping_mul(PRIME);
        }
        for byte in *part {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

/// SplitMix64's finaliser: spreads FNV's weak low bits over the whole word.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A u64 → a float strictly inside (0, 1).
fn unit(bits: u64) -> f64 {
    ((bits >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

fn score(weight: f64, u: f64) -> f64 {
    weight / -u.ln()
}

/// Indices of `items` (id, weight) in weighted order; `uniform(id)` supplies `u` for each item.
pub fn weighted_order_by(
    items: &[(&str, f64)],
    mut uniform: impl FnMut(&str) -> f64,
) -> Vec<usize> {
    let mut scored: Vec<(usize, f64)> = items
        .iter()
        .enumerate()
        .map(|(i, (id, weight))| (i, score(*weight, uniform(id))))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.into_iter().map(|(i, _)| i).collect()
}

/// Indices in weighted order: stable per `sticky_key`, random per call without one.
pub fn weighted_order(items: &[(&str, f64)], sticky_key: Option<&str>) -> Vec<usize> {
    match sticky_key {
        Some(key) => weighted_order_by(items, |id| {
            unit(mix(fnv1a64(&[key.as_bytes(), id.as_bytes()])))
        }),
        None => weighted_order_by(items, |_| unit(rand::random::<u64>())),
    }
}

/// The targets in the order a request tries them: the first is picked with probability proportional to
/// its weight; the same `sticky_key` always yields the same order (for the same targets); without a
/// sticky key the order is drawn afresh on each call.
pub fn pick_weighted<'a>(targets: &'a [Target], sticky_key: Option<&str>) -> Vec<&'a Target> {
    let ids: Vec<String> = targets
        .iter()
        .map(|t| {
            // The key source is part of the identity: the same model may be a target twice, once per key.
            format!(
                "{}|{}",
                t.model,
                t.key_source.map(|k| k.as_str()).unwrap_or("")
            )
        })
        .collect();
    let items: Vec<(&str, f64)> = ids
        .iter()
        .zip(targets)
        .map(|(id, t)| (id.as_str(), t.weight))
        .collect();
    weighted_order(&items, sticky_key)
        .into_iter()
        .map(|i| &targets[i])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::KeySource;

    fn target(model: &str, weight: f64) -> Target {
        Target {
            model: model.parse().unwrap(),
            key_source: Some(KeySource::Own),
            weight,
        }
    }

    #[test]
    fn fnv_matches_reference_vectors() {
        assert_eq!(fnv1a64(&[b""]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(&[b"a"]), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(&[b"foobar"]), 0x8594_4171_f739_67e8);
        assert_ne!(fnv1a64(&[b"ab", b"c"]), fnv1a64(&[b"a", b"bc"]));
    }

    #[test]
    fn sticky_keys_are_stable_and_complete() {
        let targets = [
            target("openai/a", 1.0),
            target("anthropic/b", 2.0),
            target("xai/c", 3.0),
        ];
        for key in ["user-1", "user-2", "trace-xyz"] {
            let first = pick_weighted(&targets, Some(key));
            for _ in 0..5 {
                assert_eq!(pick_weighted(&targets, Some(key)), first);
            }
            let mut models: Vec<String> = first.iter().map(|t| t.model.to_string()).collect();
            models.sort();
            assert_eq!(models, ["anthropic/b", "openai/a", "xai/c"]);
        }
    }

    #[test]
    fn first_pick_follows_the_weights() {
        let targets = [target("openai/a", 3.0), target("anthropic/b", 1.0)];
        let n = 20_000;
        let sticky_a = (0..n)
            .filter(|i| {
                pick_weighted(&targets, Some(&format!("user-{i}")))[0]
                    .model
                    .to_string()
                    == "openai/a"
            })
            .count();
        let share = sticky_a as f64 / n as f64;
        assert!((share - 0.75).abs() < 0.02, "sticky share {share}");
        let random_a = (0..n)
            .filter(|_| pick_weighted(&targets, None)[0].model.to_string() == "openai/a")
            .count();
        let share = random_a as f64 / n as f64;
        assert!((share - 0.75).abs() < 0.02, "random share {share}");
    }

    #[test]
    fn adding_a_target_moves_only_the_keys_it_wins() {
        let before = [target("openai/a", 1.0), target("anthropic/b", 1.0)];
        let after = [
            target("openai/a", 1.0),
            target("anthropic/b", 1.0),
            target("xai/c", 1.0),
        ];
        for i in 0..2_000 {
            let key = format!("k{i}");
            let old = pick_weighted(&before, Some(&key))[0].model.to_string();
            let new = pick_weighted(&after, Some(&key))[0].model.to_string();
            assert!(new == old || new == "xai/c", "{key}: {old} -> {new}");
        }
    }
}
