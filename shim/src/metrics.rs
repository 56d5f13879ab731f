//! The shim's Prometheus metrics, kept by the `prometheus` crate (the one the Temporal SDK's own
//! exporter uses). `shim_requests_total{route,status}` counts answers;
//! `shim_deliveries_total{route,outcome}` counts what became of the webhooks whose answer alone
//! does not say (Twilio's: a status report about a booking that is gone is a 200 like one that
//! was recorded); `shim_handoff_duration_seconds{kind}` is the latency of handing a delivery to
//! Temporal (including the Calendly reads a reschedule needs), the number a webhook sender's
//! timeout is measured against.

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The shim's metrics, on a registry of its own. Cheap to update from any handler.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    deliveries: IntCounterVec,
    handoff: HistogramVec,
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = IntCounterVec::new(
            Opts::new(
                "shim_requests_total",
                "HTTP requests answered, by route and status.",
            ),
            &["route", "status"],
        )
        .expect("a valid counter definition");
        let deliveries = IntCounterVec::new(
            Opts::new(
                "shim_deliveries_total",
                "Webhook deliveries, by route and what became of them.",
            ),
            &["route", "outcome"],
        )
        .expect("a valid counter definition");
        let handoff = HistogramVec::new(
            HistogramOpts::new(
                "shim_handoff_duration_seconds",
                "Time to hand a delivery to Temporal.",
            )
            .buckets(BUCKETS.to_vec()),
            &["kind"],
        )
        .expect("a valid histogram definition");
        let registry = Registry::new();
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(deliveries.clone()),
            Box::new(handoff.clone()),
        ] {
            registry
                .register(collector)
                .expect("each metric is registered once");
        }
        Self {
            registry,
            requests,
            deliveries,
            handoff,
        }
    }
}

impl Metrics {
    pub fn count_request(&self, route: &str, status: u16) {
        self.requests
            .with_label_values(&[route, &status.to_string()])
            .inc();
    }

    /// Counts one delivery to `route` (its template) and what became of it (`outcome`, e.g.
    /// `recorded`, `booking_not_found`, `dead_lettered`).
    pub fn count_delivery(&self, route: &str, outcome: &str) {
        self.deliveries.with_label_values(&[route, outcome]).inc();
    }

    /// Records one hand-off of `kind` (e.g. `calendly`, `form`) that took `elapsed`.
    pub fn observe_handoff(&self, kind: &'static str, elapsed: Duration) {
        self.handoff
            .with_label_values(&[kind])
            .observe(elapsed.as_secs_f64());
    }

    /// The exposition text (`text/plain; version=0.0.4`).
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("encoding metrics into memory cannot fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
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
        m.count_delivery("/webhooks/twilio/status", "booking_not_found");
        let text = m.render();
        assert!(
            text.contains("shim_requests_total{route=\"/webhooks/calendly\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(text.contains("le=\"0.025\"} 0"), "{text}");
        assert!(text.contains("le=\"0.05\"} 1"), "{text}");
        assert!(text.contains("le=\"+Inf\"} 1"), "{text}");
        assert!(
            text.contains("shim_handoff_duration_seconds_count{kind=\"calendly\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "shim_deliveries_total{outcome=\"booking_not_found\",route=\"/webhooks/twilio/status\"} 1"
            ),
            "{text}"
        );
    }
}
