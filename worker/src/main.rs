//! `booking-worker`: runs booking workflows and activities until SIGINT or SIGTERM.

use anyhow::Context;
use booking_worker::{WorkerConfig, build_worker, connect, wait_for_stop_signal};
use temporalio_sdk::runtime::Runtime;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let config = WorkerConfig::from_env()?;
    let runtime = Runtime::from_current_tokio(Default::default())
        .map_err(|e| anyhow::anyhow!("could not start the Temporal runtime: {e}"))?;
    let client = connect().await?;
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
