//! `POST /webhooks/twilio/status` and `POST /webhooks/twilio/inbound`: verifies
//! `X-Twilio-Signature`, checks the form, and hands the delivery to its bookings
//! ([`crate::twilio`]).
//!
//! Answers: 401 without a valid signature (nothing reaches Temporal); 400 naming each missing
//! or malformed parameter of a signed delivery, once it is kept as a dead letter; 503 with
//! `Retry-After` while Temporal does not take it (Twilio retries). Otherwise 200: a status
//! report's JSON names what became of it (a report about a booking that is gone changes
//! nothing and is answered 200 all the same), and a reply is answered with empty TwiML as
//! `text/xml`, whatever it did, so Twilio texts nothing back. Each answer is counted in
//! `shim_deliveries_total{route,outcome}`.

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use booking_proto::domain::{BookingId, FieldError};
use temporalio_client::Client;

use super::{Answer, Webhook, dead_letter};
use crate::{
    ApiError, ShimState,
    answers::{Accepted, Taken, ValidationErrors},
    openapi::shared::{NoValidSignature, TemporalUnreachable},
    twilio::{
        self, EMPTY_TWIML, InboundText, Outcome, StatusReport, TwilioError, TwilioForm,
        TwilioInbound, TwilioStatus,
    },
};

/// The route templates, as `shim_deliveries_total` and the request log name them.
pub const STATUS_ROUTE: &str = "/webhooks/twilio/status";
pub const INBOUND_ROUTE: &str = "/webhooks/twilio/inbound";

#[utoipa::path(
    post, path = "/webhooks/twilio/status",
    tag = "webhooks",
    summary = "Twilio: delivery report of a booking's text (the StatusCallback the SMS activity asks for)",
    security(("twilioSignature" = [])),
    params(
        ("X-Twilio-Signature" = String, Header, description = "base64 HMAC-SHA1 with the account's auth token over the URL Twilio requested (SHIM_PUBLIC_URL + path + query) and the sorted form parameters"),
        ("booking_id" = String, Query, pattern = "^[A-Za-z0-9_-]{1,100}$"),
        ("step" = String, Query, min_length = 1, max_length = 256)
    ),
    request_body(content = TwilioStatus, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "signalled to the booking (outcome recorded), or about a booking that does not exist or has closed, which changes nothing (outcome booking_not_found / booking_closed)", body = Accepted),
        (status = 400, description = "signed, but a parameter is missing or malformed (each named); kept as a dead letter", body = ValidationErrors),
        NoValidSignature,
        TemporalUnreachable
    )
)]
pub async fn twilio_status(State(state): State<ShimState>, webhook: Webhook) -> Answer {
    let answer = status(&state, &webhook).await;
    counted(&state, STATUS_ROUTE, answer)
}

#[utoipa::path(
    post, path = "/webhooks/twilio/inbound",
    tag = "webhooks",
    summary = "Twilio: a lead's text reply",
    description = "STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT turn texts off on every running booking of the number; C, Y, YES, CONFIRM confirm and X cancels the newest; anything else, or a number with no running booking, becomes a dead letter.",
    security(("twilioSignature" = [])),
    params(("X-Twilio-Signature" = String, Header, description = "base64 HMAC-SHA1 with the account's auth token over the URL Twilio requested (SHIM_PUBLIC_URL + path + query) and the sorted form parameters")),
    request_body(content = TwilioInbound, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "taken, whatever it did (a change the booking refuses included); empty TwiML, so nothing is texted back", body = String, content_type = "text/xml"),
        (status = 400, description = "signed, but MessageSid or From is missing or malformed (each named); kept as a dead letter", body = ValidationErrors),
        NoValidSignature,
        TemporalUnreachable
    )
)]
pub async fn twilio_inbound(State(state): State<ShimState>, webhook: Webhook) -> Answer {
    let answer = inbound(&state, &webhook).await;
    counted(&state, INBOUND_ROUTE, answer)
}

async fn status(state: &ShimState, webhook: &Webhook) -> Result<(Outcome, Response), ApiError> {
    let parse = |form: &TwilioForm| StatusReport::parse(webhook.uri.query(), form);
    verified(state, webhook, "twilio_status", parse, async |client, report| {
        let booking = report.booking.clone();
        let handoff = &state.inner.handoff;
        let handed_off = twilio::deliver_status(handoff, client, report).await;
        let outcome = settle(state, client, webhook, handed_off).await?;
        tracing::info!(booking_id = %booking, outcome = outcome.as_str(), "twilio status handed off");
        Ok((outcome, reported(&booking, outcome)))
    })
    .await
}

