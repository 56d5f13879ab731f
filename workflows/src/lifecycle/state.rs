//! Everything a booking remembers. It is plain data (serde), so the driver keeps it in a
//! workflow field and can carry it through continue-as-new; it holds no timer or activity
//! handles, only the plan of what is due when and the queue of what to do next.

use std::collections::{BTreeMap, BTreeSet};

use booking_proto::domain::{AgentId, BookingId, Email, PropertyId, TourSlot};
use booking_proto::v1;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::action::{Action, ActionId};
use super::domain_serde;
use super::plan::PlannedStep;
use super::policy::FollowUpPolicy;
use super::queue::{ActionQueue, Progress, QueuedAction};
use super::sms::SmsState;

/// Refusals a booking keeps for its snapshot; the newest win.
pub const REFUSALS_KEPT: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    PendingConfirmation,
    Confirmed,
    Cancelled,
    TourComplete,
}

impl BookingStatus {
    /// No signal can move the booking on from here; only its remaining actions and planned
    /// steps are left to run out.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Cancelled | Self::TourComplete)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    #[serde(with = "domain_serde::email")]
    pub email: Email,
    pub name: String,
    pub phone: String,
    /// IANA zone emails render local times in; the tour itself is always UTC.
    pub timezone: String,
}

/// The booking's identity in the systems it touches.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalIds {
    pub calendar_event_id: Option<String>,
    /// Kept apart from the id so operators can still find a removed event, which Google
    /// Calendar keeps listable with `status: cancelled`.
    pub calendar_event_deleted: bool,
    pub crm_contact_id: Option<String>,
    pub source_ref: String,
}

impl ExternalIds {
    pub fn live_calendar_event(&self) -> Option<&str> {
        self.calendar_event_id
            .as_deref()
            .filter(|_| !self.calendar_event_deleted)
    }
}

/// One line of the booking's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub name: String,
    pub at: DateTime<Utc>,
    pub detail: String,
}

/// The last action that failed for good.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub action_id: ActionId,
    pub step: String,
    pub error_type: String,
    pub message: String,
    pub at: DateTime<Utc>,
    pub attempts: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedEvent {
    /// Absent for the driver's own events, whose refusal points at a driver bug.
    pub event_id: Option<String>,
    pub event: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BookingState {
    #[serde(with = "domain_serde::booking_id")]
    pub(super) booking_id: BookingId,
    pub(super) kind: v1::BookingKind,
    pub(super) source: v1::BookingSource,
    pub(super) lead: Lead,
    #[serde(with = "domain_serde::property_id")]
    pub(super) property_id: PropertyId,
    #[serde(with = "domain_serde::agent_id")]
    pub(super) agent_id: AgentId,
    #[serde(with = "domain_serde::tour_slot")]
    pub(super) tour: TourSlot,
    pub(super) request_id: String,
    pub(super) answers: BTreeMap<String, String>,
    pub(super) created_at: DateTime<Utc>,
    pub(super) status: BookingStatus,
    pub(super) questionnaire_visited: bool,
    /// Numbers the reschedule notices, whose step keys must differ.
    pub(super) reschedules: u32,
    pub(super) tour_completed_at: Option<DateTime<Utc>>,
    pub(super) external_ids: ExternalIds,
    pub(super) seen_event_ids: BTreeSet<String>,
    pub(super) steps_done: Vec<StepRecord>,
    /// Sorted by due time; the driver arms one timer for the first.
    pub(super) plan: Vec<PlannedStep>,
    /// Keys of planned steps already sent or deliberately skipped: re-planning after a signal
    /// must not bring them back.
    pub(super) settled_steps: BTreeSet<String>,
    pub(super) queue: ActionQueue,
    pub(super) needs_attention: bool,
    pub(super) last_failure: Option<Failure>,
    pub(super) refused_events: Vec<RefusedEvent>,
    /// Fixed at start, so a policy change for new bookings never reshuffles running ones.
    pub(super) policy: FollowUpPolicy,
    /// Where the booking stands in its slot ledger. Bookings from before the ledger (and their
    /// replays) stay `Untracked` and never queue a ledger action.
    #[serde(default)]
    pub(super) slot: Slot,
    /// Bookings from before text messages have none and go by email.
    #[serde(default)]
    pub(super) sms: SmsState,
}

/// The booking's holding in its slot ledger.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Slot {
    #[default]
    Untracked,
    Held,
    /// Open house full; the ledger signals `seat_granted` when a seat frees.
    Waitlisted {
        position: u32,
    },
    /// The slot was taken (by the ledger or on the real calendar); the booking was refused.
    Refused {
        reason: String,
        alternatives: Vec<crate::ledger::Window>,
    },
    Released,
}

