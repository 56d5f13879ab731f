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

use crate::{ShimState, openapi};

pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<ShimState>) -> (StatusCode, Json<serde_json::Value>) {
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
            Json(serde_json::json!({ "status": "ready" })),
        ),
        Err(status) => {
            tracing::warn!(error = %status, "readiness check: Temporal did not answer");
            not_ready("Temporal does not answer")
        }
    }
}

fn not_ready(reason: &str) -> (StatusCode, Json<serde_json::Value>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(serde_json::json!({ "status": "not ready", "reason": reason })),
    )
}

pub async fn metrics_text(State(state): State<ShimState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.inner.metrics.render(),
    )
}

pub async fn openapi_json() -> Json<serde_json::Value> {
    Json(openapi::document())
}
