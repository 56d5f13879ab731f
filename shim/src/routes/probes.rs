//! `GET /healthz` (liveness), `/readyz` (readiness: Temporal answers), `/metrics`
//! (Prometheus) and `/openapi.json` (the API contract).

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};
use temporalio_client::{grpc::WorkflowService, tonic::IntoRequest};
use temporalio_common::protos::temporal::api::workflowservice::v1::GetSystemInfoRequest;

use crate::{ShimState, answers::ProbeStatus, openapi};

#[utoipa::path(
    get, path = "/healthz",
    tag = "probes",
    summary = "liveness",
    description = "Answers whatever the load: exempt from the in-flight cap, so a busy shim is not restarted.",
    responses((status = 200, description = "alive", body = ProbeStatus))
)]
pub async fn healthz() -> Json<ProbeStatus> {
    Json(ProbeStatus {
        status: "ok".into(),
        reason: None,
    })
}

#[utoipa::path(
    get, path = "/readyz",
    tag = "probes",
    summary = "readiness (Temporal answers)",
    responses(
        (status = 200, description = "ready", body = ProbeStatus),
        (status = 503, description = "not ready (without Retry-After: a load balancer polls anyway)", body = ProbeStatus)
    )
)]
pub async fn readyz(State(state): State<ShimState>) -> (StatusCode, Json<ProbeStatus>) {
    let Some(mut client) = state.inner.temporal.read().await.clone() else {
        return not_ready("not connected to Temporal yet");
    };
    match WorkflowService::get_system_info(
        &mut client,
        GetSystemInfoRequest::default().into_request(),
    )
    .await
    {
        Ok(_) => (
            StatusCode::OK,
            Json(ProbeStatus {
                status: "ready".into(),
                reason: None,
            }),
        ),
        Err(status) => {
            tracing::warn!(error = %status, "readiness check: Temporal did not answer");
            not_ready("Temporal does not answer")
        }
    }
}

fn not_ready(reason: &str) -> (StatusCode, Json<ProbeStatus>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(ProbeStatus {
            status: "not ready".into(),
            reason: Some(reason.into()),
        }),
    )
}

#[utoipa::path(
    get, path = "/metrics",
    tag = "probes",
    summary = "Prometheus metrics",
    responses((status = 200, description = "exposition text", body = String, content_type = "text/plain"))
)]
pub async fn metrics_text(State(state): State<ShimState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.inner.metrics.render(),
    )
}

#[utoipa::path(
    get, path = "/openapi.json",
    tag = "probes",
    summary = "this document",
    responses((status = 200, description = "OpenAPI", body = Object))
)]
pub async fn openapi_json() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(openapi::document())
}
