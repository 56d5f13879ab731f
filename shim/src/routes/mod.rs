//! The shim's HTTP handlers, one module per audience: probes and metrics, the booking form,
//! Calendly, the lead's links, operators, and the landing page's seat counter.

pub mod acuity;
pub mod availability;
pub mod calendly;
pub mod form;
pub mod links;
pub mod operator;
pub mod probes;
pub mod twilio;

use axum::http::{HeaderMap, header};
use booking_workflows::dead_letter::{self, DeadLetter};
use chrono::Utc;
use sha2::{Digest, Sha256};
use temporalio_client::Client;

use crate::{ApiError, RequestId, ShimState};

/// Keeps a verified delivery that no booking can act on as a dead-letter workflow (one per
/// distinct body, so a redelivery is the same letter) and returns its workflow id once
/// Temporal holds it.
async fn dead_letter(
    state: &ShimState,
    client: &Client,
    source: &str,
    body: &[u8],
    reason: String,
    request_id: &str,
) -> Result<String, ApiError> {
    let digest = hex::encode(Sha256::digest(body));
    tracing::warn!(%reason, dead_letter = %digest, source, "delivery kept as a dead letter");
    let letter = DeadLetter {
        payload: String::from_utf8_lossy(body).into_owned(),
        reason,
        source: source.to_owned(),
        received_at: Utc::now().to_rfc3339(),
        request_id: request_id.to_owned(),
    };
    state
        .inner
        .handoff
        .dead_letter(client, &digest, letter)
        .await?;
    Ok(dead_letter::workflow_id(&digest))
}

/// The request id [`crate::request_log::request_span`] settled on.
fn request_id_of(request: &axum::http::Extensions) -> String {
    request
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default()
}

/// `application/json` (with or without parameters), or `application/*+json`.
fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let ok = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| {
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType)
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
