//! What became of a scheduler or form delivery the shim handed off: named in its answer
//! (`outcome`) and its log line, so an operator reads the same word in both.

use crate::handoff::Started;

/// Every source reaches `Started`, `Rescheduled`, `Cancelled` and `AlreadyClosed`; only
/// Calendly's reschedule chains reach `Superseded` and `AwaitingCreate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Started,
    /// Moved to the new time (or already there).
    Rescheduled,
    Cancelled,
    /// A redelivery of something whose booking closed long ago.
    AlreadyClosed,
    /// An old reschedule half whose new invitee has itself moved on or been cancelled.
    Superseded,
    /// A reschedule's cancel half without its successor's URI: the create half will move it.
    AwaitingCreate,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Started => "started",
            Outcome::Rescheduled => "rescheduled",
            Outcome::Cancelled => "cancelled",
            Outcome::AlreadyClosed => "already_closed",
            Outcome::Superseded => "superseded",
            Outcome::AwaitingCreate => "awaiting_create",
        }
    }

    /// `then`, unless the signal-with-start found the booking closed long ago.
    pub fn unless_closed(started: Started, then: Outcome) -> Outcome {
        match started {
            Started::Running => then,
            Started::AlreadyClosed => Outcome::AlreadyClosed,
        }
    }
}
