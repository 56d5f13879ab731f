//! Starting and stopping the sandbox. Connections are served by hand (hyper, HTTP/1.1)
//! rather than with `axum::serve`, so that a fault rule can close a connection without
//! any response: each connection carries a [`ConnectionKill`] its requests can trigger.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::middleware;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tower::Service;

use crate::client::SandboxClient;
use crate::config::SandboxConfig;
use crate::faults::{self, ConnectionKill};
use crate::snapshot::{self, SnapshotError};
use crate::state::{AppState, Providers, Shared};

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
}

/// A started sandbox. Keep it alive as long as the sandbox should serve: dropping it stops
/// the server too (without the final snapshot write). [`RunningSandbox::shutdown`] stops it
/// cleanly and writes the snapshot.
pub struct RunningSandbox {
    addr: SocketAddr,
    base_url: String,
    state: Shared,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<()>,
    saver: Option<JoinHandle<()>>,
}

impl RunningSandbox {
    /// `http://127.0.0.1:PORT` (or the configured public base URL).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A control/inspection client for this sandbox.
    pub fn client(&self) -> SandboxClient {
        SandboxClient::new(self.base_url())
    }

    /// Base URL of the Calendar API (`.../google/calendar/v3`).
    pub fn google_calendar_url(&self) -> String {
        format!("{}/google/calendar/v3", self.base_url)
    }

    /// The OAuth token endpoint (`.../google/oauth2/token`).
    pub fn google_token_url(&self) -> String {
        format!("{}/google/oauth2/token", self.base_url)
    }

    /// Base URL of HubSpot (`.../hubspot`, followed by `/crm/v3/...`).
    pub fn hubspot_url(&self) -> String {
        format!("{}/hubspot", self.base_url)
    }

    /// Base URL of SendGrid (`.../sendgrid`, followed by `/v3/mail/send`).
    pub fn sendgrid_url(&self) -> String {
        format!("{}/sendgrid", self.base_url)
    }

    /// Base URL of the Calendly API (`.../calendly`, followed by `/scheduled_events`).
    pub fn calendly_url(&self) -> String {
        format!("{}/calendly", self.base_url)
    }

    /// Root of the Microsoft identity platform (`.../microsoft/login`, followed by
    /// `/{tenant}/oauth2/v2.0/token`).
    pub fn microsoft_login_url(&self) -> String {
        format!("{}/microsoft/login", self.base_url)
    }

    /// The client-credentials token endpoint of the configured tenant.
    pub fn microsoft_token_url(&self) -> String {
        format!(
            "{}/microsoft/login/{}/oauth2/v2.0/token",
            self.base_url, self.state.config.microsoft_tenant_id
        )
    }

    /// Base URL of Microsoft Graph v1.0 (`.../microsoft/graph/v1.0`, followed by `/users/...`).
    pub fn microsoft_graph_url(&self) -> String {
        format!("{}{}", self.base_url, crate::microsoft::GRAPH_PREFIX)
    }

    /// Base URL of the Twilio REST API (`.../twilio`, followed by
    /// `/2010-04-01/Accounts/{AccountSid}/Messages.json`).
    pub fn twilio_url(&self) -> String {
        format!("{}/twilio", self.base_url)
    }

    /// Stops accepting, closes connections, stops webhook retries and writes the snapshot.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.server.await;
        if let Some(saver) = self.saver {
            let _ = saver.await;
        }
        if let Some(path) = &self.state.config.snapshot_path
            && let Err(e) = snapshot::save(&self.state, path)
        {
            tracing::error!(error = %e, "final snapshot save failed");
        }
    }
}

pub fn app(state: Shared) -> Router {
    Router::new()
        .nest("/google/calendar/v3", crate::google_calendar::router())
        .nest("/google/oauth2", crate::google_oauth::router())
        .nest("/hubspot", crate::hubspot::router(state.clone()))
        .nest("/sendgrid", crate::sendgrid::router())
        .nest("/calendly", crate::calendly::router())
        .nest("/twilio", crate::twilio::router())
        .nest("/acuity", crate::acuity::router())
        .nest("/ical", crate::ical::router())
        .nest("/microsoft/login", crate::microsoft::login_router())
        .nest(crate::microsoft::GRAPH_PREFIX, crate::microsoft::graph_router())
        .nest("/_sandbox", crate::control::router())
        .fallback(|| async {
            crate::control::ControlError::not_found(
                "unknown path: providers live under /google/calendar/v3, /google/oauth2, /hubspot, /sendgrid, /calendly, /microsoft/login, /microsoft/graph/v1.0, /twilio; control under /_sandbox",
            )
        })
        .layer(middleware::from_fn_with_state(state.clone(), faults::layer))
        .with_state(state)
}

/// Starts the sandbox on `config.bind` and returns once it accepts connections.
pub async fn start(config: SandboxConfig) -> Result<RunningSandbox, SandboxError> {
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|source| SandboxError::Bind {
            addr: config.bind,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
        addr: config.bind,
        source,
    })?;
    let reachable = if addr.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
    } else {
        addr
    };
    let base_url = config
        .public_base_url
        .clone()
        .map(|u| u.trim_end_matches('/').to_owned())
        .unwrap_or_else(|| format!("http://{reachable}"));

    let providers = match &config.snapshot_path {
        Some(path) => match snapshot::load(path)? {
            Some(mut loaded) => {
                tracing::info!(path = %path.display(), "loaded snapshot");
                loaded.apply_config(&config);
                loaded
            }
            None => Providers::initial(&config),
        },
        None => Providers::initial(&config),
    };

    let (shutdown, shutdown_rx) = watch::channel(false);
    let snapshot_path = config.snapshot_path.clone();
    let debounce = config.snapshot_debounce;
    let state: Shared = Arc::new(AppState::new(
        config,
        base_url.clone(),
        providers,
        shutdown_rx.clone(),
    ));
    let router = app(state.clone());
    let server = tokio::spawn(accept_loop(listener, router, shutdown_rx));
    let saver =
        snapshot_path.map(|path| tokio::spawn(snapshot::run_saver(state.clone(), path, debounce)));
    crate::webhook_retries::resume::<crate::calendly::webhooks::CalendlyWebhooks>(&state);
    crate::webhook_retries::resume::<crate::acuity::webhooks::AcuityWebhooks>(&state);
    tracing::info!(%addr, %base_url, "sandbox listening");
    Ok(RunningSandbox {
        addr,
        base_url,
        state,
        shutdown,
        server,
        saver,
    })
}

async fn shutdown_started(rx: &mut watch::Receiver<bool>) {
    // An error means the sender is gone, which also means shutdown.
    let _ = rx.wait_for(|down| *down).await;
}

async fn accept_loop(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Usually EMFILE under load; back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown_started(&mut shutdown) => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        connections.spawn(async move {
            let kill = Arc::new(Notify::new());
            let marker = ConnectionKill(kill.clone());
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(marker.clone());
                let mut router = router.clone();
                async move { router.call(req).await }
            });
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                result = connection => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
                // Dropping the connection future closes the socket, unanswered.
                () = kill.notified() => {}
            }
        });
    }
    connections.shutdown().await;
}
