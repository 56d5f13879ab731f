//! Floods of requests a stranger can send the shim without any credential, against a live
//! engine: the shim must stay responsive (its liveness probe answers quickly throughout) and
//! its memory bounded, and the engine must not be asked more than the flood's distinct keys.
//!
//! The helpers ([`flood`], [`HealthProbe`], [`Latencies`]) are shared by every flood here.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use booking_tests::{TestApp, serve_shim, shim_config};
use futures::StreamExt;
use tokio::sync::watch;

/// What a flood's requests were answered, by status (`0`: no answer at all).
#[derive(Debug, Default)]
struct FloodReport {
    statuses: std::collections::BTreeMap<u16, usize>,
    elapsed: Duration,
}

impl FloodReport {
    fn total(&self) -> usize {
        self.statuses.values().sum()
    }
}

/// Sends `requests` requests built by `request(n)` with at most `concurrency` in flight, each
/// given `per_request` to answer.
async fn flood(
    requests: usize,
    concurrency: usize,
    per_request: Duration,
    request: impl Fn(usize) -> reqwest::RequestBuilder,
) -> FloodReport {
    let began = Instant::now();
    let statuses = futures::stream::iter((0..requests).map(|n| request(n).timeout(per_request)))
        .map(|builder| async move {
            builder
                .send()
                .await
                .map(|response| response.status().as_u16())
                .unwrap_or(0)
        })
        .buffer_unordered(concurrency)
        .fold(
            std::collections::BTreeMap::new(),
            |mut counts, status| async move {
                *counts.entry(status).or_insert(0) += 1;
                counts
            },
        )
        .await;
    FloodReport {
        statuses,
        elapsed: began.elapsed(),
    }
}

/// Latencies of one probe, in arrival order.
#[derive(Debug, Default, Clone)]
struct Latencies(Vec<Duration>);

impl Latencies {
    /// The `p`th percentile (0..=100), nearest rank.
    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort();
        assert!(!sorted.is_empty(), "no samples");
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }
}

/// Probes `GET {base}/healthz` every `every` on its own connection pool until stopped.
struct HealthProbe {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<(Latencies, Vec<String>)>,
}

impl HealthProbe {
    fn start(base: &str, every: Duration) -> Self {
        let url = format!("{base}/healthz");
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut latencies = Latencies::default();
            let mut failures = Vec::new();
            let mut pace = tokio::time::interval(every);
            pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = pace.tick() => {}
                    _ = stopped.wait_for(|s| *s) => break,
                }
                let began = Instant::now();
                match http.get(&url).timeout(Duration::from_secs(10)).send().await {
                    Ok(response) if response.status() == 200 => {
                        latencies.0.push(began.elapsed());
                    }
                    Ok(response) => failures.push(format!("status {}", response.status())),
                    Err(error) => failures.push(error.to_string()),
                }
            }
            (latencies, failures)
        });
        Self { stop, task }
    }

    /// Stops probing; the latencies of the probes that answered 200, and every failure.
    async fn finish(self) -> (Latencies, Vec<String>) {
        let _ = self.stop.send(true);
        self.task.await.expect("the probe task joins")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_of_random_availability_ids_keeps_the_shim_responsive() {
    const REQUESTS: usize = 2_000;
    const CONCURRENCY: usize = 32;
    const CACHE_BOUND: usize = 500;
    let app = TestApp::spawn().await;
    let bound = CACHE_BOUND.to_string();
    let shim = serve_shim(
        shim_config(
            &app.task_queue,
            &app.sandbox_url,
            &[
                // Smaller than the flood, so the bound is what keeps memory in check; and long
                // lived, so nothing expires during the flood and only the bound can.
                ("SHIM_AVAILABILITY_CACHE_ENTRIES", &bound),
                ("SHIM_AVAILABILITY_REFRESH_MS", "600000"),
            ],
        ),
        Some(app.client.clone()),
    )
    .await;
    let http = reqwest::Client::new();
    let ids: Arc<Vec<String>> = Arc::new(
        (0..REQUESTS)
            .map(|_| format!("oh-{}", uuid::Uuid::new_v4().simple()))
            .collect(),
    );

    let probe = HealthProbe::start(&shim.url, Duration::from_millis(50));
    let report = flood(REQUESTS, CONCURRENCY, Duration::from_secs(30), |n| {
        http.get(format!("{}/open-houses/{}/availability", shim.url, ids[n]))
    })
    .await;
    let (health, failures) = probe.finish().await;

    let queries = shim.state.availability_queries();
    let cached = shim.state.availability_cache_len();
    println!(
        "availability flood: {} requests in {:?}, answers by status {:?}; ledger queries sent: \
         {queries}; cache entries: {cached} (bound {CACHE_BOUND}); /healthz probes: {} \
         (p50 {:?}, p99 {:?}, max {:?})",
        report.total(),
        report.elapsed,
        report.statuses,
        health.0.len(),
        health.percentile(50.0),
        health.percentile(99.0),
        health.percentile(100.0),
    );

    assert!(failures.is_empty(), "health probes failed: {failures:?}");
    assert!(health.0.len() >= 3, "too few health probes: {health:?}");
    assert!(
        health.percentile(99.0) < Duration::from_secs(2),
        "the shim stopped being responsive: {health:?}"
    );
    assert!(
        cached <= CACHE_BOUND,
        "the cache outgrew its bound: {cached}"
    );
    assert_eq!(report.total(), REQUESTS);
    // Unknown ids are 404; 503 (Temporal slow to answer) is allowed, nothing else is.
    assert!(
        report.statuses.keys().all(|s| *s == 404 || *s == 503),
        "unexpected answers: {:?}",
        report.statuses
    );
    assert!(
        queries <= REQUESTS as u64,
        "each id costs at most one query"
    );

    // The negative cache: once an unknown id is answered 404, asking again costs no query.
    // (The first pass may query ids whose flood answer was a 503, which is not cached.)
    let recent: Vec<_> = ids.iter().rev().take(20).collect();
    for pass in ["first", "second"] {
        let before = shim.state.availability_queries();
        for id in &recent {
            let again = http
                .get(format!("{}/open-houses/{id}/availability", shim.url))
                .send()
                .await
                .unwrap();
            assert_eq!(again.status(), 404);
        }
        if pass == "second" {
            assert_eq!(shim.state.availability_queries(), before);
        }
    }
}
