//! What a text message says. Texts are short and carry no links: each points at the email
//! that has the details, and asks for the one-letter replies the shim understands (C to
//! confirm, X to cancel).
//!
//! Rendered in workflow code from the booking's state alone (the tour time in the lead's zone
//! comes from the IANA database compiled in), so a retried activity sends the same words.

use crate::lifecycle::{BookingState, EmailKind};

/// The body of the text for `kind`.
pub fn body(booking: &BookingState, kind: EmailKind) -> String {
    let property = booking.property_id().as_str();
    let when = booking
        .tour()
        .start()
        .with_timezone(&booking.lead_zone())
        .format("%a %-d %b %H:%M %Z");
    let text = match kind {
        EmailKind::PendingReminder | EmailKind::AskToConfirm => format!(
            "Your tour of {property} on {when} is not confirmed yet. Reply C to confirm or X to cancel."
        ),
        EmailKind::TourReminder => {
            format!("Reminder: your tour of {property} is on {when}. Reply X to cancel.")
        }
        EmailKind::QuestionnaireReminder => format!(
            "Before your tour of {property} on {when}, please fill in the short questionnaire we emailed you."
        ),
        EmailKind::TourPreparation => format!(
            "Your tour of {property} is on {when}. Directions and parking are in our email."
        ),
        EmailKind::ReviewRequest => {
            format!("Thanks for touring {property}! Your review helps: see the email we sent.")
        }
        EmailKind::Confirmation
        | EmailKind::RescheduleNotice
        | EmailKind::Cancellation
        | EmailKind::Waitlisted
        | EmailKind::SeatGranted
        | EmailKind::SlotUnavailable => {
            format!("News about your tour of {property} on {when}: see the email we sent.")
        }
    };
    format!("{text} Reply STOP to opt out.")
}
