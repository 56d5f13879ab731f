//! Serving the shim's connections: HTTP/1.1 with a deadline for request headers and a cap on
//! open connections, so slow or idle clients cannot exhaust sockets, tasks or memory.
//!
//! - `SHIM_HEADER_READ_TIMEOUT_MS` (5000): a connection that has not sent a whole request head
//!   within this time of being ready for one (accepted, or idle after a response) is closed.
//!   That covers slow-header ("slowloris") clients and idle keep-alive connections alike; the
//!   body has its own deadline (`SHIM_BODY_READ_TIMEOUT_MS`).
//! - `SHIM_MAX_CONNECTIONS` (1024): at the cap the server stops accepting; new connections wait
//!   in the kernel's listen backlog until one closes (which the header deadline guarantees).
//! - `SHIM_MAX_IN_FLIGHT_REQUESTS` (512): see [`crate::in_flight`].
//!
//! HTTP/1.1 only, on purpose: HTTP/2 detection would read the connection preface before the
//! header deadline starts, and webhook senders and load balancers speak HTTP/1.1 to us.

use std::{future::Future, sync::Arc, time::Duration};

use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{
    net::TcpListener,
    sync::{Semaphore, watch},
};

use crate::{ShimState, router};

/// How long accepting pauses after an error that is not one connection's (e.g. out of file
/// descriptors), so the loop does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves the shim (its [`router`], under the configured connection limits) on `listener`
/// until `shutdown` completes; then stops accepting, lets requests in progress finish, closes
/// idle connections, and returns once every connection is closed.
pub async fn serve(
    listener: TcpListener,
    state: ShimState,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let config = state.config();
    let max_connections = config.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout);
    let app = router(state);
    let connections = Arc::new(Semaphore::new(max_connections));
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);

    loop {
        let slot = tokio::select! {
            slot = connections.clone().acquire_owned() => {
                slot.expect("the connection semaphore is never closed")
            }
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) if is_connection_error(&error) => continue,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept connections; pausing");
                    tokio::select! {
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                        () = &mut shutdown => break,
                    }
                }
            },
            () = &mut shutdown => break,
        };
        // Small responses go out at once instead of waiting for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let _slot = slot;
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                () = stopped(&mut stopping) => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            match result {
                Ok(()) => {}
                Err(error) if error.is_timeout() => {
                    tracing::info!(%peer, "closed a connection that sent no request head in time");
                }
                Err(error) => tracing::debug!(%peer, %error, "connection ended with an error"),
            }
        });
    }

    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a slot until it closes: all slots back means all closed.
    let _all = connections
        .acquire_many(max_connections as u32)
        .await
        .expect("the connection semaphore is never closed");
    Ok(())
}

/// Completes once the server is stopping (or gone).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// Errors that concern one connection only (it went away before it was accepted).
fn is_connection_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted
    )
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpStream,
    };

    use super::*;
    use crate::config::ShimConfig;

    async fn start(
        vars: &'static [(&'static str, &'static str)],
    ) -> (
        std::net::SocketAddr,
        watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    ) {
        let config = ShimConfig::for_sandbox(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, mut stopped) = watch::channel(false);
        let server = tokio::spawn(async move {
            serve(listener, ShimState::new(config), async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
            .unwrap();
        });
        (addr, stop, server)
    }

    /// Reads until the server closes the connection, or panics at `deadline`.
    async fn closed_by(stream: &mut TcpStream, deadline: Duration) -> Vec<u8> {
        let mut seen = Vec::new();
        tokio::time::timeout(deadline, async {
            let mut buf = [0u8; 1024];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await
        .expect("the server closes the connection in time");
        seen
    }

    #[tokio::test]
    async fn a_connection_without_a_whole_head_is_closed_after_the_header_timeout() {
        let (addr, _stop, _server) = start(&[("SHIM_HEADER_READ_TIMEOUT_MS", "200")]).await;
        let began = Instant::now();
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        closed_by(&mut slow, Duration::from_secs(5)).await;
        assert!(began.elapsed() >= Duration::from_millis(200));

        let mut silent = TcpStream::connect(addr).await.unwrap();
        closed_by(&mut silent, Duration::from_secs(5)).await;
    }

    #[tokio::test]
    async fn shutdown_finishes_once_connections_close() {
        let (addr, stop, server) = start(&[("SHIM_HEADER_READ_TIMEOUT_MS", "60000")]).await;
        let mut client = TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut head = [0u8; 12];
        client.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"HTTP/1.1 200");
        // The connection is idle (kept alive); shutdown closes it rather than waiting for the
        // header timeout.
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("the server stops without waiting for the idle connection")
            .unwrap();
        closed_by(&mut client, Duration::from_secs(5)).await;
    }
}
