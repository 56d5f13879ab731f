//! The booking lifecycle as a pure state machine.
//!
//! A booking's behaviour is one function, [`BookingState::apply`]: given the state, an
//! [`Event`] and the current time, it either returns the new state and the actions it queued,
//! or refuses the event with a reason. It touches no Temporal type, performs no I/O, reads no
//! clock and draws no random number; `now` is always passed in (the workflow driver takes it
//! from the workflow clock). That is what makes it testable at random with property tests,
//! and replay-safe inside a workflow.
//!
//! # How the driver uses it
//!
//! - Start with [`BookingState::start`], which also validates the [`FollowUpPolicy`].
//! - Side effects: while [`BookingState::next_action`] offers an action, call
//!   [`BookingState::mark_in_flight`], run it as an activity, and feed the result back as
//!   [`Event::ActionSucceeded`] or (once Temporal's retries are exhausted)
//!   [`Event::ActionFailed`]. Actions run one at a time, in queue order; ordering is how
//!   "delete the calendar event before telling the CRM and the lead" is guaranteed.
//! - Time: arm one timer for [`BookingState::next_due`] and feed [`Event::Due`] when it fires.
//!   The plan lives in the state, so cancelling or rescheduling just replaces it; no timer
//!   handle is ever stored. After every applied event, re-read `next_due`.
//! - Signals become events carrying their [`EventId`](booking_proto::domain::EventId); a seen
//!   id is an [`Outcome::Duplicate`]. Signals keep applying while an action runs or is
//!   blocked.
//! - The workflow completes when [`BookingState::is_finished`].
//! - The `status` query answers [`snapshot`].
//!
//! # Failure
//!
//! An action that failed for good stays at the head of the queue, blocked, and raises
//! `needs_attention` until an operator retries ([`Event::OperatorRetry`]) or skips
//! ([`Event::OperatorSkip`]) it. Nothing behind it runs meanwhile: a cancellation email must
//! not overtake a calendar delete that is stuck. The one exception is an action the booking
//! has moved past while it ran (an email in flight when the lead cancelled): it is dropped on
//! failure, since offering it for retry would invite exactly the email that must not go out.

mod action;
mod domain_serde;
mod event;
mod machine;
mod not_started;
mod plan;
mod policy;
mod queue;
mod reports;
mod signals;
mod slot;
mod sms;
mod snapshot;
mod state;

#[cfg(test)]
mod tests;

pub use action::{
    Action, ActionFailure, ActionId, ActionOutcome, CrmStage, CrmTaskKind, EmailKind,
};
pub use event::{Event, Refusal};
pub use machine::{Outcome, Transition};
pub use not_started::PAST_START_ALLOWANCE;
pub use plan::{FollowUpKind, PlannedStep};
pub use policy::{
    CancellationPolicy, ChannelChoice, CompletionPolicy, ConfirmedPolicy, FollowUpPolicy,
    LedgerEmailPolicy, LocalTime, PendingPolicy, PolicyError, PolicyErrors, PreparationPolicy,
    QuestionnairePolicy, QuietHours, ReschedulePolicy, SmsPolicy, Span,
};
pub use queue::{Progress, QueuedAction};
pub use slot::{AfterCalendarCheck, AfterReserve};
pub use sms::{
    Channel, DELIVERIES_KEPT, OPTED_OUT, SmsDelivery, SmsDeliveryStatus, SmsOff, SmsReport,
    SmsState, quiet_until,
};
pub use snapshot::snapshot;
pub use state::{
    BookingState, BookingStatus, ExternalIds, Failure, Lead, REFUSALS_KEPT, RefusedEvent, Slot,
    StepRecord,
};
