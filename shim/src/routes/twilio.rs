//! Twilio's webhooks: delivery reports of the texts bookings send
//! (`POST /webhooks/twilio/status?booking_id=..&step=..`, the `StatusCallback` the SMS
//! activity asks for) and the lead's replies (`POST /webhooks/twilio/inbound`, the number's
//! "A message comes in" webhook). Both are signed with the account's auth token
//! ([`crate::twilio::verify`]); nothing unsigned reaches Temporal.
//!
//! A reply names only the number it came from, so it reaches the lead's running bookings
//! through the `LeadPhone` search attribute. STOP turns texts off on every one of them;
//! `C`/`X` confirm or cancel the newest through the same `request_change` update the lead's
//! links use, with the reply's `MessageSid` as event and update id, so Twilio's retries change
//! nothing. A reply no booking can act on is kept as a dead letter. Every accepted reply is
//! answered with empty TwiML.

use axum::{
    body::Bytes,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use booking_proto::{
    domain::{BookingId, FieldError},
    phone::PhoneNumber,
    v1::{
        CancelSignal, ChangeRequest, ConfirmSignal, SmsOptOutSignal, SmsStatusSignal,
        change_request::Change,
    },
};
use temporalio_client::Client;

use super::{dead_letter, request_id_of};
use crate::{
    ApiError, ShimState,
    handoff::HandoffError,
    twilio::{self, EMPTY_TWIML, Reply, TwilioForm},
};

fn twiml() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        EMPTY_TWIML,
    )
        .into_response()
}

/// The query of a status callback: which booking and step the text was for.
fn callback_target(query: Option<&str>) -> Result<(BookingId, String), Vec<FieldError>> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let mut errors = Vec::new();
    let booking = match get("booking_id").map(|raw| BookingId::parse(&raw)) {
        Some(Ok(id)) => Some(id),
        Some(Err(m)) => {
            errors.push(FieldError::new("booking_id", m));
            None
        }
        None => {
            errors.push(FieldError::new("booking_id", "is required in the query"));
            None
        }
    };
    let step = get("step");
    if step.is_none() {
        errors.push(FieldError::new("step", "is required in the query"));
    }
    match (booking, step) {
        (Some(booking), Some(step)) if errors.is_empty() => Ok((booking, step)),
        _ => Err(errors),
    }
}

