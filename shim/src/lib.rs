//! The webhook shim: the engine's front door.
//!
//! It will receive scheduler (Calendly) and form webhooks, verify and validate them, and hand
//! each to its booking workflow with signal-with-start, answering 2xx only once Temporal has
//! accepted it. What exists today is the part every later endpoint depends on: the process, its
//! connection to Temporal, and the probes an orchestrator uses (`/healthz`: the process answers;
//! `/readyz`: Temporal answers too, so a load balancer never sends a webhook to a shim that
//! could only bounce it).

use std::sync::Arc;

use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use temporalio_client::{Client, grpc::WorkflowService, tonic::IntoRequest};
use temporalio_common::protos::temporal::api::workflowservice::v1::GetSystemInfoRequest;
use tokio::sync::RwLock;

/// What the handlers share: the Temporal client, once a connection has been made.
#[derive(Clone, Default)]
pub struct ShimState {
    temporal: Arc<RwLock<Option<Client>>>,
}

impl ShimState {
    pub async fn set_client(&self, client: Client) {
        *self.temporal.write().await = Some(client);
    }
}

pub fn router(state: ShimState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(state): State<ShimState>) -> (StatusCode, Json<serde_json::Value>) {
    let Some(mut client) = state.temporal.read().await.clone() else {
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
