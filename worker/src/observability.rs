//! What a running worker tells operators about itself: the Temporal SDK's own metrics and a
//! health endpoint.
//!
//! - **Metrics** (`BOOKINGS_WORKER_METRICS_ADDR`, e.g. `0.0.0.0:9464`): the SDK's Prometheus
//!   exporter, serving every `temporal_` metric core records (task slots available and used,
//!   sticky cache hits, misses and size, schedule-to-start latency, poll and task failures,
//!   activity and workflow outcomes) at any path. The metrics come from the SDK, not from code
//!   here, so they mean what Temporal's documentation says they mean.
//! - **Health** (`BOOKINGS_WORKER_HEALTH_ADDR`): `GET /healthz` answers 200 while the process
//!   serves (liveness); `GET /readyz` answers 200 when Temporal answers a `GetSystemInfo` call
//!   within two seconds, else 503 with the reason (readiness, what compose's healthcheck uses).
//!
//! Both are off unless their variable is set: a worker binds no port nobody asked for.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use temporalio_client::{Client, grpc::WorkflowService, tonic::IntoRequest};
use temporalio_common::{
    protos::temporal::api::workflowservice::v1::GetSystemInfoRequest,
    telemetry::{
        PrometheusExporterOptions, TelemetryOptions, metrics::CoreMeter,
        start_prometheus_metric_exporter,
    },
};
use temporalio_sdk::runtime::{Runtime, RuntimeOptions};

use crate::WorkerError;

/// Where the worker publishes metrics and health, each `None` when not asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObservabilityConfig {
    pub metrics_addr: Option<SocketAddr>,
    pub health_addr: Option<SocketAddr>,
}

pub const METRICS_ADDR_VAR: &str = "BOOKINGS_WORKER_METRICS_ADDR";
pub const HEALTH_ADDR_VAR: &str = "BOOKINGS_WORKER_HEALTH_ADDR";

impl ObservabilityConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, WorkerError> {
        let addr = |var: &'static str| -> Result<Option<SocketAddr>, WorkerError> {
            match lookup(var).filter(|v| !v.trim().is_empty()) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|e| WorkerError::Setting {
                        var,
                        message: format!("{v:?} is not a socket address like 0.0.0.0:9464: {e}"),
                    }),
            }
        };
        Ok(Self {
            metrics_addr: addr(METRICS_ADDR_VAR)?,
            health_addr: addr(HEALTH_ADDR_VAR)?,
        })
    }
}

/// The SDK runtime, exporting its metrics on `metrics_addr` when given. Returns the address the
/// exporter bound (port 0 picks a free one).
pub fn runtime(
    metrics_addr: Option<SocketAddr>,
) -> Result<(Runtime, Option<SocketAddr>), WorkerError> {
    let mut telemetry = TelemetryOptions::builder().build();
    let mut bound = None;
    if let Some(addr) = metrics_addr {
        let started = start_prometheus_metric_exporter(
            PrometheusExporterOptions::builder()
                .socket_addr(addr)
                .build(),
        )
        .map_err(|e| WorkerError::Setting {
            var: METRICS_ADDR_VAR,
            message: format!("the metrics exporter cannot listen on {addr}: {e}"),
        })?;
        bound = Some(started.bound_addr);
        telemetry.metrics = Some(started.meter as Arc<dyn CoreMeter>);
    }
    let options = RuntimeOptions::builder()
        .telemetry_options(telemetry)
        .build()
        .map_err(WorkerError::Build)?;
    let runtime = Runtime::from_current_tokio(options)
        .map_err(|e| WorkerError::Build(format!("the Temporal runtime did not start: {e}")))?;
    Ok((runtime, bound))
}

/// Serves `/healthz` and `/readyz` on `addr` until the process ends; returns the bound address.
pub async fn serve_health(addr: SocketAddr, client: Client) -> Result<SocketAddr, WorkerError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| WorkerError::Setting {
            var: HEALTH_ADDR_VAR,
            message: format!("cannot listen on {addr}: {e}"),
        })?;
    let bound = listener.local_addr().map_err(|e| WorkerError::Setting {
        var: HEALTH_ADDR_VAR,
        message: e.to_string(),
    })?;
    let app = Router::new()
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(readyz))
        .with_state(client);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the health endpoint stopped");
        }
    });
    Ok(bound)
}

async fn readyz(State(mut client): State<Client>) -> (StatusCode, Json<serde_json::Value>) {
    let call = WorkflowService::get_system_info(
        &mut client,
        GetSystemInfoRequest::default().into_request(),
    );
    let reason = match tokio::time::timeout(Duration::from_secs(2), call).await {
        Ok(Ok(_)) => {
            return (StatusCode::OK, Json(serde_json::json!({"status": "ready"})));
        }
        Ok(Err(status)) => format!("Temporal answered {}", status.code()),
        Err(_) => "Temporal did not answer within 2s".to_owned(),
    };
    tracing::warn!(%reason, "readiness check failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(serde_json::json!({"status": "not ready", "reason": reason})),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_optional_and_checked() {
        let none = ObservabilityConfig::from_lookup(|_| None).unwrap();
        assert_eq!(none, ObservabilityConfig::default());
        let set = ObservabilityConfig::from_lookup(|var| {
            (var == METRICS_ADDR_VAR).then(|| "127.0.0.1:9464".to_owned())
        })
        .unwrap();
        assert_eq!(set.metrics_addr, Some("127.0.0.1:9464".parse().unwrap()));
        let err = ObservabilityConfig::from_lookup(|var| {
            (var == HEALTH_ADDR_VAR).then(|| "9464".to_owned())
        })
        .unwrap_err();
        assert!(err.to_string().contains(HEALTH_ADDR_VAR), "{err}");
    }
}
