//! How every process of the project (worker, shim, CLI, tests) reaches Temporal, and how it
//! learns it should stop. Process code only: workflow code never calls any of this.
//!
//! [`connect`] reads the SDK's environment configuration (`TEMPORAL_ADDRESS`,
//! `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, TLS settings, or a `temporal.toml` profile), so
//! moving from the dev server to a cluster or Temporal Cloud is configuration, not code.

use temporalio_client::{
    Client, ClientOptions, Connection, ConnectionOptions, GrpcCompression,
    envconfig::LoadClientConfigProfileOptions,
};

/// Whether the client compresses its gRPC messages: `gzip` (the SDK's default) or `none`.
/// Compression saves bandwidth to a remote cluster or Temporal Cloud; next to the server (the
/// same host or LAN) it only costs CPU: every message builds a new deflate state, which showed
/// in the benchmark's profiles of the worker and the shim (README Performance).
pub const COMPRESSION_VAR: &str = "BOOKINGS_TEMPORAL_COMPRESSION";

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
    connect_compressed(GrpcCompression::default()).await
}

/// Like [`connect`], with the gRPC compression [`compression`] read.
pub async fn connect_compressed(compression: GrpcCompression) -> Result<Client, ConnectError> {
    let (mut connection, options) =
        ClientOptions::load_from_config(LoadClientConfigProfileOptions::default())
            .map_err(|e| ConnectError::ClientConfig(e.to_string()))?;
    connection.grpc_compression = compression;
    connect_with(connection, options).await
}

/// The compression [`COMPRESSION_VAR`] asks for; unset is the SDK's default (gzip).
pub fn compression(value: Option<&str>) -> Result<GrpcCompression, ConnectError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(GrpcCompression::default()),
        Some(v) if v.eq_ignore_ascii_case("gzip") => Ok(GrpcCompression::Gzip),
        Some(v) if v.eq_ignore_ascii_case("none") => Ok(GrpcCompression::None),
        Some(other) => Err(ConnectError::ClientConfig(format!(
            "{COMPRESSION_VAR}={other:?} is refused: expected gzip or none"
        ))),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_is_gzip_unless_turned_off_and_a_typo_is_refused() {
        assert_eq!(compression(None).unwrap(), GrpcCompression::Gzip);
        assert_eq!(compression(Some(" ")).unwrap(), GrpcCompression::Gzip);
        assert_eq!(compression(Some("NONE")).unwrap(), GrpcCompression::None);
        assert_eq!(compression(Some("gzip")).unwrap(), GrpcCompression::Gzip);
        let refused = compression(Some("zstd")).unwrap_err().to_string();
        assert!(
            refused.contains("BOOKINGS_TEMPORAL_COMPRESSION=\"zstd\""),
            "{refused}"
        );
    }
}
