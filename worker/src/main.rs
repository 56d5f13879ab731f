//! `booking-worker`: runs booking workflows and activities until SIGINT or SIGTERM.

use anyhow::Context;
use booking_worker::{
    WorkerConfig, build_worker, cli,
    observability::{self, ObservabilityConfig},
    wait_for_stop_signal,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = booking_activities::settings_cli::start(cli::command(), cli::SETTINGS);
    let config = WorkerConfig::from_lookup(&settings)?;
    let published = ObservabilityConfig::from_lookup(&settings)?;
    let (runtime, metrics) = observability::runtime(published.metrics_addr)?;
    if let Some(addr) = metrics {
        tracing::info!(%addr, "Temporal SDK metrics served for Prometheus");
    }
    let compression = booking_workflows::connection::compression(
        settings(booking_workflows::connection::COMPRESSION_VAR).as_deref(),
    )?;
    let client = booking_workflows::connection::connect_compressed(compression).await?;
    if let Some(addr) = published.health_addr {
        let addr = observability::serve_health(addr, client.clone()).await?;
        tracing::info!(%addr, "health endpoint: /healthz (liveness), /readyz (Temporal answers)");
    }
    let mut worker = build_worker(&runtime, client, &config)?;
    let shutdown = worker.shutdown_handle();
    tokio::spawn(async move {
        wait_for_stop_signal().await;
        tracing::info!("stop requested: finishing in-flight tasks");
        shutdown();
    });
    tracing::info!(task_queue = %config.task_queue, "worker started");
    worker.run().await.context("worker stopped with an error")?;
    tracing::info!("worker stopped");
    Ok(())
}
