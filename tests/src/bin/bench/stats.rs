//! Latency samples to percentiles, and the rounding every figure in the report gets.

use std::time::Duration;

use serde_json::{Value, json};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// p50/p95/p99/max of millisecond samples.
pub(crate) fn summary(mut ms: Vec<f64>) -> Value {
    ms.sort_by(|a, b| a.total_cmp(b));
    json!({
        "n": ms.len(),
        "p50_ms": round(percentile(&ms, 50.0)),
        "p95_ms": round(percentile(&ms, 95.0)),
        "p99_ms": round(percentile(&ms, 99.0)),
        "max_ms": round(ms.last().copied().unwrap_or(f64::NAN)),
    })
}

pub(crate) fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_and_an_empty_sample_has_none() {
        let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&sorted, 50.0), 50.0);
        assert_eq!(percentile(&sorted, 99.0), 99.0);
        assert_eq!(percentile(&sorted[..3], 99.0), 3.0);
        assert_eq!(percentile(&sorted[..1], 0.0), 1.0);
        assert!(percentile(&[], 50.0).is_nan());
        let s = summary(vec![3.0, 1.0, 2.0]);
        assert_eq!(
            (s["n"].clone(), s["p50_ms"].clone()),
            (json!(3), json!(2.0))
        );
    }
}
