//! Tests of the booking lifecycle: one per rule in `rules`, and random event sequences checked
//! against the lifecycle's invariants in `properties`.

mod not_started;
mod properties;
mod rules;
mod slot;
mod sms;

use booking_proto::domain::{EventId, TourSlot, ValidBooking};
use booking_proto::v1;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::{
    Action, ActionFailure, ActionId, ActionOutcome, BookingState, Event, FollowUpPolicy, Outcome,
    Transition,
};

/// When every test booking is made.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

fn slot(start: DateTime<Utc>) -> TourSlot {
    TourSlot::new(start, start + TimeDelta::minutes(30)).unwrap()
}

fn booking(tour: TourSlot) -> ValidBooking {
    ValidBooking::parse(v1::BookingRequest {
        booking_id: "bk_42".into(),
        event_id: "webhook-1".into(),
        kind: v1::BookingKind::PrivateViewing as i32,
        source: v1::BookingSource::Calendly as i32,
        source_ref: "invitee-1".into(),
        lead: Some(v1::Lead {
            email: "Ada@Example.com".into(),
            name: "Ada".into(),
            phone: String::new(),
            timezone: "Europe/London".into(),
        }),
        property_id: "prop-7".into(),
        agent_id: "agent-3".into(),
        tour: Some(tour.to_proto()),
        ..Default::default()
    })
    .unwrap()
}

fn start_with(tour_in: TimeDelta, policy: FollowUpPolicy) -> BookingState {
    BookingState::start(booking(slot(t0() + tour_in)), t0(), policy)
        .unwrap()
        .0
}

/// A booking made at [`t0`] for a tour `tour_in` later, under the production cadence.
fn started(tour_in: TimeDelta) -> BookingState {
    start_with(tour_in, FollowUpPolicy::default())
}

fn eid(raw: &str) -> EventId {
    EventId::parse(raw).unwrap()
}

fn applied(result: Result<Outcome, super::Refusal>) -> Transition {
    match result {
        Ok(Outcome::Applied(transition)) => transition,
        other => panic!("expected the event to apply, got {other:?}"),
    }
}

/// What a well-behaved activity answers for `action`.
fn success_for(id: ActionId, action: &Action) -> ActionOutcome {
    match action {
        Action::CreateCalendarEvent { .. } => ActionOutcome::CalendarEventCreated {
            calendar_event_id: format!("cal{}", id.0),
        },
        Action::MoveCalendarEvent { .. } => ActionOutcome::CalendarEventMoved,
        Action::DeleteCalendarEvent => ActionOutcome::CalendarEventDeleted,
        Action::UpsertCrmContact => ActionOutcome::CrmContactUpserted {
            crm_contact_id: "crm-1".into(),
        },
        Action::UpdateCrmStage { .. } => ActionOutcome::CrmStageUpdated,
        Action::CreateCrmTask { .. } => ActionOutcome::CrmTaskCreated {
            crm_task_id: format!("task{}", id.0),
        },
        Action::SendEmail { .. } => ActionOutcome::EmailSent {
            message_id: Some(format!("msg{}", id.0)),
        },
        Action::SendSms { .. } => ActionOutcome::SmsSent {
            message_sid: Some(format!("SM{}", id.0)),
        },
        Action::ReleaseSlot => ActionOutcome::SlotReleased,
        Action::MoveSlot { .. } => ActionOutcome::SlotMoved {
            confirmed: true,
            detail: "moved".into(),
        },
    }
}

fn failure() -> ActionFailure {
    ActionFailure {
        error_type: "CalendarAuthRevoked".into(),
        message: "invalid_grant".into(),
        attempts: 5,
    }
}

/// Starts the next action, as the driver does; panics if there is none.
fn begin(state: &mut BookingState) -> (ActionId, Action) {
    let (id, action) = state.next_action().expect("an action to run");
    assert!(state.mark_in_flight(id));
    (id, action)
}

fn succeed(state: &mut BookingState, id: ActionId, action: &Action, now: DateTime<Utc>) {
    let outcome = success_for(id, action);
    applied(state.apply(
        Event::ActionSucceeded {
            action_id: id,
            outcome,
        },
        now,
    ));
}

/// Runs every runnable action to success, returning them in the order they ran.
fn run_all(state: &mut BookingState, now: DateTime<Utc>) -> Vec<Action> {
    let mut ran = Vec::new();
    while state.next_action().is_some() {
        let (id, action) = begin(state);
        succeed(state, id, &action, now);
        ran.push(action);
    }
    ran
}

fn email_steps(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::SendEmail { step, .. } => Some(step.clone()),
            _ => None,
        })
        .collect()
}
