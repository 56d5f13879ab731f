//! The demo bookings: private viewings tomorrow afternoon, for leads at example.com, one with
//! an agent whose calendar is Google's and one with an agent on Microsoft 365.

use booking_proto::{
    domain::TourSlot,
    v1::{BookingKind, BookingRequest, BookingSource, Lead},
};
use chrono::{DateTime, Duration, DurationRound, Utc};

/// The agent of the first demo booking: on the sandbox's Google `primary` calendar.
pub const GOOGLE_AGENT: &str = "agent-alex";
/// The agent of the second demo booking: on a Microsoft 365 mailbox.
pub const MICROSOFT_AGENT: &str = "agent-morgan";

/// `BOOKINGS_AGENT_CALENDARS` of the demo worker, unless the user set their own.
pub fn demo_agent_calendars() -> String {
    format!("{GOOGLE_AGENT}=google:primary,{MICROSOFT_AGENT}=microsoft:morgan@contoso.test")
}

/// A demo booking request whose ids are unique per `now`, so each demo run makes a new booking.
pub fn demo_request(now: DateTime<Utc>) -> BookingRequest {
    demo_request_for(now, GOOGLE_AGENT)
}

/// The demo booking for `agent`, an hour after the first agent's so both read apart in the UI.
pub fn demo_request_for(now: DateTime<Utc>, agent: &str) -> BookingRequest {
    let stamp = format!(
        "{}{}",
        now.format("%Y%m%d%H%M%S"),
        if agent == GOOGLE_AGENT { "" } else { "-ms" }
    );
    let later = if agent == GOOGLE_AGENT { 0 } else { 1 };
    let start = (now + Duration::days(1) + Duration::hours(later))
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
            // A valid US mobile format, so the demo's one-hour reminder goes by text.
            phone: "+1 415 555 0132".into(),
            timezone: "Europe/London".into(),
        }),
        property_id: "prop-12-harbour-view".into(),
        agent_id: agent.into(),
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
        let now = Utc::now();
        let valid = ValidBooking::parse(demo_request(now)).unwrap();
        assert!(valid.tour.start() > now);
        let second = ValidBooking::parse(demo_request_for(now, MICROSOFT_AGENT)).unwrap();
        assert_ne!(second.booking_id, valid.booking_id);
        assert_eq!(second.agent_id.as_str(), MICROSOFT_AGENT);
        assert!(demo_agent_calendars().contains("=microsoft:"));
    }
}
