//! Random event sequences against the lifecycle's invariants.
//!
//! A small simulated driver plays the workflow's part: it starts actions one at a time, reports
//! success or failure, advances a virtual clock and fires the timer, while random signals (with
//! event ids drawn from a small pool, so redeliveries happen) arrive in between. After every
//! step it checks what must hold whatever happened.

use std::collections::BTreeSet;

use booking_proto::domain::TourSlot;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

use super::super::{
    Action, ActionId, BookingState, BookingStatus, EmailKind, Event, FollowUpKind, Outcome,
    Progress,
};
use super::*;

#[derive(Clone, Debug)]
enum Signal {
    Confirm,
    /// A new window starting this many quarter hours from now (negative: in the past).
    Reschedule {
        quarters_from_now: i64,
        minutes_long: i64,
    },
    RescheduleToSameWindow,
    Cancel,
    QuestionnaireVisited,
    TourComplete,
    OperatorRetry,
    OperatorSkip,
}

#[derive(Clone, Debug)]
enum Step {
    Signal {
        event_id: u8,
        signal: Signal,
    },
    /// The driver starts the next runnable action, if any.
    StartAction,
    /// The running action, if any, succeeds or fails for good.
    FinishAction {
        succeeds: bool,
    },
    /// Time passes; the timer fires if the plan says so.
    Advance {
        minutes: i64,
    },
    /// A report about an action that is not running (a driver bug) must change nothing.
    BogusReport {
        action_id: u64,
    },
}

fn signal() -> impl Strategy<Value = Signal> {
    prop_oneof![
        3 => Just(Signal::Confirm),
        3 => (-8i64..800, 15i64..180).prop_map(|(quarters_from_now, minutes_long)| {
            Signal::Reschedule { quarters_from_now, minutes_long }
        }),
        1 => Just(Signal::RescheduleToSameWindow),
        2 => Just(Signal::Cancel),
        2 => Just(Signal::QuestionnaireVisited),
        2 => Just(Signal::TourComplete),
        2 => Just(Signal::OperatorRetry),
        2 => Just(Signal::OperatorSkip),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u8..12, signal()).prop_map(|(event_id, signal)| Step::Signal { event_id, signal }),
        5 => Just(Step::StartAction),
        5 => prop::bool::weighted(0.8).prop_map(|succeeds| Step::FinishAction { succeeds }),
        3 => (0i64..3000).prop_map(|minutes| Step::Advance { minutes }),
        1 => (0u64..20).prop_map(|action_id| Step::BogusReport { action_id }),
    ]
}

/// The driver's view of the world: what it has done to the outside systems.
struct World {
    state: BookingState,
    now: DateTime<Utc>,
    running: Option<(ActionId, Action)>,
    cancel_accepted: bool,
    creates_issued: BTreeSet<ActionId>,
    creates_succeeded: u32,
    deletes_succeeded: u32,
    delete_skipped_by_operator: bool,
    cancellation_emails_issued: BTreeSet<ActionId>,
    next_fresh_event: u32,
}

impl World {
    fn new(tour_in_minutes: i64) -> Self {
        Self {
            state: started(TimeDelta::minutes(tour_in_minutes)),
            now: t0(),
            running: None,
            cancel_accepted: false,
            creates_issued: BTreeSet::new(),
            creates_succeeded: 0,
            deletes_succeeded: 0,
            delete_skipped_by_operator: false,
            cancellation_emails_issued: BTreeSet::new(),
            next_fresh_event: 0,
        }
    }

    fn live_calendar_events(&self) -> u32 {
        self.creates_succeeded - self.deletes_succeeded
    }

    fn perform(&mut self, step: &Step) -> Result<(), TestCaseError> {
        match step {
            Step::Signal { event_id, signal } => {
                let event = self.signal_event(format!("e{event_id}"), signal);
                let _ = self.deliver(event)?;
            }
            Step::StartAction => {
                if let Some((id, action)) = self.state.next_action() {
                    prop_assert!(self.running.is_none(), "two actions offered at once");
                    prop_assert!(self.state.mark_in_flight(id));
                    self.issue(id, &action)?;
                    self.running = Some((id, action));
                }
            }
            Step::FinishAction { succeeds } => {
                if let Some((id, action)) = self.running.take() {
                    let event = if *succeeds {
                        Event::ActionSucceeded {
                            action_id: id,
                            outcome: success_for(id, &action),
                        }
                    } else {
                        Event::ActionFailed {
                            action_id: id,
                            failure: failure(),
                        }
                    };
                    let result = self.deliver(event)?;
                    prop_assert!(matches!(result, Ok(Outcome::Applied(_))), "{result:?}");
                    if *succeeds {
                        match action {
                            Action::CreateCalendarEvent { .. } => self.creates_succeeded += 1,
                            Action::DeleteCalendarEvent => self.deletes_succeeded += 1,
                            _ => {}
                        }
                    }
                }
            }
            Step::Advance { minutes } => {
                self.now += TimeDelta::minutes(*minutes);
                if self
                    .state
                    .next_due()
                    .is_some_and(|(due, _)| due <= self.now)
                {
                    let _ = self.deliver(Event::Due)?;
                }
            }
            Step::BogusReport { action_id } => {
                let id = ActionId(*action_id);
                if self
                    .running
                    .as_ref()
                    .is_some_and(|(running, _)| *running == id)
                {
                    return Ok(());
                }
                let result = self.deliver(Event::ActionSucceeded {
                    action_id: id,
                    outcome: ActionOutcome::CrmStageUpdated,
                })?;
                prop_assert!(
                    result.is_err(),
                    "a report for {id} was accepted: {result:?}"
                );
            }
        }
        Ok(())
    }

