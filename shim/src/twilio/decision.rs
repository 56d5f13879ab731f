//! The decision: what a verified, checked Twilio delivery does to bookings, and the hand-offs
//! that do it.

use booking_proto::v1::{
    CancelSignal, ChangeRequest, ConfirmSignal, SmsOptOutSignal, change_request::Change,
};
use temporalio_client::Client;

use super::{InboundText, Reply, StatusReport, keywords};
use crate::handoff::{Handoff, HandoffError};

/// What became of a Twilio webhook: the `outcome` label of `shim_deliveries_total` (with the
/// route template), and, for a status report, the answer's `outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The status report reached its booking.
    Recorded,
    /// A status report for a booking that does not exist: it changes nothing.
    BookingNotFound,
    /// A status report for a booking that has closed: it changes nothing.
    BookingClosed,
    /// Texts are off on every running booking of the number.
    OptedOut,
    /// The newest booking took the lead's confirm or cancel (or had already).
    Confirmed,
    Cancelled,
    /// The newest booking refused the lead's confirm or cancel (e.g. it is cancelled).
    Refused,
    /// Kept as a dead letter for a person: no running booking for the number, or words the
    /// engine does not read.
    DeadLettered,
    /// Signed, but a parameter is missing or malformed: 400, kept as a dead letter.
    Invalid,
    /// No valid `X-Twilio-Signature`: 401, nothing reached Temporal.
    Unauthorized,
    /// Temporal did not take it in time: 503 with `Retry-After`, Twilio retries.
    Unavailable,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Recorded => "recorded",
            Self::BookingNotFound => "booking_not_found",
            Self::BookingClosed => "booking_closed",
            Self::OptedOut => "opted_out",
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
            Self::Refused => "refused",
            Self::DeadLettered => "dead_lettered",
            Self::Invalid => "invalid",
            Self::Unauthorized => "unauthorized",
            Self::Unavailable => "unavailable",
        }
    }
}

/// Why a checked Twilio delivery was not handed off.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwilioError {
    /// Fatal: no booking can act on it. Kept as a dead letter (the reason shows a phone number's
    /// last digits only) and answered as taken.
    #[error("{0}")]
    Unprocessable(String),
    /// Retryable: answered 503 with `Retry-After`.
    #[error("Temporal is unavailable: {0}")]
    Unavailable(String),
}

/// Hands a delivery report to its booking.
pub async fn deliver_status(
    handoff: &Handoff,
    client: &Client,
    report: StatusReport,
) -> Result<Outcome, TwilioError> {
    let StatusReport { booking, signal } = report;
    let status = signal.status.clone();
    match handoff.sms_status(client, &booking, signal).await {
        Ok(()) => Ok(Outcome::Recorded),
        // A report about a booking that no longer exists (or has closed) changes nothing
        // anyone could act on: answered 200 so Twilio stops sending it, logged and counted.
        Err(HandoffError::NotFound) => {
            tracing::warn!(booking_id = %booking, %status, "text status for a booking that does not exist; ignored");
            Ok(Outcome::BookingNotFound)
        }
        Err(HandoffError::Closed) => {
            tracing::warn!(booking_id = %booking, %status, "text status for a closed booking; ignored");
            Ok(Outcome::BookingClosed)
        }
        // A signal is never refused; anything else is Temporal's passing trouble.
        Err(other) => Err(TwilioError::Unavailable(other.to_string())),
    }
}

/// Acts on a lead's reply: STOP (and Twilio's other opt-out words) turns texts off on every
/// running booking of the number; `C`/`X` confirm or cancel the newest through the
/// `request_change` update the lead's links use, with the reply's `MessageSid` as event and
/// update id. A reply no booking can act on is [`TwilioError::Unprocessable`].
pub async fn answer_reply(
    handoff: &Handoff,
    client: &Client,
    text: &InboundText,
) -> Result<Outcome, TwilioError> {
    let tail = text.from_tail();
    let reply = text.reply();
    let bookings = handoff
        .running_bookings_for_phone(client, &text.from)
        .await
        .map_err(unavailable)?;
    let Some(newest) = bookings.first() else {
        return Err(TwilioError::Unprocessable(format!(
            "a text ({}) from the number ending {tail}, which has no running booking",
            reply.as_str()
        )));
    };
    let sid = &text.message_sid;
    let change = match reply {
        Reply::OptOut => {
            let word = keywords::normalise(&text.body);
            // All at once, so a lead with several bookings costs one hand-off's time; a retry
            // after a partial failure repeats the event id, which the bookings that have it
            // ignore.
            let signalled = futures::future::join_all(bookings.iter().map(|booking| {
                let signal = SmsOptOutSignal {
                    event_id: sid.clone(),
                    reason: format!("the lead replied {word} by text"),
                };
                handoff.sms_opt_out(client, booking, signal)
            }))
            .await;
            for result in signalled {
                match result {
                    // Closed since the search: nothing left to text.
                    Ok(()) | Err(HandoffError::NotFound | HandoffError::Closed) => {}
                    Err(other) => return Err(unavailable(other)),
                }
            }
            tracing::info!(number = %tail, bookings = bookings.len(), "lead opted out of texts");
            return Ok(Outcome::OptedOut);
        }
        Reply::Confirm => Change::Confirm(ConfirmSignal {
            event_id: sid.clone(),
        }),
        Reply::Cancel => Change::Cancel(CancelSignal {
            event_id: sid.clone(),
            reason: "lead replied X by text".into(),
            cancelled_by: "lead".into(),
        }),
        Reply::Other => {
            return Err(TwilioError::Unprocessable(format!(
                "a text from the number ending {tail} the engine does not read (newest booking \
                 {newest}); a person should read it"
            )));
        }
    };
    let change = ChangeRequest {
        change: Some(change),
    };
    match handoff
        .request_change(client, newest, change, sid.clone())
        .await
    {
        Ok(accepted) => {
            tracing::info!(booking_id = %newest, duplicate = accepted.duplicate, reply = reply.as_str(), "text reply applied");
            Ok(if reply == Reply::Confirm {
                Outcome::Confirmed
            } else {
                Outcome::Cancelled
            })
        }
        // The lead asked for something the booking no longer allows (confirming a cancelled
        // tour): the booking recorded nothing, and retrying cannot change that.
        Err(HandoffError::Refused(reason)) => {
            tracing::info!(booking_id = %newest, %reason, reply = reply.as_str(), "text reply refused by the booking");
            Ok(Outcome::Refused)
        }
        Err(HandoffError::NotFound | HandoffError::Closed) => {
            Err(TwilioError::Unprocessable(format!(
                "a text ({}) from the number ending {tail} for booking {newest}, which closed \
                 meanwhile",
                reply.as_str()
            )))
        }
        Err(other) => Err(unavailable(other)),
    }
}

fn unavailable(e: HandoffError) -> TwilioError {
    TwilioError::Unavailable(e.to_string())
}