pub async fn twilio_status(
    State(state): State<ShimState>,
    request: axum::http::request::Parts,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form = TwilioForm::parse(&body);
    twilio::verify(state.config(), &request.headers, &request.uri, &form)
        .map_err(ApiError::Unauthorized)?;
    let (booking, step) = callback_target(request.uri.query()).map_err(ApiError::Invalid)?;
    let mut errors = Vec::new();
    let sid = form.required("MessageSid").map_err(|e| errors.push(e)).ok();
    let status = form
        .required("MessageStatus")
        .map_err(|e| errors.push(e))
        .ok();
    let error_code = match form
        .get("ErrorCode")
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        None => 0,
        Some(raw) => raw.parse::<u32>().unwrap_or_else(|_| {
            errors.push(FieldError::new(
                "ErrorCode",
                format!("{raw:?} is not a number"),
            ));
            0
        }),
    };
    let (Some(sid), Some(status)) = (sid, status) else {
        return Err(ApiError::Invalid(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let signal = SmsStatusSignal {
        event_id: format!("twilio-status:{sid}:{status}"),
        message_sid: sid.to_owned(),
        step,
        status: status.to_owned(),
        error_code,
    };
    let client = state.client().await?;
    let handoff = &state.inner.handoff;
    match handoff
        .timed(
            "twilio_status",
            handoff.sms_status(&client, &booking, signal),
        )
        .await
    {
        Ok(()) => {}
        // A report on a booking that is gone changes nothing anyone could act on: answered 200
        // so Twilio stops calling, and logged.
        Err(HandoffError::NotFound | HandoffError::Closed) => {
            tracing::warn!(booking_id = %booking, %status, "text status for a booking that is not running; ignored");
        }
        Err(other) => return Err(other.into()),
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn twilio_inbound(
    State(state): State<ShimState>,
    request: axum::http::request::Parts,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request_id = request_id_of(&request.extensions);
    let form = TwilioForm::parse(&body);
    twilio::verify(state.config(), &request.headers, &request.uri, &form)
        .map_err(ApiError::Unauthorized)?;
    let mut errors = Vec::new();
    let sid = form.required("MessageSid").map_err(|e| errors.push(e)).ok();
    let from = match form.required("From") {
        Ok(raw) => PhoneNumber::parse(raw)
            .map_err(|m| errors.push(FieldError::new("From", m)))
            .ok(),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let (Some(sid), Some(from)) = (sid, from) else {
        return Err(ApiError::Invalid(errors));
    };
    let text = form.get("Body").unwrap_or_default();
    let client = state.client().await?;
    let handoff = &state.inner.handoff;
    let bookings = handoff
        .timed(
            "twilio_inbound",
            handoff.running_bookings_for_phone(&client, &from),
        )
        .await?;
    let tail = twilio::last_digits(from.as_str());
    let reply = Reply::of(text);
    let Some(newest) = bookings.first() else {
        let reason = format!("a text from {tail} with no running booking for that number");
        return keep(&state, &client, &body, reason, &request_id).await;
    };
    match reply {
        Reply::OptOut => {
            for booking in &bookings {
                let signal = SmsOptOutSignal {
                    event_id: sid.to_owned(),
                    reason: format!("the lead replied {:?}", text.trim()),
                };
                match handoff.sms_opt_out(&client, booking, signal).await {
                    Ok(()) | Err(HandoffError::NotFound | HandoffError::Closed) => {}
                    Err(other) => return Err(other.into()),
                }
            }
            tracing::info!(number = %tail, bookings = bookings.len(), "lead opted out of texts");
        }
        Reply::Confirm | Reply::Cancel => {
            let change = if reply == Reply::Confirm {
                Change::Confirm(ConfirmSignal {
                    event_id: sid.to_owned(),
                })
            } else {
                Change::Cancel(CancelSignal {
                    event_id: sid.to_owned(),
                    reason: "the lead replied X by text".into(),
                    cancelled_by: "lead".into(),
                })
            };
            let change = ChangeRequest {
                change: Some(change),
            };
            match handoff
                .request_change(&client, newest, change, sid.to_owned())
                .await
            {
                Ok(accepted) => {
                    tracing::info!(booking_id = %newest, duplicate = accepted.duplicate, ?reply, "text reply applied");
                }
                // The lead asked for something the booking no longer allows (confirming a
                // cancelled tour): the booking recorded nothing, and there is nothing to retry.
                Err(HandoffError::Refused(reason)) => {
                    tracing::info!(booking_id = %newest, %reason, ?reply, "text reply refused by the booking");
                }
                Err(HandoffError::NotFound | HandoffError::Closed) => {
                    let reason = format!("a text reply from {tail} for a booking that just closed");
                    return keep(&state, &client, &body, reason, &request_id).await;
                }
                Err(other) => return Err(other.into()),
            }
        }
        Reply::Other => {
            let reason = format!(
                "a text from {tail} the engine does not understand (booking {newest}); a person should read it"
            );
            return keep(&state, &client, &body, reason, &request_id).await;
        }
    }
    Ok(twiml())
}

/// Keeps a signed reply no booking acted on as a dead letter, answered as taken.
async fn keep(
    state: &ShimState,
    client: &Client,
    body: &[u8],
    reason: String,
    request_id: &str,
) -> Result<Response, ApiError> {
    dead_letter(state, client, "twilio", body, reason, request_id).await?;
    Ok(twiml())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_callback_names_its_booking_and_step_in_the_query() {
        let (booking, step) = callback_target(Some(
            "booking_id=bk-1&step=tour-reminder-1h%402026-12-01T15%3A00%3A00Z",
        ))
        .unwrap();
        assert_eq!(booking.as_str(), "bk-1");
        assert_eq!(step, "tour-reminder-1h@2026-12-01T15:00:00Z");
        let fields: Vec<String> = callback_target(None)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["booking_id", "step"]);
        assert!(callback_target(Some("booking_id=bad id&step=s")).is_err());
    }
}
