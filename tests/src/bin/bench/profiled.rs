//! The measured passes under `perf` (see `booking_tests::perf`).

use std::path::PathBuf;

use anyhow::{Context, bail};
use booking_tests::perf;
use serde_json::{Value, json};

use crate::stats::round;

/// The measured passes: the end-to-end scenario again, once with a CPU profile of every
/// booking worker and once counting their allocations, then one shim load per measure on the
/// load shim. Their timings are perf's, not the benchmark's; their figures are where the CPU
/// goes and allocations per booking and per acknowledgement.
pub(crate) async fn profiled_pass<E, L>(
    dir: &std::path::Path,
    worker_pids: &[Option<u32>],
    shim_pid: Option<u32>,
    exes: &(PathBuf, PathBuf),
    e2e: impl Fn(usize) -> E,
    load: impl Fn(usize) -> L,
) -> anyhow::Result<Value>
where
    E: std::future::Future<Output = anyhow::Result<Value>>,
    L: std::future::Future<Output = anyhow::Result<Value>>,
{
    use perf::Measure;
    if !perf::available().await {
        bail!("--perf needs Linux perf (Debian: apt-get install linux-perf)");
    }
    let shim_pid = shim_pid.context("the load shim has no pid")?;
    let mut out = serde_json::Map::new();
    for (pass, measure) in [Measure::Profile, Measure::Allocations]
        .into_iter()
        .enumerate()
    {
        let mut recordings = Vec::new();
        for (i, pid) in worker_pids.iter().enumerate() {
            let pid = pid.context("a booking worker has no pid")?;
            let name = format!("booking-worker-{}-{measure:?}", i + 1);
            recordings.push(perf::Recording::start(dir, &name, pid, &exes.0, measure).await?);
        }
        let run = e2e(pass).await?;
        let mut workers = Vec::new();
        for recording in recordings {
            workers.push(recording.finish().await?);
        }
        let shim = perf::Recording::start(
            dir,
            &format!("load-shim-{measure:?}"),
            shim_pid,
            &exes.1,
            measure,
        )
        .await?;
        let loaded = load(pass).await?;
        let shim = shim.finish().await?;
        let bookings = run["completed"].as_f64().unwrap_or(0.0);
        let acks = loaded["accepted_202"].as_f64().unwrap_or(0.0);
        match measure {
            Measure::Profile => {
                out.insert("workers".into(), json!(workers));
                out.insert("shim".into(), shim);
            }
            Measure::Allocations => {
                let per =
                    |n: Option<u64>, d: f64| n.filter(|_| d > 0.0).map(|n| round(n as f64 / d));
                let total: Option<u64> = workers.iter().map(|w| w["allocations"].as_u64()).sum();
                out.insert("bookings".into(), json!(bookings));
                out.insert(
                    "allocations_per_booking".into(),
                    json!(per(total, bookings)),
                );
                out.insert("acks".into(), json!(acks));
                out.insert(
                    "allocations_per_ack".into(),
                    json!(per(shim["allocations"].as_u64(), acks)),
                );
            }
        }
    }
    Ok(Value::Object(out))
}
