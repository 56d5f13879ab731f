//! Booking emails: what the workflow asks for, the SendGrid client that sends it, and the
//! guard against sending one step twice.
//!
//! # Duplicate-send guard
//!
//! SendGrid has no idempotency key and no way to ask "did I already send this?". Three layers
//! keep a booking's email from going out twice:
//!
//! 1. **The workflow** calls `send_email` once per step key (`EmailMessage::step`, e.g.
//!    `reminder-1h@2026-12-01T15:00:00Z`), and Temporal starts another attempt only after
//!    the previous one failed or timed out. Every email carries `custom_args.booking_id`
//!    and `custom_args.step`, so any duplicate can be traced in SendGrid's activity feed.
//! 2. **A durable sent-marker** (`BOOKINGS_EMAIL_SENT_MARKERS=crm`, the default): after
//!    SendGrid accepts (202) the activity writes a HubSpot note with
//!    `booking_dedup_key = <booking_id>:email:<step>` holding the `X-Message-Id`. Before
//!    sending, every attempt searches for that note; if it exists the email already went out
//!    and the activity returns the recorded receipt without sending. Failing to *read* the
//!    marker fails the attempt (retryable: an email a little late beats one sent twice);
//!    failing to *write* it after a successful send is only logged (WARN), because failing
//!    the attempt then would guarantee the duplicate the marker exists to prevent. The
//!    marker logic is [`crate::sent_marker`], shared with texts ([`crate::sms`]).
//! 3. `off` disables the marker, for emails and texts alike (one provider call per send,
//!    duplicates possible as below).
//!
//! **The remaining window, honestly:** between SendGrid's 202 and the marker note being
//! stored (one HubSpot create, without a search first; typically a few milliseconds, well
//! under a second) nothing durable records
//! the send. If the worker dies, loses the network, or the attempt hits its start-to-close
//! timeout inside that window, or the marker write fails, the next attempt finds no marker
//! and sends the email again. Real HubSpot's search index also lags writes by seconds, so a
//! retry starting within that lag may miss a marker that was written; Temporal's first
//! retry interval (1 s, then backing off) makes this rare, not impossible. The result is at
//! most a duplicate of one step's email, never a lost one. Closing the window fully needs a
//! provider-side idempotency key, which SendGrid does not offer.

mod sendgrid;

use serde::{Deserialize, Serialize};

pub use sendgrid::SendGridClient;

use crate::{
    error::ProviderError,
    sent_marker::{Guarded, Kind, Receipt},
};

/// What an email's sent-marker says (see [`crate::sent_marker`]).
pub const MARKER: Kind = Kind::new("email", "email", "message_id");

/// The de-duplication key of a sent-marker note.
pub fn marker_key(message: &EmailMessage) -> String {
    marker_key_of(&message.booking_id, &message.step)
}

/// The de-duplication key of the sent-marker of one booking's email step.
pub fn marker_key_of(booking_id: &str, step: &str) -> String {
    MARKER.marker_key(booking_id, step)
}

/// The message id a sent-marker note's body records.
pub fn message_id_from_marker(body: &str) -> Option<String> {
    MARKER.id_from_marker(body)
}

/// SendGrid behind the sent-marker guard described in the module docs.
pub type GuardedSender = Guarded<SendGridClient>;

impl GuardedSender {
    pub async fn send(&self, message: &EmailMessage) -> Result<EmailReceipt, ProviderError> {
        let send = self.client.send(message);
        self.send_once(&message.booking_id, &message.step, send)
            .await
    }
}

/// One logical email of a booking's sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailMessage {
    pub booking_id: String,
    /// Stable key of this send within the booking (e.g. `ask-to-confirm`,
    /// `reminder-1h@2026-12-01T15:00:00Z`). It travels in `custom_args`, so every email in the
    /// provider can be traced to its booking and step.
    pub step: String,
    pub to_email: String,
    pub to_name: String,
    /// Provider template id.
    pub template_id: String,
    /// Values the template renders (times, links, directions).
    pub template_data: serde_json::Value,
    /// An email about the tour that is pointless once this instant has passed (a reminder of a
    /// tour that already started, after an outage delayed it): the activity then does not
    /// send it. Checked here, in the activity, because workflow code must not read the clock.
    pub send_before: Option<chrono::DateTime<chrono::Utc>>,
}

/// What the provider answered for an accepted email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailReceipt {
    pub step: String,
    /// SendGrid's `X-Message-Id` (empty when nothing was sent).
    pub message_id: String,
    /// Why the email was deliberately not sent, when it was not.
    pub skipped: Option<String>,
}

impl Receipt for EmailReceipt {
    const KIND: Kind = MARKER;

    fn sent_id(&self) -> Option<&str> {
        Some(&self.message_id)
    }

    fn already_sent(step: &str, id: String) -> Self {
        Self {
            step: step.to_owned(),
            message_id: id,
            skipped: None,
        }
    }

    fn skipped(step: &str, reason: String) -> Self {
        Self {
            step: step.to_owned(),
            message_id: String::new(),
            skipped: Some(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_round_trips_the_message_id() {
        let message = EmailMessage {
            booking_id: "bk".into(),
            step: "ask-to-confirm".into(),
            to_email: "a@b.c".into(),
            to_name: "A".into(),
            template_id: "t".into(),
            template_data: serde_json::Value::Null,
            send_before: None,
        };
        let receipt = EmailReceipt {
            step: message.step.clone(),
            message_id: "abc.123".into(),
            skipped: None,
        };
        assert_eq!(marker_key(&message), "bk:email:ask-to-confirm");
        assert_eq!(
            MARKER.marker_body(&message.step, &receipt.message_id),
            "Booking engine sent email step=ask-to-confirm message_id=abc.123",
            "the body earlier versions wrote, which operators' tools still read"
        );
        assert_eq!(
            message_id_from_marker(&MARKER.marker_body(&message.step, &receipt.message_id)),
            Some("abc.123".into())
        );
    }
}