impl BookingState {
    pub fn booking_id(&self) -> &BookingId {
        &self.booking_id
    }

    pub fn status(&self) -> BookingStatus {
        self.status
    }

    pub fn slot(&self) -> &Slot {
        &self.slot
    }

    pub fn kind(&self) -> v1::BookingKind {
        self.kind
    }

    pub fn source(&self) -> v1::BookingSource {
        self.source
    }

    pub fn lead(&self) -> &Lead {
        &self.lead
    }

    pub fn property_id(&self) -> &PropertyId {
        &self.property_id
    }

    pub fn agent_id(&self) -> &AgentId {
        &self.agent_id
    }

    pub fn tour(&self) -> TourSlot {
        self.tour
    }

    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    pub fn answers(&self) -> &BTreeMap<String, String> {
        &self.answers
    }

    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    pub fn tour_completed_at(&self) -> Option<DateTime<Utc>> {
        self.tour_completed_at
    }

    pub fn questionnaire_visited(&self) -> bool {
        self.questionnaire_visited
    }

    pub fn external_ids(&self) -> &ExternalIds {
        &self.external_ids
    }

    pub fn has_seen(&self, event_id: &str) -> bool {
        self.seen_event_ids.contains(event_id)
    }

    pub fn events_seen(&self) -> usize {
        self.seen_event_ids.len()
    }

    pub fn steps_done(&self) -> &[StepRecord] {
        &self.steps_done
    }

    pub fn plan(&self) -> &[PlannedStep] {
        &self.plan
    }

    pub fn queued_actions(&self) -> impl Iterator<Item = &QueuedAction> {
        self.queue.iter()
    }

    pub fn needs_attention(&self) -> bool {
        self.needs_attention
    }

    pub fn last_failure(&self) -> Option<&Failure> {
        self.last_failure.as_ref()
    }

    /// The latest refusals, oldest first (at most [`REFUSALS_KEPT`]).
    pub fn refused_events(&self) -> &[RefusedEvent] {
        &self.refused_events
    }

    /// Records a refusal, forgetting the oldest past [`REFUSALS_KEPT`]: the state is carried
    /// whole through continue-as-new and must stay far below Temporal's payload limit however
    /// many refused events a sender throws at the booking.
    pub(super) fn remember_refusal(&mut self, refused: RefusedEvent) {
        self.refused_events.push(refused);
        if self.refused_events.len() > REFUSALS_KEPT {
            let excess = self.refused_events.len() - REFUSALS_KEPT;
            self.refused_events.drain(..excess);
        }
    }

    pub fn policy(&self) -> &FollowUpPolicy {
        &self.policy
    }

    /// The action the driver should run now: the head of the queue, unless it is already
    /// running or blocked on an operator.
    pub fn next_action(&self) -> Option<(ActionId, Action)> {
        self.queue
            .head()
            .filter(|head| head.progress == Progress::Waiting)
            .map(|head| (head.id, head.action.clone()))
    }

    /// Records that the driver started `id`; false (and no change) unless `id` is what
    /// [`BookingState::next_action`] offers. While it runs, signals still apply, and whatever
    /// they need done afterwards is queued behind it.
    pub fn mark_in_flight(&mut self, id: ActionId) -> bool {
        match self.queue.head_mut() {
            Some(head) if head.id == id && head.progress == Progress::Waiting => {
                head.progress = Progress::InFlight;
                true
            }
            _ => false,
        }
    }

    /// When the driver's single follow-up timer should fire, and what it is for (for the
    /// timer's summary in the Temporal UI).
    pub fn next_due(&self) -> Option<(DateTime<Utc>, String)> {
        self.plan.first().map(|step| (step.due, step.summary()))
    }

    /// The workflow may complete: the booking is cancelled or its tour is done, and nothing is
    /// queued, running, blocked or planned any more.
    pub fn is_finished(&self) -> bool {
        self.status.is_closed() && self.queue.is_empty() && self.plan.is_empty()
    }

    pub(super) fn record(
        &mut self,
        name: impl Into<String>,
        at: DateTime<Utc>,
        detail: impl Into<String>,
    ) {
        self.steps_done.push(StepRecord {
            name: name.into(),
            at,
            detail: detail.into(),
        });
    }
}
