//! Prometheus text exposition, hand-written: two metric families do not justify a metrics
//! stack. `shim_requests_total{route,status}` counts answers; `shim_handoff_duration_seconds`
//! is the latency of handing a delivery to Temporal (including the Calendly reads a
//! reschedule needs), the number a webhook sender's timeout is measured against.

use std::{collections::BTreeMap, fmt::Write, sync::Mutex, time::Duration};

const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// The shim's counters. Cheap to update from any handler.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    handoff: Mutex<BTreeMap<&'static str, Histogram>>,
}

impl Metrics {
    pub fn count_request(&self, route: &str, status: u16) {
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *requests.entry((route.to_owned(), status)).or_default() += 1;
    }

    /// Records one hand-off of `kind` (e.g. `calendly`, `form`) that took `elapsed`.
    pub fn observe_handoff(&self, kind: &'static str, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut all = self.handoff.lock().unwrap_or_else(|p| p.into_inner());
        let h = all.entry(kind).or_default();
        for (bucket, count) in BUCKETS.iter().zip(h.counts.iter_mut()) {
            if secs <= *bucket {
                *count += 1;
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    /// The exposition text (`text/plain; version=0.0.4`).
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP shim_requests_total HTTP requests answered, by route and status.\n");
        out.push_str("# TYPE shim_requests_total counter\n");
        for ((route, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "shim_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        out.push_str("# HELP shim_handoff_duration_seconds Time to hand a delivery to Temporal.\n");
        out.push_str("# TYPE shim_handoff_duration_seconds histogram\n");
        for (kind, h) in self
            .handoff
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            for (bucket, count) in BUCKETS.iter().zip(h.counts.iter()) {
                let _ = writeln!(
                    out,
                    "shim_handoff_duration_seconds_bucket{{kind=\"{kind}\",le=\"{bucket}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "shim_handoff_duration_seconds_bucket{{kind=\"{kind}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "shim_handoff_duration_seconds_sum{{kind=\"{kind}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "shim_handoff_duration_seconds_count{{kind=\"{kind}\"}} {}",
                h.count
            );
        }
        out
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.count_request("/webhooks/calendly", 200);
        m.count_request("/webhooks/calendly", 200);
        m.observe_handoff("calendly", Duration::from_millis(30));
        let text = m.render();
        assert!(
            text.contains("shim_requests_total{route=\"/webhooks/calendly\",status=\"200\"} 2")
        );
        assert!(text.contains("le=\"0.025\"} 0"));
        assert!(text.contains("le=\"0.05\"} 1"));
        assert!(text.contains("le=\"+Inf\"} 1"));
    }
}
