//! Open-loop webhook load on a shim whose task queue has no worker, and where each
//! acknowledgement's time goes; the engine's own CPU per booking and per acknowledgement.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use booking_tests::{NAMESPACE, prom::Scrape};
use chrono::Utc;
use serde_json::{Value, json};

use crate::scenarios::slot;
use crate::signer::Signer;
use crate::stats::{ms, round, summary};
use crate::{LOAD_SHIM, WORKER};

/// The metrics endpoints that split an acknowledgement into the shim's own work, its call to
/// Temporal, and the server's handling of that call (frontend, history, persistence).
pub(crate) struct LatencySplit {
    pub(crate) http: reqwest::Client,
    pub(crate) shim_metrics: String,
    pub(crate) server_metrics: Option<String>,
}

impl LatencySplit {
    async fn scrape(&self) -> (Scrape, Scrape) {
        let server = async {
            match &self.server_metrics {
                Some(url) => Scrape::fetch(&self.http, url).await,
                None => Scrape::default(),
            }
        };
        tokio::join!(Scrape::fetch(&self.http, &self.shim_metrics), server)
    }

    /// Mean (and bucket-bounded p99) of each part between two scrapes; an absent part (no
    /// server metrics) is null.
    fn between(before: &(Scrape, Scrape), after: &(Scrape, Scrape)) -> Value {
        let part = |h: booking_tests::prom::Histogram| {
            json!({
                "n": h.count,
                "mean_ms": h.mean_ms().map(round),
                "p99_at_most_ms": h.quantile_upper_ms(0.99).filter(|v| v.is_finite()).map(round),
            })
        };
        // What one histogram of the shim's (`.0`) or the server's (`.1`) scrape observed between
        // the two scrapes.
        let observed =
            |scrape: fn(&(Scrape, Scrape)) -> &Scrape, name: &str, labels: &[(&str, &str)]| {
                part(
                    scrape(after)
                        .histogram(name, labels)
                        .since(&scrape(before).histogram(name, labels)),
                )
            };
        let start = [
            ("operation", "StartWorkflowExecution"),
            ("namespace", NAMESPACE),
        ];
        let frontend = [start[0], start[1], ("service_name", "frontend")];
        let history = [start[0], start[1], ("service_name", "history")];
        let create = [
            ("operation", "CreateWorkflowExecution"),
            ("namespace", NAMESPACE),
        ];
        json!({
            "shim_handoff": observed(|p| &p.0, "shim_handoff_duration_seconds", &[("kind", "form")]),
            "server_frontend_start": observed(|p| &p.1, "service_latency", &frontend),
            "server_history_start": observed(|p| &p.1, "service_latency", &history),
            "server_persistence_create": observed(|p| &p.1, "persistence_latency", &create),
        })
    }
}

/// Open-loop: request k leaves at `k / rate` whatever the answers do.
pub(crate) async fn shim_load(
    signer: &Arc<Signer>,
    shim_url: &str,
    run: &str,
    rate: u64,
    secs: u64,
    base: chrono::DateTime<Utc>,
    split: &LatencySplit,
) -> Value {
    let before = split.scrape().await;
    let total = rate * secs;
    let began = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for k in 0..total {
        let at = began + Duration::from_secs_f64(k as f64 / rate as f64);
        tokio::time::sleep_until(at.into()).await;
        let signer = signer.clone();
        let url = shim_url.to_owned();
        let body = signer.body(
            &format!("{run}-r{rate}"),
            k as usize,
            slot(base, k as usize),
        );
        let id = format!("load-{run}-{rate}-{k}");
        tasks.push(tokio::spawn(
            async move { signer.post(&url, &id, body).await },
        ));
    }
    let sent_in = began.elapsed();
    let mut lat = Vec::with_capacity(tasks.len());
    let mut ok = 0;
    for t in tasks {
        if let Ok((status, took)) = t.await {
            ok += usize::from(status == 202);
            lat.push(ms(took));
        }
    }
    let after = split.scrape().await;
    json!({
        "rate_per_s": rate,
        "sent": total,
        "accepted_202": ok,
        "achieved_per_s": round(total as f64 / sent_in.as_secs_f64()),
        "ack": summary(lat),
        "where_the_time_goes": LatencySplit::between(&before, &after),
    })
}

/// The engine's own cost in an end-to-end run: the booking workers' CPU per completed booking
/// (its first steps: reserve, free/busy, CRM, calendar, first email), whatever the server cost.
pub(crate) fn worker_cost(e2e: &Value) -> Value {
    let done = e2e["completed"].as_f64().unwrap_or(0.0);
    let cpu: f64 = e2e["cpu"]["processes"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(name, _)| name.starts_with(WORKER))
                .filter_map(|(_, v)| v["cpu_seconds"].as_f64())
                .sum()
        })
        .unwrap_or(0.0);
    json!({"worker_cpu_ms_per_booking": (done > 0.0).then(|| round(1000.0 * cpu / done))})
}

/// The load shim's CPU per acknowledged webhook (signature check, parse, the start call).
pub(crate) fn shim_cost(load: &Value) -> Value {
    let acks = load["accepted_202"].as_f64().unwrap_or(0.0);
    let cpu = load["cpu"]["processes"][LOAD_SHIM]["cpu_seconds"].as_f64();
    json!({"shim_cpu_us_per_ack": cpu.filter(|_| acks > 0.0).map(|c| round(1e6 * c / acks))})
}
