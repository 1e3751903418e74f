//! Percentiles over recorded samples (exact: every sample is kept, the loops are bounded).

use serde::Serialize;

/// Summary of latency samples, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Summary {
    pub n: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
    pub max_ms: f64,
}

/// Nearest-rank percentile of sorted samples; `q` in 0..=1.
fn rank(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

pub fn summarise(samples_ms: &[f64]) -> Summary {
    let mut s = samples_ms.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    Summary {
        n,
        p50_ms: rank(&s, 0.50),
        p90_ms: rank(&s, 0.90),
        p99_ms: rank(&s, 0.99),
        mean_ms: if n == 0 {
            f64::NAN
        } else {
            s.iter().sum::<f64>() / n as f64
        },
        max_ms: s.last().copied().unwrap_or(f64::NAN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = summarise(&v);
        assert_eq!((s.p50_ms, s.p99_ms, s.max_ms), (50.0, 99.0, 100.0));
        assert_eq!(summarise(&[3.0]).p99_ms, 3.0);
        assert!(summarise(&[]).p50_ms.is_nan());
    }
}
