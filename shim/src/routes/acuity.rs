//! `POST /webhooks/acuity`: verifies `X-Acuity-Signature`, parses the form, reads the
//! appointment and hands it to its booking ([`crate::acuity::process`]).
//!
//! Answers: 401 without a valid signature (nothing reaches Temporal); 400 naming each missing
//! or malformed field of a signed delivery, once it is kept as a dead letter; 503 with
//! `Retry-After` while Acuity or Temporal cannot be reached (Acuity retries); 202 with the dead
//! letter's id when the appointment cannot become a booking; otherwise 200 naming the booking
//! and what became of it.

use axum::extract::State;

use super::{Answer, Webhook, answer_delivery, dead_letter, header_str};
use crate::{
    ApiError, ShimState,
    acuity::{self, AcuityDelivery, AcuityForm},
    answers::{Accepted, DeadLettered, ErrorBody, ValidationErrors},
    signature::SignatureError,
};

#[utoipa::path(
    post, path = "/webhooks/acuity",
    tag = "webhooks",
    summary = "Acuity Scheduling webhook (appointment.scheduled, .rescheduled, .canceled, .changed); the shim reads the appointment through Acuity's API",
    security(("acuitySignature" = [])),
    params(("X-Acuity-Signature" = String, Header, description = "base64 HMAC-SHA256 of the raw body with the account's API key")),
    request_body(content = AcuityForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "handed to the booking acuity-<id>", body = Accepted),
        (status = 202, description = "signed, but the appointment cannot become a booking: kept as a dead letter", body = DeadLettered),
        (status = 400, description = "signed, with invalid fields (kept as a dead letter)", body = ValidationErrors),
        (status = 401, description = "no valid signature, or Acuity is not configured", body = ErrorBody),
        (status = 503, description = "Acuity or Temporal is unreachable; retry after the given seconds", body = ErrorBody, headers(("Retry-After" = u64, description = "seconds (SHIM_RETRY_AFTER_SECS)")))
    )
)]
pub async fn acuity_webhook(State(state): State<ShimState>, webhook: Webhook) -> Answer {
    let (Some(config), Some(api)) = (&state.config().acuity, &state.inner.acuity) else {
        return Err(ApiError::Unauthorized(SignatureError::NotConfigured));
    };
    acuity::verify(
        &config.api_key,
        header_str(&webhook.headers, acuity::SIGNATURE_HEADER),
        &webhook.body,
    )
    .map_err(ApiError::Unauthorized)?;
    let client = state.client().await?;
    let handoff = &state.inner.handoff;
    handoff
        .timed("acuity", async {
            let delivery = match AcuityDelivery::parse(&webhook.body) {
                Ok(delivery) => delivery,
                Err(errors) => {
                    let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
                    let reason = format!(
                        "a signed Acuity webhook with invalid fields: {}",
                        listed.join("; ")
                    );
                    dead_letter(&state, &client, "acuity", &webhook.body, reason, &webhook.request_id).await?;
                    return Err(ApiError::Invalid(errors));
                }
            };
            let processed = acuity::process(api, handoff, &client, &delivery, &webhook.request_id)
                .await
                .inspect(|(booking, outcome)| {
                    tracing::info!(booking_id = %booking, action = delivery.action.as_str(), outcome = outcome.as_str(), "acuity delivery handed off");
                });
            answer_delivery(&state, &client, "acuity", &webhook, processed).await
        })
        .await
}
