//! `POST /webhooks/calendly`: verifies the signature, parses the delivery, and hands it to its
//! booking ([`crate::calendly::process`]); a verified delivery it cannot process becomes a
//! dead letter (202), so Calendly does not retry it for a day and disable the subscription.

use axum::extract::State;
use chrono::Utc;

use super::{Answer, Webhook, answer_delivery, header_str, require_json};
use crate::{
    ApiError, ShimState,
    answers::{Accepted, DeadLettered, ErrorBody},
    calendly::{self, CalendlyWebhook},
    openapi::shared::{NoValidSignature, NotJson},
    signature,
};

#[utoipa::path(
    post, path = "/webhooks/calendly",
    tag = "webhooks",
    summary = "Calendly v2 webhook (invitee.created, invitee.canceled)",
    params(("Calendly-Webhook-Signature" = String, Header, description = "t=<unix>,v1=<hex HMAC-SHA256 of t.body>")),
    request_body(content = CalendlyWebhook, content_type = "application/json"),
    responses(
        (status = 200, description = "handed to the booking", body = Accepted),
        (status = 202, description = "signed but unprocessable: kept as a dead letter", body = DeadLettered),
        NoValidSignature,
        NotJson,
        (status = 503, description = "Temporal (or the Calendly API a reschedule needs) is unreachable; retry after the given seconds", body = ErrorBody, headers(("Retry-After" = u64, description = "seconds (SHIM_RETRY_AFTER_SECS)")))
    )
)]
pub async fn calendly_webhook(State(state): State<ShimState>, webhook: Webhook) -> Answer {
    require_json(&webhook.headers)?;
    let config = state.config();
    signature::verify_calendly(
        header_str(&webhook.headers, "calendly-webhook-signature"),
        &webhook.body,
        &config.calendly_signing_keys,
        config.signature_tolerance,
        Utc::now().timestamp(),
    )
    .map_err(ApiError::Unauthorized)?;
    let client = state.client().await?;
    let handoff = &state.inner.handoff;
    handoff
        .timed("calendly", async {
            let processed = match calendly::parse(&webhook.body) {
                Ok(delivery) => {
                    calendly::process(
                        &state.inner.chains,
                        handoff,
                        &client,
                        delivery,
                        &webhook.request_id,
                    )
                    .await
                }
                Err(e) => Err(e.into()),
            };
            let processed = processed.inspect(|(booking, outcome)| {
                tracing::info!(booking_id = %booking, outcome = outcome.as_str(), "calendly delivery handed off");
            });
            answer_delivery(&state, &client, "calendly", &webhook, processed).await
        })
        .await
}
