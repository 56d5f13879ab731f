//! `POST /webhooks/form`: the booking form, authenticated by a bearer token or a Standard
//! Webhooks signature, validated ([`crate::form`]), and handed off as a new booking.

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};
use chrono::Utc;

use super::{Answer, Webhook, header_str, require_json};
use crate::{
    ApiError, ShimState,
    answers::{Accepted, ErrorBody, Taken, ValidationErrors},
    form::{self, BookingForm},
    openapi::shared::{NotJson, TemporalUnreachable},
    outcome::Outcome,
    signature,
};

#[utoipa::path(
    post, path = "/webhooks/form",
    tag = "webhooks",
    summary = "booking form submission",
    description = "Authenticated by a bearer token (SHIM_FORM_TOKEN) or, without an Authorization header, a Standard Webhooks signature.",
    security(("bearer" = []), ("standardWebhooks" = [])),
    params(
        ("webhook-id" = Option<String>, Header, description = "Standard Webhooks: the message id"),
        ("webhook-timestamp" = Option<String>, Header, description = "Standard Webhooks: unix seconds"),
        ("webhook-signature" = Option<String>, Header, description = "Standard Webhooks: v1,<base64 HMAC-SHA256 of id.timestamp.body>")
    ),
    request_body(content = BookingForm, content_type = "application/json"),
    responses(
        (status = 202, description = "handed to the booking", body = Accepted),
        (status = 400, description = "invalid fields, each named", body = ValidationErrors),
        (status = 401, description = "no valid token or signature", body = ErrorBody),
        NotJson,
        TemporalUnreachable
    )
)]
pub async fn form_webhook(State(state): State<ShimState>, webhook: Webhook) -> Answer {
    let config = state.config();
    // Either credential will do: a bearer token (simple forms) or a Standard Webhooks
    // signature (form services that sign).
    let authenticated = if webhook.headers.contains_key(header::AUTHORIZATION) {
        signature::verify_bearer(
            header_str(&webhook.headers, "authorization"),
            config.form_token.as_ref(),
        )
    } else {
        signature::verify_standard_webhook(
            signature::StandardWebhookHeaders {
                id: header_str(&webhook.headers, "webhook-id"),
                timestamp: header_str(&webhook.headers, "webhook-timestamp"),
                signature: header_str(&webhook.headers, "webhook-signature"),
            },
            &webhook.body,
            &config.form_webhook_keys,
            config.signature_tolerance,
            Utc::now().timestamp(),
        )
    };
    authenticated.map_err(ApiError::Unauthorized)?;
    require_json(&webhook.headers)?;
    let valid =
        form::parse(&webhook.body, Utc::now(), &webhook.request_id).map_err(ApiError::Invalid)?;
    let client = state.client().await?;
    let handoff = &state.inner.handoff;
    let outcome = handoff
        .timed("form", handoff.start_booking(&client, &valid))
        .await;
    let outcome = Outcome::unless_closed(outcome?, Outcome::Started);
    tracing::info!(booking_id = %valid.booking_id, outcome = outcome.as_str(), "form handed off");
    let mut answer =
        Accepted::new(Taken::Accepted, valid.booking_id.as_str()).with_outcome(outcome.as_str());
    // Fields that were wrong without stopping the booking: the sender learns of them, the lead
    // is not lost over them.
    answer.warnings = valid.warnings.iter().map(Into::into).collect();
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}
