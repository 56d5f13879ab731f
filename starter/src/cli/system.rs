//! `up` and `dev-server`: the local system.

use std::path::PathBuf;

use booking_starter::{
    dev_server::{DevServer, DevServerConfig},
    supervisor::{self, UpConfig},
};
use clap::Args;

#[derive(Args, Clone)]
pub struct DevServerArgs {
    /// Holds the SQLite database and the logs.
    #[arg(long, env = "BOOKINGS_DATA_DIR", default_value = ".data")]
    data_dir: PathBuf,
    #[arg(long, env = "BOOKINGS_TEMPORAL_PORT", default_value_t = 7233)]
    port: u16,
    #[arg(long, env = "BOOKINGS_TEMPORAL_UI_PORT", default_value_t = 8233)]
    ui_port: u16,
    #[arg(long, env = "SANDBOX_PORT", default_value_t = 8089)]
    sandbox_port: u16,
    /// The webhook shim's port (`bookings up`).
    #[arg(long, env = "SHIM_PORT", default_value_t = 8090)]
    shim_port: u16,
    /// The worker's Prometheus metrics (the Temporal SDK's `temporal_` metrics; `bookings up`).
    #[arg(long, env = "BOOKINGS_WORKER_METRICS_PORT", default_value_t = 9464)]
    worker_metrics_port: u16,
    /// The worker's `/healthz` and `/readyz` (`bookings up`).
    #[arg(long, env = "BOOKINGS_WORKER_HEALTH_PORT", default_value_t = 9465)]
    worker_health_port: u16,
    #[arg(long, env = "TEMPORAL_NAMESPACE", default_value = "default")]
    namespace: String,
    /// The Temporal CLI executable (scripts/bootstrap installs it).
    #[arg(long, env = "BOOKINGS_TEMPORAL_BIN")]
    temporal_bin: Option<PathBuf>,
}

impl DevServerArgs {
    fn config(&self) -> anyhow::Result<DevServerConfig> {
        let data_dir = std::path::absolute(&self.data_dir)?;
        Ok(DevServerConfig {
            temporal_bin: self
                .temporal_bin
                .clone()
                .unwrap_or_else(DevServerConfig::default_binary),
            data_dir,
            ip: "127.0.0.1".into(),
            port: self.port,
            ui_port: Some(self.ui_port),
            namespace: self.namespace.clone(),
            metrics_port: None,
        })
    }
}

pub async fn up(args: DevServerArgs, task_queue: String) -> anyhow::Result<()> {
    supervisor::up(UpConfig {
        dev_server: args.config()?,
        sandbox_port: args.sandbox_port,
        shim_port: args.shim_port,
        worker_metrics_port: args.worker_metrics_port,
        worker_health_port: args.worker_health_port,
        task_queue,
    })
    .await
}

pub async fn dev_server(args: DevServerArgs) -> anyhow::Result<()> {
    let mut server = DevServer::start(args.config()?).await?;
    println!(
        "Temporal dev server on {} (Web UI {}); Ctrl-C stops it",
        server.config().grpc_address(),
        server.config().ui_url().unwrap_or_default()
    );
    tokio::select! {
        _ = booking_worker::wait_for_stop_signal() => { server.stop().await; Ok(()) }
        status = server.wait() => anyhow::bail!("the dev server exited: {status:?}"),
    }
}
