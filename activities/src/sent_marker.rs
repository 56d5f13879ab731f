//! Durable sent-markers: the guard against sending one step of a booking twice through a
//! provider that has no idempotency key (SendGrid for emails, Twilio for texts).
//!
//! After the provider accepts a message, [`Guarded::send_once`] writes a HubSpot note with
//! `booking_dedup_key = <booking_id>:<kind>:<step>` (`kind` is `email` or `sms`) whose body
//! records the provider's id of the message. Before sending, every attempt searches for that
//! note; if it exists the message already went out and the attempt returns the recorded
//! receipt without sending. Failing to *read* the marker fails the attempt (retryable: a
//! message a little late beats one sent twice); failing to *write* it after a successful send
//! is only logged (WARN), because failing the attempt then would guarantee the duplicate the
//! marker exists to prevent. A send the provider answered without sending anything (a text to
//! a number Twilio refuses) records no marker: there is nothing to repeat.
//!
//! Each channel's module docs ([`crate::email`], [`crate::sms`]) say how its provider's ids are
//! traced and what window the guard leaves open. `BOOKINGS_EMAIL_SENT_MARKERS=off` turns the
//! guard off for both ([`crate::config::SentMarkers`]).

use std::future::Future;

use crate::{
    crm::{CrmClient, NoteSpec, dedup_key},
    error::ProviderError,
};

/// What a marker says about one kind of message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// The key's middle part: a marker's key is `<booking_id>:<key>:<step>`.
    pub key: &'static str,
    /// What logs and the marker's body call one message (`email`, `text`).
    pub noun: &'static str,
    /// The name the marker's body gives the provider's id (`message_id`, `message_sid`).
    pub id_field: &'static str,
}

impl Kind {
    pub const fn new(key: &'static str, noun: &'static str, id_field: &'static str) -> Self {
        Self {
            key,
            noun,
            id_field,
        }
    }

    /// The de-duplication key of the sent-marker of one booking's step.
    pub fn marker_key(&self, booking_id: &str, step: &str) -> String {
        dedup_key(booking_id, &format!("{}:{step}", self.key))
    }

    /// The body of the marker of a sent step: `Booking engine sent <noun> step=<step>
    /// <id_field>=<id>`.
    pub fn marker_body(&self, step: &str, id: &str) -> String {
        format!(
            "Booking engine sent {} step={step} {}={id}",
            self.noun, self.id_field
        )
    }

    /// The provider's id a marker's body records.
    pub fn id_from_marker(&self, body: &str) -> Option<String> {
        let field = format!(" {}=", self.id_field);
        let (_, rest) = body.split_once(&field)?;
        let id: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
        (!id.is_empty()).then_some(id)
    }
}

/// A provider's receipt for one step's message: what the guard reads from it and rebuilds
/// from a marker.
pub trait Receipt: Sized {
    /// The kind of message this receipt is for.
    const KIND: Kind;

    /// The provider's id of the message this receipt says was sent; `None` when nothing was
    /// (then no marker is written).
    fn sent_id(&self) -> Option<&str>;

    /// The receipt of a step an earlier attempt sent, with the id its marker records.
    fn already_sent(step: &str, id: String) -> Self;

    /// The receipt of a step deliberately not sent, saying why.
    fn skipped(step: &str, reason: String) -> Self;
}

/// A provider client `C` behind the sent-marker guard; `markers: None` sends without one.
#[derive(Debug, Clone)]
pub struct Guarded<C> {
    pub(crate) client: C,
    markers: Option<CrmClient>,
}

impl<C> Guarded<C> {
    pub fn new(client: C, markers: Option<CrmClient>) -> Self {
        Self { client, markers }
    }

    /// Sends with `send` (not yet started) unless a marker says an earlier attempt sent this
    /// step; records the send in a marker afterwards.
    pub async fn send_once<R: Receipt>(
        &self,
        booking_id: &str,
        step: &str,
        send: impl Future<Output = Result<R, ProviderError>>,
    ) -> Result<R, ProviderError> {
        let Some(crm) = &self.markers else {
            return send.await;
        };
        let kind = R::KIND;
        let key = kind.marker_key(booking_id, step);
        if let Some(marker) = crm
            .find_by_dedup_key("notes", &key, &["hs_note_body"])
            .await?
        {
            let message_id = marker
                .properties
                .get("hs_note_body")
                .and_then(|b| b.as_str())
                .and_then(|b| kind.id_from_marker(b))
                .unwrap_or_default();
            tracing::info!(
                step,
                marker = %marker.id,
                message_id,
                "{} already sent by an earlier attempt; not sending again",
                kind.noun
            );
            return Ok(R::already_sent(step, message_id));
        }
        let receipt = send.await?;
        let Some(message_id) = receipt.sent_id() else {
            return Ok(receipt);
        };
        let note = NoteSpec {
            booking_id: booking_id.to_owned(),
            dedup_key: key,
            body: kind.marker_body(step, message_id),
            contact_id: None,
        };
        // No search before this write: the one before the send found nothing, and every
        // round trip here widens the window each channel's module docs describe.
        if let Err(e) = crm.create_note_unchecked(&note).await {
            tracing::warn!(
                step,
                message_id,
                error = %e,
                "{} sent but its sent-marker could not be stored; a retry of this step would send it again",
                kind.noun
            );
        }
        Ok(receipt)
    }
}

/// The receipt saying why a message about a moment that has passed (`send_before`) is not
/// sent, or `None` while it still may be. Checked in the activity, because workflow code must
/// not read the clock.
pub fn skip_if_passed<R: Receipt>(
    send_before: Option<chrono::DateTime<chrono::Utc>>,
    step: &str,
) -> Option<R> {
    let limit = send_before.filter(|limit| chrono::Utc::now() >= *limit)?;
    tracing::info!(
        step,
        %limit,
        "not sending: the moment this {} was about has passed",
        R::KIND.noun
    );
    Some(R::skipped(
        step,
        format!("not sent: its moment ({limit}) had passed"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIND: Kind = Kind::new("sms", "text", "message_sid");

    #[test]
    fn keys_name_the_booking_the_kind_and_the_step() {
        assert_eq!(
            KIND.marker_key("bk", "tour-reminder-1h@2026-12-01T15:00:00Z"),
            "bk:sms:tour-reminder-1h@2026-12-01T15:00:00Z"
        );
    }

    #[test]
    fn a_marker_round_trips_its_id_and_only_its_own_field() {
        let body = KIND.marker_body("ask", "SM123");
        assert_eq!(body, "Booking engine sent text step=ask message_sid=SM123");
        assert_eq!(KIND.id_from_marker(&body), Some("SM123".into()));
        assert_eq!(KIND.id_from_marker("Booking engine sent text step=a"), None);
        assert_eq!(KIND.id_from_marker("x message_sid= y"), None);
        // A step that happens to contain the field's name is not the field.
        let tricky = KIND.marker_body("xmessage_sid=no", "SM9");
        assert_eq!(KIND.id_from_marker(&tricky), Some("SM9".into()));
    }
}