async fn inbound(state: &ShimState, webhook: &Webhook) -> Result<(Outcome, Response), ApiError> {
    verified(state, webhook, "twilio_inbound", InboundText::parse, async |client, text| {
        let handoff = &state.inner.handoff;
        let handed_off = twilio::answer_reply(handoff, client, &text).await;
        let outcome = settle(state, client, webhook, handed_off).await?;
        tracing::info!(number = %text.from_tail(), reply = text.reply().as_str(), outcome = outcome.as_str(), "twilio reply taken");
        Ok((outcome, twiml()))
    })
    .await
}

/// What both routes do around their own hand-off: check the signature over the URL and the
/// form (401 before anything reaches Temporal), parse the delivery, then, timed as `kind`,
/// hand a well-formed one to `take`, or keep a malformed one as a dead letter and answer 400.
async fn verified<T>(
    state: &ShimState,
    webhook: &Webhook,
    kind: &'static str,
    parse: impl FnOnce(&TwilioForm) -> Result<T, Vec<FieldError>>,
    take: impl AsyncFnOnce(&Client, T) -> Result<(Outcome, Response), ApiError>,
) -> Result<(Outcome, Response), ApiError> {
    let form = TwilioForm::parse(&webhook.body);
    twilio::verify(state.config(), &webhook.headers, &webhook.uri, &form)
        .map_err(ApiError::Unauthorized)?;
    let parsed = parse(&form);
    let client = state.client().await?;
    state
        .inner
        .handoff
        .timed(kind, async {
            match parsed {
                Ok(parsed) => take(&client, parsed).await,
                Err(errors) => invalid(state, &client, webhook, errors).await,
            }
        })
        .await
}

/// The outcome of a hand-off, a delivery no booking can act on kept as a dead letter first.
async fn settle(
    state: &ShimState,
    client: &Client,
    webhook: &Webhook,
    handed_off: Result<Outcome, TwilioError>,
) -> Result<Outcome, ApiError> {
    match handed_off {
        Ok(outcome) => Ok(outcome),
        Err(TwilioError::Unavailable(why)) => Err(ApiError::Unavailable(why)),
        Err(TwilioError::Unprocessable(reason)) => {
            keep(state, client, webhook, reason).await?;
            Ok(Outcome::DeadLettered)
        }
    }
}

/// A signed delivery with missing or malformed parameters: kept as a dead letter (Twilio
/// signed it, so it is ours to look at), then answered 400 naming each.
async fn invalid(
    state: &ShimState,
    client: &Client,
    webhook: &Webhook,
    errors: Vec<FieldError>,
) -> Result<(Outcome, Response), ApiError> {
    let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let reason = format!(
        "a signed Twilio webhook with invalid parameters: {}",
        listed.join("; ")
    );
    keep(state, client, webhook, reason).await?;
    Err(ApiError::Invalid(errors))
}

/// Keeps the delivery as a dead letter: the request line (a status callback's query names its
/// booking and step) and the form as received, one letter per distinct delivery.
async fn keep(
    state: &ShimState,
    client: &Client,
    webhook: &Webhook,
    reason: String,
) -> Result<(), ApiError> {
    let mut letter = format!("POST {}\n\n", webhook.uri).into_bytes();
    letter.extend_from_slice(&webhook.body);
    dead_letter(
        state,
        client,
        "twilio",
        &letter,
        reason,
        &webhook.request_id,
    )
    .await?;
    Ok(())
}

/// Counts the answer in `shim_deliveries_total` and returns it.
fn counted(
    state: &ShimState,
    route: &'static str,
    answer: Result<(Outcome, Response), ApiError>,
) -> Answer {
    let outcome = match &answer {
        Ok((outcome, _)) => *outcome,
        Err(ApiError::Unauthorized(_)) => Outcome::Unauthorized,
        Err(ApiError::Invalid(_)) => Outcome::Invalid,
        // The only other way these routes fail is Temporal not taking the delivery.
        Err(_) => Outcome::Unavailable,
    };
    state.inner.metrics.count_delivery(route, outcome.as_str());
    answer.map(|(_, response)| response)
}

/// A status report's answer: Twilio reads only its status; the body is for people and tests.
fn reported(booking: &BookingId, outcome: Outcome) -> Response {
    let status = match outcome {
        Outcome::Recorded => Taken::Accepted,
        Outcome::DeadLettered => Taken::DeadLettered,
        _ => Taken::Ignored,
    };
    let answer = Accepted::new(status, booking.as_str()).with_outcome(outcome.as_str());
    (StatusCode::OK, Json(answer)).into_response()
}

/// Empty TwiML: taken, and nothing texted back.
fn twiml() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml")],
        EMPTY_TWIML,
    )
        .into_response()
}

#[cfg(test)]
mod tests;
