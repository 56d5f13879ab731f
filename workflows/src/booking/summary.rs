//! What the Temporal UI's workflow list shows for a booking before its first task runs: a static
//! summary ("Tour 14:00 UTC Fri 5 Dec, agent-3, jane@…") and details, set when it is started.
//!
//! The summary stays short and names the lead by the local part of the email only: the list is
//! read by everyone with access to the namespace, the full address is one click away in the
//! search attributes.

use booking_proto::{domain::ValidBooking, v1::BookingKind};

/// The one-line summary of a booking's start.
pub fn start_summary(booking: &ValidBooking) -> String {
    let kind = match booking.kind {
        BookingKind::OpenHouse => "Open house",
        _ => "Tour",
    };
    let local = booking
        .email
        .as_str()
        .split_once('@')
        .map_or(booking.email.as_str(), |(local, _)| local);
    format!(
        "{kind} {}, {}, {local}@…",
        booking.tour.start().format("%H:%M UTC %a %-d %b"),
        booking.agent_id.as_str(),
    )
}

/// The details shown on the booking's page (markdown).
pub fn start_details(booking: &ValidBooking) -> String {
    let lead = booking.request.lead.as_ref();
    let source = booking.request.source().as_str_name();
    format!(
        "**Booking** `{}`\n\n- tour: {} to {} (UTC)\n- property: {}\n- agent: {}\n- lead: {} <{}>\n- source: {}",
        booking.booking_id.as_str(),
        booking.tour.start().format("%Y-%m-%d %H:%M"),
        booking.tour.end().format("%H:%M"),
        booking.property_id.as_str(),
        booking.agent_id.as_str(),
        lead.map(|l| l.name.as_str()).unwrap_or_default(),
        booking.email.as_str(),
        source.trim_start_matches("BOOKING_SOURCE_").to_lowercase(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use booking_proto::{
        domain::TourSlot,
        v1::{BookingRequest, BookingSource, Lead},
    };
    use chrono::{TimeZone, Utc};

    fn booking() -> ValidBooking {
        let start = Utc.with_ymd_and_hms(2026, 12, 4, 14, 0, 0).unwrap();
        let tour = TourSlot::new(start, start + chrono::Duration::minutes(30)).unwrap();
        ValidBooking::parse(BookingRequest {
            booking_id: "bk-1".into(),
            event_id: "bk-1-created".into(),
            kind: BookingKind::PrivateViewing as i32,
            source: BookingSource::Form as i32,
            lead: Some(Lead {
                email: "Jane.Doe@Example.com".into(),
                name: "Jane Doe".into(),
                ..Default::default()
            }),
            property_id: "prop-9".into(),
            agent_id: "agent-3".into(),
            tour: Some(tour.to_proto()),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn the_summary_reads_as_the_tour_and_hides_the_email_domain() {
        assert_eq!(
            start_summary(&booking()),
            "Tour 14:00 UTC Fri 4 Dec, agent-3, jane.doe@…"
        );
        let details = start_details(&booking());
        assert!(details.contains("`bk-1`"), "{details}");
        assert!(details.contains("2026-12-04 14:00 to 14:30"), "{details}");
        assert!(
            details.contains("Jane Doe <jane.doe@example.com>"),
            "{details}"
        );
        assert!(details.contains("source: form"), "{details}");
    }
}
