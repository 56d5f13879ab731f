//! The transition function: `(state, event, now) -> (state, actions)` or a refusal.
//!
//! Every transition is computed on a copy and committed only when it succeeds, so a refused
//! event can never leave a booking half-changed.

use std::collections::{BTreeMap, BTreeSet};

use booking_proto::domain::{TourSlot, ValidBooking};
use booking_proto::v1;
use chrono::{DateTime, SecondsFormat, Utc};

use super::action::{Action, ActionId, EmailKind};
use super::event::{Event, Refusal};
use super::policy::{FollowUpPolicy, PolicyErrors};
use super::queue::ActionQueue;
use super::sms::SmsState;
use super::state::{BookingState, BookingStatus, ExternalIds, Lead, RefusedEvent, Slot};

/// What an accepted event did.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Applied(Transition),
    /// The event id was seen before; nothing changed.
    Duplicate,
}

/// The commands of a transition: the actions it added to and removed from the queue. The
/// driver does not need them to make progress (it asks [`BookingState::next_action`]); they are
/// what it logs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Transition {
    pub queued: Vec<(ActionId, Action)>,
    pub dropped: Vec<(ActionId, Action)>,
}

impl Transition {
    fn between(before: &ActionQueue, after: &ActionQueue) -> Self {
        let pairs = |from: &ActionQueue, missing_in: &ActionQueue| {
            from.iter()
                .filter(|item| !missing_in.contains(item.id))
                .map(|item| (item.id, item.action.clone()))
                .collect()
        };
        Self {
            queued: pairs(after, before),
            dropped: pairs(before, after),
        }
    }
}

/// Why a transition was refused, before it is dressed up as a [`Refusal`].
pub(super) type Refused = Result<(), String>;

impl BookingState {
    /// A new booking: upsert the CRM contact, create the calendar event, ask the lead to
    /// confirm, and plan the pending reminders and the call task.
    pub fn start(
        booking: ValidBooking,
        now: DateTime<Utc>,
        policy: FollowUpPolicy,
    ) -> Result<(Self, Transition), PolicyErrors> {
        policy.validate()?;
        let ValidBooking {
            booking_id,
            event_id,
            kind,
            email,
            tour,
            agent_id,
            property_id,
            phone,
            warnings,
            request,
        } = booking;
        let lead = request.lead.unwrap_or_default();
        let mut state = Self {
            booking_id,
            kind,
            source: v1::BookingSource::try_from(request.source)
                .unwrap_or(v1::BookingSource::Unspecified),
            lead: Lead {
                email,
                name: lead.name,
                phone: lead.phone,
                timezone: lead.timezone,
            },
            property_id,
            agent_id,
            tour,
            request_id: request.request_id,
            answers: request.answers.into_iter().collect::<BTreeMap<_, _>>(),
            created_at: now,
            status: BookingStatus::PendingConfirmation,
            questionnaire_visited: false,
            reschedules: 0,
            tour_completed_at: None,
            external_ids: ExternalIds {
                source_ref: request.source_ref,
                ..ExternalIds::default()
            },
            seen_event_ids: BTreeSet::from([event_id.as_str().to_owned()]),
            steps_done: Vec::new(),
            plan: Vec::new(),
            settled_steps: BTreeSet::new(),
            queue: ActionQueue::default(),
            needs_attention: false,
            last_failure: None,
            refused_events: Vec::new(),
            policy,
            slot: Slot::Untracked,
            sms: SmsState::new(phone.map(|p| p.to_string())),
        };
        let detail = format!(
            "{} for {} on {}",
            kind.as_str_name(),
            state.lead.email,
            describe_tour(tour)
        );
        state.record("booking received", now, detail);
        for warning in warnings {
            state.record(
                "booking received",
                now,
                format!("kept with a warning: {warning}"),
            );
        }
        state.queue.push(Action::UpsertCrmContact);
        state.queue.push(Action::CreateCalendarEvent { tour });
        state.queue_email(EmailKind::AskToConfirm, "ask-to-confirm");
        state.replan(now);
        let transition = Transition::between(&ActionQueue::default(), &state.queue);
        Ok((state, transition))
    }

    /// Applies one event at `now` (the workflow clock). A seen event id is a
    /// [`Outcome::Duplicate`] and changes nothing. A refused event changes nothing but the
    /// list of refused events (and marks its id seen, so a redelivery is a duplicate rather
    /// than a second refusal).
    pub fn apply(&mut self, event: Event, now: DateTime<Utc>) -> Result<Outcome, Refusal> {
        if let Some(event_id) = event.event_id()
            && self.has_seen(event_id.as_str())
        {
            return Ok(Outcome::Duplicate);
        }
        let mut next = self.clone();
        match next.transition(&event, now) {
            Ok(()) => {
                if let Some(event_id) = event.event_id() {
                    next.seen_event_ids.insert(event_id.as_str().to_owned());
                }
                next.settle_queue(now);
                let transition = Transition::between(&self.queue, &next.queue);
                *self = next;
                Ok(Outcome::Applied(transition))
            }
            Err(reason) => {
                let refusal = Refusal {
                    event_id: event.event_id().cloned(),
                    event: event.name(),
                    reason,
                };
                self.record_refusal(&refusal, now);
                Err(refusal)
            }
        }
    }

    fn record_refusal(&mut self, refusal: &Refusal, now: DateTime<Utc>) {
        if let Some(event_id) = &refusal.event_id {
            self.seen_event_ids.insert(event_id.as_str().to_owned());
        }
        self.remember_refusal(RefusedEvent {
            event_id: refusal.event_id.as_ref().map(|id| id.as_str().to_owned()),
            event: refusal.event.to_owned(),
            reason: refusal.reason.clone(),
            at: now,
        });
    }

    fn transition(&mut self, event: &Event, now: DateTime<Utc>) -> Refused {
        match event {
            Event::Confirm { .. } => self.confirm(now),
            Event::Reschedule {
                tour, source_ref, ..
            } => self.reschedule(*tour, source_ref, now),
            Event::Cancel {
                reason,
                cancelled_by,
                ..
            } => self.cancel(reason, cancelled_by, now),
            Event::QuestionnaireVisited { .. } => self.visit_questionnaire(now),
            Event::TourComplete { .. } => self.complete_tour(now),
            Event::OperatorRetry { .. } => self.operator_retry(now),
            Event::OperatorSkip { .. } => self.operator_skip(now),
            Event::SeatGranted => self.grant_seat(now),
            Event::SmsStatus { report, .. } => self.sms_status(report, now),
            Event::SmsOptOut { reason, .. } => self.sms_opt_out(reason, now),
            Event::Due => {
                self.fire_due(now);
                Ok(())
            }
            Event::ActionSucceeded { action_id, outcome } => {
                self.action_succeeded(*action_id, outcome, now)
            }
            Event::ActionFailed { action_id, failure } => {
                self.action_failed(*action_id, failure, now)
            }
        }
    }
}

pub(super) fn describe_tour(tour: TourSlot) -> String {
    format!(
        "{} to {}",
        tour.start().to_rfc3339_opts(SecondsFormat::AutoSi, true),
        tour.end().to_rfc3339_opts(SecondsFormat::AutoSi, true)
    )
}
