//! How every process of the project (worker, shim, CLI, tests) reaches Temporal, and how it
//! learns it should stop. Process code only: workflow code never calls any of this.
//!
//! [`connect`] reads the SDK's environment configuration (`TEMPORAL_ADDRESS`,
//! `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, TLS settings, or a `temporal.toml` profile), so
//! moving from the dev server to a cluster or Temporal Cloud is configuration, not code.

use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, envconfig::LoadClientConfigProfileOptions,
};

/// Why a process could not reach Temporal. Fatal for the process; the message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("the Temporal client configuration is invalid: {0}")]
    ClientConfig(String),
    #[error(
        "cannot reach Temporal at {address}: {reason}. Is the server running? \
         (scripts/run starts a dev server; TEMPORAL_ADDRESS points elsewhere)"
    )]
    Unreachable { address: String, reason: String },
}

/// Connects to Temporal using the SDK's environment configuration.
pub async fn connect() -> Result<Client, ConnectError> {
    let (connection, options) =
        ClientOptions::load_from_config(LoadClientConfigProfileOptions::default())
            .map_err(|e| ConnectError::ClientConfig(e.to_string()))?;
    connect_with(connection, options).await
}

/// Connects with explicit options (tests, or callers that resolved the address themselves).
pub async fn connect_with(
    connection: ConnectionOptions,
    options: ClientOptions,
) -> Result<Client, ConnectError> {
    let address = connection.target.to_string();
    let connection =
        Connection::connect(connection)
            .await
            .map_err(|e| ConnectError::Unreachable {
                address: address.clone(),
                reason: error_chain(&e),
            })?;
    Client::new(connection, options).map_err(|e| ConnectError::ClientConfig(e.to_string()))
}

/// An error and all its causes on one line: tonic's top-level "transport error" alone says
/// nothing about refused connections or bad certificates.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (what container runtimes send).
pub async fn wait_for_stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler cannot fail on unix");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