    fn signal_event(&self, raw_id: String, signal: &Signal) -> Event {
        let event_id = eid(&raw_id);
        match signal {
            Signal::Confirm => Event::Confirm { event_id },
            Signal::Reschedule {
                quarters_from_now,
                minutes_long,
            } => {
                let start = self.now + TimeDelta::minutes(15 * quarters_from_now);
                Event::Reschedule {
                    event_id,
                    tour: TourSlot::new(start, start + TimeDelta::minutes(*minutes_long)).unwrap(),
                    source_ref: String::new(),
                }
            }
            Signal::RescheduleToSameWindow => Event::Reschedule {
                event_id,
                tour: self.state.tour(),
                source_ref: String::new(),
            },
            Signal::Cancel => Event::Cancel {
                event_id,
                reason: "changed plans".into(),
                cancelled_by: "lead".into(),
            },
            Signal::QuestionnaireVisited => Event::QuestionnaireVisited { event_id },
            Signal::TourComplete => Event::TourComplete { event_id },
            Signal::OperatorRetry => Event::OperatorRetry { event_id },
            Signal::OperatorSkip => Event::OperatorSkip { event_id },
        }
    }

    /// Applies an event and checks the invariants that relate the state before and after.
    fn deliver(
        &mut self,
        event: Event,
    ) -> Result<Result<Outcome, super::super::Refusal>, TestCaseError> {
        let before = self.state.clone();
        let head_before = before.queued_actions().next().cloned();
        let was_seen = event
            .event_id()
            .is_some_and(|id| before.has_seen(id.as_str()));
        let is_skip = matches!(event, Event::OperatorSkip { .. });
        let is_cancel = matches!(event, Event::Cancel { .. });

        let result = self.state.apply(event, self.now);

        if was_seen {
            prop_assert_eq!(&result, &Ok(Outcome::Duplicate));
            prop_assert_eq!(&self.state, &before, "a duplicate changed the state");
        }
        if result.is_err() || before.is_finished() {
            prop_assert_eq!(
                without_bookkeeping(&self.state),
                without_bookkeeping(&before),
                "a refused event, or an event after the end, changed the booking"
            );
        }
        if before.status() == BookingStatus::Cancelled {
            prop_assert_eq!(self.state.status(), BookingStatus::Cancelled);
        }
        if before.status() == BookingStatus::TourComplete {
            prop_assert_eq!(self.state.status(), BookingStatus::TourComplete);
        }
        if matches!(result, Ok(Outcome::Applied(_))) {
            if is_cancel {
                self.cancel_accepted = true;
            }
            if is_skip
                && head_before
                    .as_ref()
                    .is_some_and(|head| head.action == Action::DeleteCalendarEvent)
            {
                self.delete_skipped_by_operator = true;
            }
        }
        self.check_state()?;
        Ok(result)
    }

