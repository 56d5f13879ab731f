//! The booking's side of the slot ledger. The driver reserves before the booking does
//! anything else and tells the machine the answer with one of these; from then on the machine
//! queues the ledger's release and move like any other action.

use booking_proto::domain::TourSlot;
use chrono::{DateTime, Utc};

use super::action::{Action, EmailKind};
use super::machine::{Refused, describe_tour};
use super::state::{BookingState, BookingStatus, RefusedEvent, Slot};
use crate::ledger::{ReserveOutcome, ReserveStatus, Window};

/// What the driver does next after the ledger answered the booking's reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterReserve {
    /// The answer is final; the machine has applied it.
    Settled,
    /// The ledger holds the slot; check the agent's real calendar before relying on it.
    CheckCalendar,
}

/// What the driver does after the agent's calendar was checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterCalendarCheck {
    /// Free: the booking holds its slot.
    Held,
    /// Busy: the booking is refused; give the ledger its slot back.
    ReleaseSlot,
}

impl BookingState {
    /// The ledger's answer to the booking's reservation. A private viewing's confirmed slot
    /// still needs the calendar guard (an event the ledger does not know about); an open house
    /// is one event everyone shares, so its seat is enough.
    pub fn slot_reserved(&mut self, outcome: &ReserveOutcome, now: DateTime<Utc>) -> AfterReserve {
        match outcome.status {
            ReserveStatus::Refused => {
                self.refuse_slot(&outcome.reason, outcome.alternatives.clone(), now);
                AfterReserve::Settled
            }
            ReserveStatus::Waitlisted => {
                self.wait_for_seat(outcome.waitlist_position, now);
                AfterReserve::Settled
            }
            ReserveStatus::Confirmed if self.kind == booking_proto::v1::BookingKind::OpenHouse => {
                self.hold_slot(now);
                AfterReserve::Settled
            }
            ReserveStatus::Confirmed => AfterReserve::CheckCalendar,
        }
    }

    /// The agent's calendar answered for the tour's window: `busy_until` holds the ends of the
    /// busy ranges overlapping it. Busy refuses the booking, offering the first window of the
    /// same length after the busy time.
    pub fn calendar_checked(
        &mut self,
        free: bool,
        busy_until: impl IntoIterator<Item = DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> AfterCalendarCheck {
        if free {
            self.hold_slot(now);
            return AfterCalendarCheck::Held;
        }
        let length = self.tour.end() - self.tour.start();
        let alternatives = busy_until
            .into_iter()
            .max()
            .map(|start| Window {
                start,
                end: start + length,
            })
            .into_iter()
            .collect();
        self.refuse_slot(
            "the agent's calendar is busy at that time",
            alternatives,
            now,
        );
        AfterCalendarCheck::ReleaseSlot
    }

    /// The ledger confirmed the slot: the booking goes on as started, and a later cancel or
    /// reschedule releases or moves the holding.
    pub fn hold_slot(&mut self, now: DateTime<Utc>) {
        self.slot = Slot::Held;
        self.record("ledger.reserve", now, "slot reserved in the ledger");
    }

    /// The ledger holds the slot, but the calendar's free/busy guard could not be checked (the
    /// calendar failed for good). The ledger is the source of truth, so the booking goes on;
    /// the step record tells an operator the second guard was skipped.
    pub fn hold_slot_unguarded(&mut self, why: &str, now: DateTime<Utc>) {
        self.hold_slot(now);
        self.record(
            "calendar.free-busy",
            now,
            format!("not checked ({why}); the ledger's reservation stands"),
        );
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

    /// The ledger refused a reschedule's new window (someone else holds it) and kept `from`.
    /// The booking goes back to `from`, so the agent is never double-booked: the calendar event
    /// follows it back, the reschedule notice that has not gone out is dropped, and the lead is
    /// told the new time was not available.
    pub(super) fn slot_move_refused(
        &mut self,
        tour: TourSlot,
        from: TourSlot,
        reason: &str,
        now: DateTime<Utc>,
    ) {
        self.remember_refusal(RefusedEvent {
            event_id: None,
            event: "reschedule".into(),
            reason: format!(
                "the new time {} is not available: {reason}",
                describe_tour(tour)
            ),
            at: now,
        });
        // A later reschedule already queued its own ledger move: that one decides where the
        // booking ends up, starting from what the ledger really holds.
        if let Some(item) = self
            .queue
            .find_not_running_mut(|action| matches!(action, Action::MoveSlot { .. }))
        {
            if let Action::MoveSlot { from: held, .. } = &mut item.action {
                *held = from;
            }
            return;
        }
        if self.tour != tour || self.status.is_closed() {
            return;
        }
        self.tour = from;
        let dropped = self.queue.drop_not_running(|action| {
            matches!(action, Action::MoveCalendarEvent { .. })
                || action.message_kind() == Some(EmailKind::RescheduleNotice)
        });
        self.note_dropped(&dropped, "the ledger refused the new time", now);
        let event_may_exist = self.calendar_event_may_exist();
        let pending_create = self
            .queue
            .find_not_running_mut(|action| matches!(action, Action::CreateCalendarEvent { .. }));
        match pending_create.map(|item| &mut item.action) {
            Some(Action::CreateCalendarEvent { tour: planned }) => *planned = from,
            // The event may already sit at the refused time (a move queued before this one
            // ran first); moving it to where it already is costs one idempotent call.
            _ if event_may_exist => {
                self.queue.push(Action::MoveCalendarEvent { tour: from });
            }
            _ => {}
        }
        let step = format!("reschedule-refused#{}", self.reschedules);
        self.queue_email(EmailKind::SlotUnavailable, &step);
        self.replan(now);
    }
}
