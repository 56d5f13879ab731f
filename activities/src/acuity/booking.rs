//! How an Acuity appointment maps to a booking. The booking is `acuity-<id>` for the
//! appointment's whole life (Acuity keeps the id across reschedules); the event ids make every
//! delivery and every repair idempotent (see the shim's `acuity` module).

use booking_proto::{
    domain::{FreeText, caps},
    time::to_timestamp,
    v1::{BookingKind, BookingRequest, BookingSource, Lead, TourWindow},
};
use chrono::{DateTime, Utc};

use super::model::Appointment;

pub fn booking_id(appointment_id: u64) -> String {
    format!("acuity-{appointment_id}")
}

/// The creation's event id (the request's).
pub fn scheduled_event_id(id: u64) -> String {
    format!("acuity:{id}:scheduled")
}

/// A move to `start`: a move to where the booking already is changes nothing.
pub fn moved_event_id(id: u64, start: DateTime<Utc>) -> String {
    format!("acuity:{id}:at:{}", start.timestamp())
}

pub fn canceled_event_id(id: u64) -> String {
    format!("acuity:{id}:canceled")
}

pub fn source_ref(id: u64) -> String {
    format!("acuity:appointment:{id}")
}

/// Each Acuity calendar is an agent (map it to a calendar with `BOOKINGS_AGENT_CALENDARS`).
pub fn agent_id(a: &Appointment) -> String {
    format!("acuity-calendar-{}", a.calendar_id)
}

/// Each appointment type is a property (a listing's tour type).
pub fn property_id(a: &Appointment) -> String {
    format!("acuity-type-{}", a.appointment_type_id)
}

pub fn tour(a: &Appointment) -> TourWindow {
    TourWindow {
        start: Some(to_timestamp(a.start())),
        end: Some(to_timestamp(a.end())),
    }
}

/// The booking the appointment becomes (unchecked: callers pass it through
/// `ValidBooking::parse` like every entry point).
pub fn request(a: &Appointment, event_id: &str, request_id: &str) -> BookingRequest {
    let answers = a
        .forms
        .iter()
        .flat_map(|f| f.values.iter())
        .filter(|v| !v.name.trim().is_empty() && !v.value.trim().is_empty())
        .take(caps::ANSWERS_MAX)
        .map(|v| {
            (
                FreeText::fit(&v.name, caps::ANSWER_QUESTION),
                FreeText::fit(&v.value, caps::ANSWER),
            )
        })
        .collect();
    BookingRequest {
        booking_id: booking_id(a.id),
        event_id: event_id.to_owned(),
        kind: BookingKind::PrivateViewing as i32,
        source: BookingSource::Acuity as i32,
        source_ref: source_ref(a.id),
        lead: Some(Lead {
            email: a.email.trim().to_owned(),
            name: FreeText::fit(&a.lead_name(), caps::LEAD_NAME),
            phone: a.phone.trim().to_owned(),
            timezone: a.timezone.trim().to_owned(),
        }),
        property_id: property_id(a),
        agent_id: agent_id(a),
        tour: Some(tour(a)),
        request_id: FreeText::fit(request_id, caps::REQUEST_ID),
        answers,
        continued: None,
    }
}

#[cfg(test)]
mod tests {
    use booking_proto::domain::{EventId, ValidBooking};

    use super::*;

    fn appointment() -> Appointment {
        Appointment::parse(&crate::acuity::model::tests_support::real()).unwrap()
    }

    #[test]
    fn an_appointment_is_a_valid_booking_with_its_answers() {
        let a = appointment();
        let valid = ValidBooking::parse(request(&a, &scheduled_event_id(a.id), "req-1")).unwrap();
        assert_eq!(valid.booking_id.as_str(), "acuity-1001");
        assert_eq!(valid.agent_id.as_str(), "acuity-calendar-4");
        assert_eq!(valid.property_id.as_str(), "acuity-type-7");
        assert_eq!(
            valid.request.answers.get("Budget?").map(String::as_str),
            Some("500k")
        );
        assert_eq!(valid.request.source, BookingSource::Acuity as i32);
    }

    #[test]
    fn event_ids_are_valid_and_distinct() {
        let a = appointment();
        let ids = [
            scheduled_event_id(a.id),
            moved_event_id(a.id, a.start()),
            canceled_event_id(a.id),
        ];
        for id in &ids {
            assert!(EventId::parse(id).is_ok(), "{id}");
        }
        assert_ne!(ids[0], ids[1]);
        assert_ne!(
            moved_event_id(a.id, a.start()),
            moved_event_id(a.id, a.end())
        );
    }
}
