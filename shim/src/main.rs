//! `booking-shim`: serves the webhook front door on `SHIM_PORT` (default 8090).

use std::{net::SocketAddr, time::Duration};

use anyhow::Context;
use booking_shim::{ShimState, cli, config::ShimConfig, serve};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = booking_activities::settings_cli::start(cli::command(), cli::SETTINGS);
    let config = ShimConfig::from_settings(&settings).context("invalid shim configuration")?;
    // `SHIM_HOST` (127.0.0.1): the interface to listen on; 0.0.0.0 inside a container.
    let host: std::net::IpAddr = match settings("SHIM_HOST") {
        Some(raw) if !raw.trim().is_empty() => raw
            .trim()
            .parse()
            .with_context(|| format!("SHIM_HOST={raw:?} is not an IP address"))?,
        _ => std::net::Ipv4Addr::LOCALHOST.into(),
    };
    let addr = SocketAddr::new(host, config.port);
    tracing::info!(
        task_queue = %config.task_queue,
        body_limit = config.body_limit,
        max_connections = config.max_connections,
        max_in_flight_requests = config.max_in_flight_requests,
        header_read_timeout_ms = config.header_read_timeout.as_millis() as u64,
        "shim configured"
    );
    let compression = booking_workflows::connection::compression(
        settings(booking_workflows::connection::COMPRESSION_VAR).as_deref(),
    )?;
    let state = ShimState::new(config);

    // The shim serves (and reports not-ready) while Temporal is unreachable, so an
    // orchestrator sees why, instead of a crash loop.
    let connecting = state.clone();
    tokio::spawn(async move {
        let mut delay = Duration::from_millis(200);
        loop {
            match booking_workflows::connection::connect_compressed(compression).await {
                Ok(client) => {
                    connecting.set_client(client).await;
                    tracing::info!("connected to Temporal");
                    return;
                }
                Err(err) => {
                    tracing::warn!(error = %err, retry_in_ms = delay.as_millis() as u64, "Temporal not reachable yet");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
            }
        }
    });

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(%addr, "shim listening");
    serve(
        listener,
        state,
        booking_workflows::connection::wait_for_stop_signal(),
    )
    .await?;
    tracing::info!("shim stopped");
    Ok(())
}
