//! Booking texts: what the workflow asks for, the Twilio client that sends it, and the guard
//! against texting one step twice.
//!
//! # Refused numbers
//!
//! When Twilio refuses the number itself for good (21211 not a valid `To`, 21610 the recipient
//! replied STOP, 21614 not a mobile number), retrying cannot help and failing would leave the
//! step to an operator. `send_sms` then succeeds with [`SmsReceipt::refused`] set and no
//! Message SID: the workflow turns texts off for the booking and emails the step instead.
//!
//! # Duplicate-send guard
//!
//! Twilio has no idempotency key either. The same three layers as emails' ([`crate::email`])
//! keep a booking's text from going out twice:
//!
//! 1. **The workflow** calls `send_sms` once per step key (`SmsMessage::step`, e.g.
//!    `tour-reminder-1h@2026-12-01T15:00:00Z`), and Temporal starts another attempt only after
//!    the previous one failed or timed out. Every text's `StatusCallback` carries `booking_id`
//!    and `step` (when `BOOKINGS_TWILIO_STATUS_CALLBACK_URL` is set), so any duplicate can be
//!    traced in Twilio's message log.
//! 2. **A durable sent-marker** (`BOOKINGS_EMAIL_SENT_MARKERS=crm`, the default, which covers
//!    texts too): after Twilio accepts (201) the activity writes a HubSpot note with
//!    `booking_dedup_key = <booking_id>:sms:<step>` holding the Message SID, searched for
//!    before every attempt sends ([`crate::sent_marker`], the same code as emails': an
//!    unreadable marker fails the attempt retryably, an unwritable one is logged at WARN). A
//!    refused number writes no marker: nothing was sent.
//! 3. `off` disables the marker for texts as for emails.
//!
//! **The remaining window, honestly:** between Twilio's 201 and the marker note being stored
//! (one HubSpot create, without a search first; typically a few milliseconds) nothing durable
//! records the text. If the worker dies, loses the network, or the attempt hits its
//! start-to-close timeout inside that window, or the marker write fails, the next attempt
//! finds no marker and texts the step again; so may a retry starting within real HubSpot's
//! search-index lag. The result is at most a duplicate of one step's text, never a lost one.
//! Twilio offers no idempotency key to close the window.

mod twilio;

use serde::{Deserialize, Serialize};

pub use twilio::{REFUSED_NUMBER_CODES, TwilioClient, classify};

use crate::error::ProviderError;
use crate::sent_marker::{Guarded, Kind, Receipt};

/// What a text's sent-marker says (see [`crate::sent_marker`]).
pub const MARKER: Kind = Kind::new("sms", "text", "message_sid");

/// Twilio behind the sent-marker guard described in the module docs.
pub type GuardedTexter = Guarded<TwilioClient>;

impl GuardedTexter {
    pub async fn send(&self, message: &SmsMessage) -> Result<SmsReceipt, ProviderError> {
        let send = self.client.send(message);
        let receipt = self
            .send_once(&message.booking_id, &message.step, send)
            .await?;
        if let Some(refusal) = &receipt.refused {
            tracing::warn!(
                step = %message.step,
                code = refusal.code,
                reason = %refusal.message,
                "Twilio refused the number for good; texts are off for this booking"
            );
        }
        Ok(receipt)
    }
}

/// One text of a booking's sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmsMessage {
    pub booking_id: String,
    /// Step key, e.g. `tour-reminder-1h@2026-12-01T15:00:00Z`.
    pub step: String,
    /// E.164, already validated by the workflow.
    pub to: String,
    pub body: String,
    /// A text about the tour that is pointless once this instant has passed: the activity
    /// then does not send it. Checked in the activity, because workflow code must not read the
    /// clock.
    pub send_before: Option<chrono::DateTime<chrono::Utc>>,
}

/// What came of one text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsReceipt {
    pub step: String,
    /// Twilio's Message SID (empty when nothing was sent).
    pub message_sid: String,
    /// Why the text was deliberately not sent (its moment had passed).
    pub skipped: Option<String>,
    /// Twilio refused the number for good; the workflow turns texts off and emails instead.
    pub refused: Option<SmsRefusal>,
}

/// Twilio's refusal of a number: its error code (21211, 21610, 21614) and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsRefusal {
    pub code: u32,
    pub message: String,
}

impl Receipt for SmsReceipt {
    const KIND: Kind = MARKER;

    fn sent_id(&self) -> Option<&str> {
        (self.refused.is_none()).then_some(self.message_sid.as_str())
    }

    fn already_sent(step: &str, id: String) -> Self {
        Self {
            step: step.to_owned(),
            message_sid: id,
            skipped: None,
            refused: None,
        }
    }

    fn skipped(step: &str, reason: String) -> Self {
        Self {
            step: step.to_owned(),
            message_sid: String::new(),
            skipped: Some(reason),
            refused: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_keyed_by_booking_and_step_and_records_the_sid() {
        assert_eq!(
            MARKER.marker_key("bk", "tour-reminder-1h@2026-12-01T15:00:00Z"),
            "bk:sms:tour-reminder-1h@2026-12-01T15:00:00Z"
        );
        let receipt = SmsReceipt::already_sent("s", "SM0123".into());
        let body = MARKER.marker_body(&receipt.step, receipt.sent_id().unwrap());
        assert_eq!(MARKER.id_from_marker(&body).as_deref(), Some("SM0123"));
    }

    #[test]
    fn a_refused_number_leaves_no_marker_to_write() {
        let refused = SmsReceipt {
            step: "s".into(),
            message_sid: String::new(),
            skipped: None,
            refused: Some(SmsRefusal {
                code: 21610,
                message: "unsubscribed".into(),
            }),
        };
        assert_eq!(refused.sent_id(), None);
    }

    #[test]
    fn a_receipt_without_the_newer_fields_still_reads() {
        let receipt: SmsReceipt =
            serde_json::from_str(r#"{"step":"s","message_sid":"SM1"}"#).unwrap();
        assert_eq!(receipt.skipped, None);
        assert_eq!(receipt.refused, None);
    }
}
