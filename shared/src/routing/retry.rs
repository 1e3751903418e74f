//! Delays between retries of one step: exponential with jitter (`backon`), never shorter than the
//! provider's `Retry-After`, never past the request's deadline.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

pub const MIN_DELAY: Duration = Duration::from_millis(100);
pub const MAX_DELAY: Duration = Duration::from_secs(8);

/// The delays for `retries` retries.
pub fn delays(retries: u32) -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(MIN_DELAY)
        .with_max_delay(MAX_DELAY)
        .with_jitter()
        .with_max_times(retries as usize)
        .build()
}

/// The wait before the next try: the backoff delay, raised to `Retry-After`, capped by what time is left.
/// `None` when the wait would not fit before the deadline.
pub fn wait(
    backoff: Duration,
    retry_after: Option<Duration>,
    remaining: Option<Duration>,
) -> Option<Duration> {
    let wanted = retry_after.map_or(backoff, |ra| ra.max(backoff));
    match remaining {
        Some(left) if wanted >= left => None,
        _ => Some(wanted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_exactly_the_retries_asked_for() {
        assert_eq!(delays(0).count(), 0);
        let d: Vec<_> = delays(3).collect();
        assert_eq!(d.len(), 3);
        assert!(
            d.iter().all(|d| *d >= MIN_DELAY && *d <= MAX_DELAY * 2),
            "{d:?}"
        );
    }

    #[test]
    fn retry_after_wins_and_deadline_caps() {
        let s = Duration::from_secs;
        assert_eq!(wait(s(1), Some(s(3)), None), Some(s(3)));
        assert_eq!(wait(s(2), Some(s(1)), None), Some(s(2)));
        assert_eq!(wait(s(1), Some(s(3)), Some(s(2))), None);
        assert_eq!(wait(s(1), None, Some(s(2))), Some(s(1)));
    }
}