    /// The driver hands `action` to an activity: the moment a side effect becomes real.
    fn issue(&mut self, id: ActionId, action: &Action) -> Result<(), TestCaseError> {
        match action {
            Action::CreateCalendarEvent { .. } => {
                self.creates_issued.insert(id);
                prop_assert!(self.creates_issued.len() <= 1, "a second calendar create");
            }
            Action::MoveCalendarEvent { .. } | Action::DeleteCalendarEvent => {
                prop_assert_eq!(
                    self.live_calendar_events(),
                    1,
                    "a calendar change with no event"
                );
            }
            Action::SendEmail { kind, .. } => {
                if self.cancel_accepted {
                    prop_assert_eq!(*kind, EmailKind::Cancellation, "an email after the cancel");
                }
                if *kind == EmailKind::Cancellation {
                    prop_assert!(self.cancel_accepted);
                    self.cancellation_emails_issued.insert(id);
                    prop_assert_eq!(self.cancellation_emails_issued.len(), 1);
                    prop_assert!(
                        self.live_calendar_events() == 0 || self.delete_skipped_by_operator,
                        "cancellation email while the calendar event still exists"
                    );
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// What must hold of any state.
    fn check_state(&self) -> Result<(), TestCaseError> {
        let state = &self.state;
        prop_assert!(self.live_calendar_events() <= 1);
        prop_assert!(self.creates_succeeded <= 1);

        let tour = state.tour();
        let tour_start = tour.start().to_rfc3339_opts(SecondsFormat::AutoSi, true);
        for step in state.plan() {
            let offset = step.offset.to_time_delta().unwrap();
            let expected = match step.kind {
                FollowUpKind::TourReminder
                | FollowUpKind::QuestionnaireReminder
                | FollowUpKind::TourPreparation => {
                    prop_assert!(
                        step.key.ends_with(&format!("@{tour_start}")),
                        "{}",
                        step.key
                    );
                    tour.start() - offset
                }
                FollowUpKind::PendingReminder | FollowUpKind::CallTask => {
                    state.created_at() + offset
                }
                FollowUpKind::ReviewRequest => state.tour_completed_at().unwrap() + offset,
            };
            prop_assert_eq!(
                step.due,
                expected,
                "{} is not due relative to now",
                &step.key
            );
        }
        prop_assert!(state.plan().is_sorted_by_key(|step| step.due));
        match state.status() {
            BookingStatus::Cancelled => prop_assert!(state.plan().is_empty()),
            BookingStatus::TourComplete => prop_assert!(
                state
                    .plan()
                    .iter()
                    .all(|step| step.kind == FollowUpKind::ReviewRequest)
            ),
            BookingStatus::PendingConfirmation | BookingStatus::Confirmed => {}
        }

        let mut queue = state.queued_actions();
        let head = queue.next();
        prop_assert!(
            queue.all(|item| item.progress == Progress::Waiting),
            "only the head may run or block"
        );
        prop_assert_eq!(
            state.needs_attention(),
            head.is_some_and(|head| head.progress == Progress::Blocked)
        );
        prop_assert_eq!(
            self.running.as_ref().map(|(id, _)| *id),
            head.filter(|head| head.progress == Progress::InFlight)
                .map(|head| head.id)
        );
        if self.cancel_accepted {
            prop_assert_eq!(state.status(), BookingStatus::Cancelled);
            for item in state.queued_actions() {
                if item.progress != Progress::InFlight
                    && let Some(kind) = item.action.message_kind()
                {
                    prop_assert_eq!(kind, EmailKind::Cancellation);
                }
            }
        }
        Ok(())
    }

    /// Lets the booking run out: an operator retries whatever is blocked, every action
    /// succeeds, and time passes until nothing is planned.
    fn drain(&mut self) -> Result<(), TestCaseError> {
        for _ in 0..200 {
            if self.running.is_some() {
                self.perform(&Step::FinishAction { succeeds: true })?;
            } else if self.state.needs_attention() {
                self.next_fresh_event += 1;
                let event_id = eid(&format!("drain-{}", self.next_fresh_event));
                let _ = self.deliver(Event::OperatorRetry { event_id })?;
            } else if self.state.next_action().is_some() {
                self.perform(&Step::StartAction)?;
            } else if let Some((due, _)) = self.state.next_due() {
                self.now = self.now.max(due);
                let _ = self.deliver(Event::Due)?;
            } else {
                break;
            }
        }
        prop_assert!(self.state.queued_actions().next().is_none());
        prop_assert!(self.state.plan().is_empty());
        prop_assert_eq!(self.state.is_finished(), self.state.status().is_closed());
        if self.state.status() == BookingStatus::Cancelled {
            prop_assert!(self.live_calendar_events() == 0 || self.delete_skipped_by_operator);
            prop_assert_eq!(self.cancellation_emails_issued.len(), 1);
        }
        Ok(())
    }
}

/// The state without the two things a refusal may add.
fn without_bookkeeping(state: &BookingState) -> BookingState {
    let mut copy = state.clone();
    copy.refused_events.clear();
    copy.seen_event_ids.clear();
    copy
}

proptest! {
    // Failing cases are kept beside this file (`properties.regressions`), inside the module.
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_histories_keep_the_lifecycle_invariants(
        tour_in_minutes in 20i64..(12 * 24 * 60),
        steps in prop::collection::vec(step(), 0..60),
    ) {
        let mut world = World::new(tour_in_minutes);
        world.check_state()?;
        for step in &steps {
            world.perform(step)?;
        }
        world.drain()?;
    }
}
