//! What can happen to a booking: signals from the outside world (each with the event id its
//! sender gave it) and the driver's own reports about timers and actions.

use std::fmt;

use booking_proto::domain::{EventId, TourSlot};

use super::action::{ActionFailure, ActionId, ActionOutcome};
use super::sms::SmsReport;

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The lead confirmed the tour.
    Confirm {
        event_id: EventId,
    },
    /// The tour moves to a new window; `source_ref` is the source system's new reference (a
    /// Calendly reschedule creates a new invitee), empty when it did not change.
    Reschedule {
        event_id: EventId,
        tour: TourSlot,
        source_ref: String,
    },
    Cancel {
        event_id: EventId,
        reason: String,
        /// "lead", "agent", "operator" or "scheduler".
        cancelled_by: String,
    },
    QuestionnaireVisited {
        event_id: EventId,
    },
    TourComplete {
        event_id: EventId,
    },
    /// Run the blocked action again.
    OperatorRetry {
        event_id: EventId,
    },
    /// Drop the blocked action and carry on with the rest of the queue.
    OperatorSkip {
        event_id: EventId,
    },
    /// Twilio's delivery report for one of the booking's text messages. Reports come twice
    /// and out of order; the furthest status of each message is kept.
    SmsStatus {
        event_id: EventId,
        report: SmsReport,
    },
    /// The lead texted STOP: no more text messages, later steps go by email.
    SmsOptOut {
        event_id: EventId,
        reason: String,
    },
    /// The slot ledger gave a waitlisted booking its seat.
    SeatGranted,
    /// The follow-up timer fired: every planned step due by `now` moves to the action queue.
    Due,
    ActionSucceeded {
        action_id: ActionId,
        outcome: ActionOutcome,
    },
    /// Temporal's retry policy gave up on the action.
    ActionFailed {
        action_id: ActionId,
        failure: ActionFailure,
    },
}

impl Event {
    /// The delivery identity of a signal; internal events have none and are never de-duplicated,
    /// since the driver produces each exactly once.
    pub fn event_id(&self) -> Option<&EventId> {
        match self {
            Self::Confirm { event_id }
            | Self::Reschedule { event_id, .. }
            | Self::Cancel { event_id, .. }
            | Self::QuestionnaireVisited { event_id }
            | Self::TourComplete { event_id }
            | Self::OperatorRetry { event_id }
            | Self::OperatorSkip { event_id }
            | Self::SmsStatus { event_id, .. }
            | Self::SmsOptOut { event_id, .. } => Some(event_id),
            Self::SeatGranted
            | Self::Due
            | Self::ActionSucceeded { .. }
            | Self::ActionFailed { .. } => None,
        }
    }

    /// The event's name as operators know it (signal names match the workflow's signals).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Confirm { .. } => "confirm",
            Self::Reschedule { .. } => "reschedule",
            Self::Cancel { .. } => "cancel",
            Self::QuestionnaireVisited { .. } => "questionnaire_visited",
            Self::TourComplete { .. } => "tour_complete",
            Self::OperatorRetry { .. } => "operator_retry",
            Self::OperatorSkip { .. } => "operator_skip",
            Self::SmsStatus { .. } => "sms_status",
            Self::SmsOptOut { .. } => "sms_opt_out",
            Self::SeatGranted => "seat_granted",
            Self::Due => "due",
            Self::ActionSucceeded { .. } => "action_succeeded",
            Self::ActionFailed { .. } => "action_failed",
        }
    }
}

/// An event the booking would not apply, and why, in words an operator can act on. A refused
/// event changes nothing but the booking's list of refused events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub event_id: Option<EventId>,
    pub event: &'static str,
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.event_id {
            Some(id) => write!(f, "{} ({id}) refused: {}", self.event, self.reason),
            None => write!(f, "{} refused: {}", self.event, self.reason),
        }
    }
}

impl std::error::Error for Refusal {}
