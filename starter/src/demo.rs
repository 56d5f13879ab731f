//! The demo booking: a private viewing tomorrow afternoon, for a lead at example.com.

use booking_proto::{
    domain::TourSlot,
    v1::{BookingKind, BookingRequest, BookingSource, Lead},
};
use chrono::{DateTime, Duration, DurationRound, Utc};

/// A demo booking request whose ids are unique per `now`, so each demo run makes a new booking.
pub fn demo_request(now: DateTime<Utc>) -> BookingRequest {
    let stamp = now.format("%Y%m%d%H%M%S").to_string();
    let start = (now + Duration::days(1))
        .duration_trunc(Duration::hours(1))
        .expect("an hour divides a day");
    let tour =
        TourSlot::new(start, start + Duration::minutes(30)).expect("30 minutes is a valid tour");
    BookingRequest {
        booking_id: format!("demo-{stamp}"),
        event_id: format!("demo-{stamp}-created"),
        kind: BookingKind::PrivateViewing as i32,
        source: BookingSource::Operator as i32,
        source_ref: String::new(),
        lead: Some(Lead {
            email: format!("demo+{stamp}@example.com"),
            name: "Dana Demo".into(),
            phone: "+1 555 0100".into(),
            timezone: "Europe/London".into(),
        }),
        property_id: "prop-12-harbour-view".into(),
        agent_id: "agent-alex".into(),
        tour: Some(tour.to_proto()),
        request_id: String::new(),
        answers: Default::default(),
        continued: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use booking_proto::domain::ValidBooking;

    #[test]
    fn the_demo_request_is_valid() {
        let valid = ValidBooking::parse(demo_request(Utc::now())).unwrap();
        assert!(valid.tour.start() > Utc::now());
    }
}
