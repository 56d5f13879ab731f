//! How a Calendly invitee becomes a booking: the one mapping both the webhook shim and
//! reconciliation use, so a booking started from a webhook and one started by reconciliation
//! (because the webhook never came) are the same booking, with the same id and request.
//!
//! - A booking is keyed by the invitee that started its reschedule chain: `cal-<uuid>`.
//! - The identity of an invitee's creation is `<invitee uri>#created` (the event id of the
//!   booking's request, and of the `reschedule` signal both halves of a reschedule send); its
//!   cancellation is `<invitee uri>#canceled`. Shim and reconciliation send the same ids, so
//!   whichever comes second is a duplicate the booking ignores.
//! - The property is the event type's UUID, the agent the first host's email.

use std::collections::BTreeMap;

use booking_proto::{
    domain::BookingId,
    v1::{BookingKind, BookingRequest, BookingSource, Lead, TourWindow},
};

use super::model::last_segment;

/// Prefix of every booking id that came from Calendly.
pub const BOOKING_ID_PREFIX: &str = "cal-";

/// The booking an invitee keys when it starts a chain.
pub fn booking_id_for_invitee(invitee_uuid: &str) -> Result<BookingId, String> {
    BookingId::parse(&format!("{BOOKING_ID_PREFIX}{invitee_uuid}"))
}

/// Event id of an invitee's creation.
pub fn created_event_id(invitee_uri: &str) -> String {
    format!("{invitee_uri}#created")
}

/// Event id of an invitee's cancellation.
pub fn canceled_event_id(invitee_uri: &str) -> String {
    format!("{invitee_uri}#canceled")
}

/// The property a scheduled event is about: its event type's UUID (`calendly` without one).
pub fn property_id(event_type_uri: Option<&str>) -> String {
    event_type_uri
        .map(last_segment)
        .filter(|s| !s.is_empty())
        .unwrap_or("calendly")
        .to_owned()
}

/// The agent of a scheduled event: its first host's email, else the host user's UUID
/// (`calendly-host` without either).
pub fn agent_id(first_host_email: Option<&str>, first_host_user_uri: Option<&str>) -> String {
    first_host_email
        .map(str::to_owned)
        .or_else(|| first_host_user_uri.map(|u| last_segment(u).to_owned()))
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "calendly-host".into())
}

/// What an invitee says about its booking, as the booking request needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct InviteeBooking<'a> {
    pub invitee_uri: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub phone: &'a str,
    pub timezone: &'a str,
    pub tour: TourWindow,
    pub property_id: &'a str,
    pub agent_id: &'a str,
    pub answers: &'a BTreeMap<String, String>,
}

impl InviteeBooking<'_> {
    /// The (not yet validated) request of booking `booking_id`, created by `event_id`.
    pub fn request(
        &self,
        booking_id: &BookingId,
        event_id: &str,
        request_id: &str,
    ) -> BookingRequest {
        BookingRequest {
            booking_id: booking_id.to_string(),
            event_id: event_id.to_owned(),
            kind: BookingKind::PrivateViewing as i32,
            source: BookingSource::Calendly as i32,
            source_ref: self.invitee_uri.to_owned(),
            lead: Some(Lead {
                email: self.email.to_owned(),
                name: self.name.to_owned(),
                phone: self.phone.to_owned(),
                timezone: self.timezone.to_owned(),
            }),
            property_id: self.property_id.to_owned(),
            agent_id: self.agent_id.to_owned(),
            tour: Some(self.tour),
            request_id: request_id.to_owned(),
            answers: self.answers.clone().into_iter().collect(),
            continued: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_defaults() {
        assert_eq!(booking_id_for_invitee("INV1").unwrap().as_str(), "cal-INV1");
        assert_eq!(created_event_id("u"), "u#created");
        assert_eq!(canceled_event_id("u"), "u#canceled");
        assert_eq!(property_id(Some("http://x/event_types/T1")), "T1");
        assert_eq!(property_id(None), "calendly");
        assert_eq!(agent_id(Some("a@x.test"), None), "a@x.test");
        assert_eq!(agent_id(None, Some("http://x/users/U1")), "U1");
        assert_eq!(agent_id(Some(" "), None), "calendly-host");
    }
}
