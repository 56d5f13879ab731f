//! Bookings that end before they begin: a cancel that reached the engine before (or together
//! with) the booking it cancels, and a tour whose start is already past. Either way nothing
//! has been done yet, so nothing is done at all: no slot, no calendar event, no CRM record, no
//! email. The reason stays in the snapshot for operators (`bookings show`).

use chrono::{DateTime, Duration, Utc};

use super::event::Event;
use super::machine::describe_tour;
use super::state::{BookingState, BookingStatus, Slot};

/// How long ago a tour may have started and still be booked: the clocks of a scheduler, the
/// shim and Temporal disagree by seconds, and a webhook retried for a minute or two is still
/// the booking the lead just made.
pub const PAST_START_ALLOWANCE: Duration = Duration::minutes(5);

impl BookingState {
    /// Why this new booking must not start at `now`, if it must not: its tour started more
    /// than [`PAST_START_ALLOWANCE`] ago.
    pub fn past_start(&self, now: DateTime<Utc>) -> Option<String> {
        (self.tour.start() < now - PAST_START_ALLOWANCE).then(|| {
            format!(
                "the tour ({}) had already started when the booking reached the engine",
                describe_tour(self.tour)
            )
        })
    }

    /// Ends a booking that was just started, before any of its actions ran, as refused.
    pub fn refuse_at_start(&mut self, reason: &str, now: DateTime<Utc>) {
        self.end_before_start(now);
        self.slot = Slot::Refused {
            reason: reason.to_owned(),
            alternatives: Vec::new(),
        };
        self.record("refused", now, reason);
    }

    /// Ends a booking that was just started, before any of its actions ran, because `cancel`
    /// was already waiting for it: the cancel wins, and a create arriving after it finds a
    /// closed booking and changes nothing. Returns `false` (and changes nothing) for any
    /// other event.
    pub fn cancel_before_start(&mut self, cancel: &Event, now: DateTime<Utc>) -> bool {
        let Event::Cancel {
            event_id,
            reason,
            cancelled_by,
        } = cancel
        else {
            return false;
        };
        self.end_before_start(now);
        self.seen_event_ids.insert(event_id.as_str().to_owned());
        let by = if cancelled_by.is_empty() {
            "unknown"
        } else {
            cancelled_by
        };
        self.record(
            "cancelled before created",
            now,
            format!(
                "cancelled by {by} ({reason}) before the booking was created: nothing was \
                 reserved, created or sent"
            ),
        );
        true
    }

    fn end_before_start(&mut self, now: DateTime<Utc>) {
        let _ = self.queue.drop_not_running(|_| true);
        self.status = BookingStatus::Cancelled;
        self.replan(now);
    }
}
