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

use axum::{
    Json,
    body::Bytes,
    extract::{FromRequest, Request, rejection::BytesRejection},
    http::{HeaderMap, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use booking_proto::domain::BookingId;
use booking_workflows::dead_letter::{self, DeadLetter};
use chrono::Utc;
use sha2::{Digest, Sha256};
use temporalio_client::Client;

use crate::{
    ApiError, RequestId, ShimState,
    answers::{Accepted, DeadLettered, Taken},
    handoff::ProcessError,
    outcome::Outcome,
};

/// What a handler answers: its response, or the refusal [`ApiError`] renders.
pub type Answer = Result<Response, ApiError>;

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

/// The answer to a verified scheduler delivery (Calendly, Acuity): 200 naming the booking and
/// what became of it (`outcome`); 503 with `Retry-After` when the failure may pass; 202 once a
/// delivery no booking can take is kept as a dead letter, since the scheduler would otherwise
/// retry it for a day (Calendly then disables the subscription).
async fn answer_delivery(
    state: &ShimState,
    client: &Client,
    source: &str,
    webhook: &Webhook,
    processed: Result<(BookingId, Outcome), ProcessError>,
) -> Answer {
    match processed {
        Ok((booking, outcome)) => Ok((
            StatusCode::OK,
            Json(Accepted::new(Taken::Accepted, booking.as_str()).with_outcome(outcome.as_str())),
        )
            .into_response()),
        Err(ProcessError::Unavailable(why)) => Err(ApiError::Unavailable(why)),
        Err(ProcessError::Unprocessable(reason)) => {
            let id = dead_letter(
                state,
                client,
                source,
                &webhook.body,
                reason,
                &webhook.request_id,
            )
            .await?;
            Ok((
                StatusCode::ACCEPTED,
                Json(DeadLettered {
                    status: Taken::DeadLettered,
                    dead_letter_id: id,
                }),
            )
                .into_response())
        }
    }
}

/// A webhook as every webhook route reads it: the request line and headers, the id the request
/// log settled on, and the raw body, whose exact bytes the sender's signature covers.
pub struct Webhook {
    pub request_id: String,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for Webhook {
    /// The body reader's refusal (over `SHIM_BODY_LIMIT_BYTES`, or cut short).
    type Rejection = BytesRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let request_id = request_id_of(request.extensions());
        let uri = request.uri().clone();
        let headers = request.headers().clone();
        let body = Bytes::from_request(request, state).await?;
        Ok(Self {
            request_id,
            uri,
            headers,
            body,
        })
    }
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
