//! `booking-shim`: serves the webhook front door on `SHIM_PORT` (default 8090).

use std::{net::SocketAddr, time::Duration};

use anyhow::Context;
use booking_shim::{ShimState, router};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let port: u16 = std::env::var("SHIM_PORT")
        .unwrap_or_else(|_| "8090".into())
        .parse()
        .context("SHIM_PORT must be a port number")?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let state = ShimState::default();

    // The shim serves (and reports not-ready) while Temporal is unreachable, so an
    // orchestrator sees why, instead of a crash loop.
    let connecting = state.clone();
    tokio::spawn(async move {
        let mut delay = Duration::from_millis(200);
        loop {
            match booking_worker::connect().await {
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
    axum::serve(listener, router(state))
        .with_graceful_shutdown(booking_worker::wait_for_stop_signal())
        .await?;
    Ok(())
}
