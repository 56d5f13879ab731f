//! The booking's side of the slot ledger. The driver reserves before the booking does
//! anything else and tells the machine the answer with one of these; from then on the machine
//! queues the ledger's release and move like any other action.

use chrono::{DateTime, Utc};

use super::action::{Action, EmailKind};
use super::machine::Refused;
use super::state::{BookingState, BookingStatus, Slot};
use crate::ledger::Window;

impl BookingState {
    /// The ledger confirmed the slot: the booking goes on as started, and a later cancel or
    /// reschedule releases or moves the holding.
    pub fn hold_slot(&mut self, now: DateTime<Utc>) {
        self.slot = Slot::Held;
        self.record("ledger.reserve", now, "slot reserved in the ledger");
    }

    /// The open house is full: nothing is created and nobody is chased until the ledger grants
    /// a seat; the lead is told they are on the waitlist.
    pub fn wait_for_seat(&mut self, position: u32, now: DateTime<Utc>) {
        // The start's actions were never meant to run on this answer; nothing has run yet.
        let _ = self.queue.drop_not_running(|_| true);
        self.slot = Slot::Waitlisted { position };
        self.record(
            "ledger.reserve",
            now,
            format!("open house full: waitlisted at position {position}"),
        );
        self.queue_email(EmailKind::Waitlisted, "waitlisted");
        self.replan(now);
    }

    /// The slot is taken: the booking is refused (it ends cancelled, with the reason in its
    /// snapshot), and the lead gets one email offering the alternatives.
    pub fn refuse_slot(&mut self, reason: &str, alternatives: Vec<Window>, now: DateTime<Utc>) {
        // The start's actions were never meant to run on this answer; nothing has run yet.
        let _ = self.queue.drop_not_running(|_| true);
        self.status = BookingStatus::Cancelled;
        self.slot = Slot::Refused {
            reason: reason.to_owned(),
            alternatives,
        };
        self.record("ledger.reserve", now, format!("refused: {reason}"));
        self.queue_email(EmailKind::SlotUnavailable, "slot-unavailable");
        self.replan(now);
    }

    /// A seat freed and the ledger gave it to this booking: it starts as a new booking would.
    pub(super) fn grant_seat(&mut self, now: DateTime<Utc>) -> Refused {
        if !matches!(self.slot, Slot::Waitlisted { .. }) || self.status.is_closed() {
            return Err("the booking is not waiting for a seat".into());
        }
        self.slot = Slot::Held;
        self.record(
            "seat_granted",
            now,
            "a seat freed up and the booking got it",
        );
        self.queue.push(Action::UpsertCrmContact);
        self.queue
            .push(Action::CreateCalendarEvent { tour: self.tour });
        self.queue_email(EmailKind::SeatGranted, "seat-granted");
        self.queue_email(EmailKind::AskToConfirm, "ask-to-confirm");
        self.replan(now);
        Ok(())
    }
}
