//! `POST /webhooks/form`: the booking form, authenticated by a bearer token or a Standard
//! Webhooks signature, validated ([`crate::form`]), and handed off as a new booking.

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::Utc;

use super::{header_str, request_id_of, require_json};
use crate::{
    ApiError, ShimState,
    calendly::{Outcome, decision::started},
    form, signature,
};

pub async fn form_webhook(
    State(state): State<ShimState>,
    request: axum::http::request::Parts,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request_id = request_id_of(&request.extensions);
    let headers = &request.headers;
    let config = state.config();
    // Either credential will do: a bearer token (simple forms) or a Standard Webhooks
    // signature (form services that sign).
    let authenticated = if headers.contains_key(header::AUTHORIZATION) {
        signature::verify_bearer(
            header_str(headers, "authorization"),
            config.form_token.as_ref(),
        )
    } else {
        signature::verify_standard_webhook(
            signature::StandardWebhookHeaders {
                id: header_str(headers, "webhook-id"),
                timestamp: header_str(headers, "webhook-timestamp"),
                signature: header_str(headers, "webhook-signature"),
            },
            &body,
            &config.form_webhook_keys,
            config.signature_tolerance,
            Utc::now().timestamp(),
        )
    };
    authenticated.map_err(ApiError::Unauthorized)?;
    require_json(headers)?;
    let valid = form::parse(&body, Utc::now(), &request_id).map_err(ApiError::Invalid)?;
    let client = state.client().await?;
    let handoff = &state.inner.handoff;
    let outcome = handoff
        .timed("form", handoff.start_booking(&client, &valid))
        .await;
    let outcome = started(outcome?, Outcome::Started);
    tracing::info!(booking_id = %valid.booking_id, outcome = outcome.as_str(), "form handed off");
    // Fields that were wrong without stopping the booking (a phone number that does not parse
    // turns texts off): the sender learns of them, the lead is not lost over them.
    let warnings: Vec<serde_json::Value> = valid
        .warnings
        .iter()
        .map(|w| serde_json::json!({"field": w.field, "message": w.message}))
        .collect();
    let mut answer = serde_json::json!({
        "status": "accepted",
        "bookingId": valid.booking_id.as_str(),
        "outcome": outcome.as_str(),
    });
    if !warnings.is_empty() {
        answer["warnings"] = warnings.into();
    }
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}
