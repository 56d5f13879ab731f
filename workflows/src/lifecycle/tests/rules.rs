//! One test per lifecycle rule, in the order DESIGN.md tells the booking's story.

use chrono::{DateTime, TimeDelta, Utc};

use super::super::{
    Action, BookingState, BookingStatus, CrmStage, CrmTaskKind, EmailKind, Event, FollowUpPolicy,
    Outcome, Progress, REFUSALS_KEPT, Span, snapshot,
};
use super::*;

fn hours(n: i64) -> TimeDelta {
    TimeDelta::hours(n)
}

fn minutes(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

fn confirm(state: &mut BookingState, id: &str, now: DateTime<Utc>) -> Transition {
    applied(state.apply(Event::Confirm { event_id: eid(id) }, now))
}

fn cancel(state: &mut BookingState, id: &str, now: DateTime<Utc>) -> Transition {
    applied(state.apply(
        Event::Cancel {
            event_id: eid(id),
            reason: "found another flat".into(),
            cancelled_by: "lead".into(),
        },
        now,
    ))
}

fn reschedule(
    state: &mut BookingState,
    id: &str,
    tour: TourSlot,
    now: DateTime<Utc>,
) -> Result<Outcome, super::super::Refusal> {
    state.apply(
        Event::Reschedule {
            event_id: eid(id),
            tour,
            source_ref: "invitee-2".into(),
        },
        now,
    )
}

fn actions(transition: &Transition) -> Vec<Action> {
    transition.queued.iter().map(|(_, a)| a.clone()).collect()
}

fn email(kind: EmailKind, template: &str, step: &str) -> Action {
    Action::SendEmail {
        kind,
        template: template.into(),
        step: step.into(),
    }
}

fn plan_of(state: &BookingState) -> Vec<(String, DateTime<Utc>)> {
    state
        .plan()
        .iter()
        .map(|step| (step.key.clone(), step.due))
        .collect()
}

/// A booking whose contact, calendar event and ask-to-confirm are done, confirmed an hour
/// after it was made, with the confirmation sent.
fn confirmed(tour_in: TimeDelta) -> BookingState {
    let mut state = started(tour_in);
    run_all(&mut state, t0());
    confirm(&mut state, "confirm-1", t0() + hours(1));
    run_all(&mut state, t0() + hours(1));
    state
}

/// Everything except the parts a refusal may change.
fn without_refusals(state: &BookingState) -> BookingState {
    let mut copy = state.clone();
    copy.refused_events.clear();
    copy.seen_event_ids.clear();
    copy
}

#[test]
fn a_new_booking_upserts_the_contact_creates_the_event_and_asks_to_confirm() {
    let tour = slot(t0() + hours(120));
    let (state, transition) =
        BookingState::start(booking(tour), t0(), FollowUpPolicy::default()).unwrap();

    assert_eq!(
        actions(&transition),
        [
            Action::UpsertCrmContact,
            Action::CreateCalendarEvent { tour },
            email(EmailKind::AskToConfirm, "ask-to-confirm", "ask-to-confirm"),
        ]
    );
    assert_eq!(state.status(), BookingStatus::PendingConfirmation);
    assert_eq!(
        plan_of(&state),
        [
            ("pending-reminder-4h".into(), t0() + hours(4)),
            ("call-task-24h".into(), t0() + hours(24)),
        ]
    );
    assert_eq!(
        state.next_due(),
        Some((
            t0() + hours(4),
            "confirmation reminder 4h after booking".into()
        ))
    );
    assert!(state.has_seen("webhook-1"));
    assert_eq!(state.lead().email.as_str(), "ada@example.com");
}

#[test]
fn an_invalid_policy_is_refused_at_start() {
    let mut policy = FollowUpPolicy::default();
    policy.confirmed.reminders_before = vec![Span::secs(0)];
    let errors = BookingState::start(booking(slot(t0() + hours(120))), t0(), policy).unwrap_err();
    assert_eq!(errors.0[0].field, "confirmed.reminders_before[0]");
}

#[test]
fn an_unconfirmed_booking_is_reminded_once_then_handed_to_a_sales_rep() {
    let mut state = started(hours(120));
    run_all(&mut state, t0());

    let reminder = applied(state.apply(Event::Due, t0() + hours(4)));
    assert_eq!(
        actions(&reminder),
        [email(
            EmailKind::PendingReminder,
            "confirm-reminder",
            "pending-reminder-4h"
        )]
    );
    run_all(&mut state, t0() + hours(4));

    let escalation = applied(state.apply(Event::Due, t0() + hours(24)));
    assert_eq!(
        actions(&escalation),
        [Action::CreateCrmTask {
            kind: CrmTaskKind::CallLead,
            subject: FollowUpPolicy::default().pending.call_task_subject,
        }]
    );
    run_all(&mut state, t0() + hours(24));
    assert_eq!(state.next_due(), None);
    assert!(!state.is_finished(), "a pending booking waits for the lead");
}

#[test]
fn a_timer_firing_early_sends_nothing() {
    let mut state = started(hours(120));
    let before = state.clone();
    let transition = applied(state.apply(Event::Due, t0() + hours(3)));
    assert_eq!(transition, Transition::default());
    assert_eq!(state, before);
}

#[test]
fn confirming_sends_the_confirmation_and_arms_the_tour_sequence() {
    let mut state = started(hours(120));
    run_all(&mut state, t0());
    let transition = confirm(&mut state, "confirm-1", t0() + hours(1));

    assert_eq!(state.status(), BookingStatus::Confirmed);
    assert_eq!(
        actions(&transition),
        [email(
            EmailKind::Confirmation,
            "tour-confirmation",
            "confirmation"
        )]
    );
    let tour = t0() + hours(120);
    assert_eq!(
        plan_of(&state),
        [
            (
                "questionnaire-reminder-72h@2026-12-06T09:00:00Z".into(),
                tour - hours(72)
            ),
            (
                "questionnaire-reminder-48h@2026-12-06T09:00:00Z".into(),
                tour - hours(48)
            ),
            (
                "tour-reminder-24h@2026-12-06T09:00:00Z".into(),
                tour - hours(24)
            ),
            (
                "tour-reminder-1h@2026-12-06T09:00:00Z".into(),
                tour - hours(1)
            ),
        ]
    );
}

#[test]
fn confirming_drops_pending_follow_ups_that_have_not_gone_out() {
    let mut state = started(hours(120));
    run_all(&mut state, t0());
    applied(state.apply(Event::Due, t0() + hours(4)));

    let transition = confirm(&mut state, "confirm-1", t0() + hours(4));
    let dropped: Vec<Action> = transition.dropped.into_iter().map(|(_, a)| a).collect();
    assert_eq!(
        dropped,
        [email(
            EmailKind::PendingReminder,
            "confirm-reminder",
            "pending-reminder-4h"
        )]
    );
    assert!(state.plan().iter().all(|step| step.key.contains('@')));
}

#[test]
fn confirming_twice_is_refused_and_changes_nothing_but_the_record() {
    let mut state = confirmed(hours(120));
    let before = state.clone();

    let refusal = state
        .apply(
            Event::Confirm {
                event_id: eid("confirm-2"),
            },
            t0() + hours(2),
        )
        .unwrap_err();
    assert_eq!(refusal.reason, "the booking is already confirmed");
    assert_eq!(without_refusals(&state), without_refusals(&before));
    let recorded = &state.refused_events()[0];
    assert_eq!(recorded.event_id.as_deref(), Some("confirm-2"));
    assert_eq!(recorded.event, "confirm");
    assert_eq!(recorded.at, t0() + hours(2));
}

#[test]
fn a_redelivered_event_is_a_duplicate_and_changes_nothing() {
    let mut state = confirmed(hours(120));
    let before = state.clone();
    let again = state.apply(
        Event::Confirm {
            event_id: eid("confirm-1"),
        },
        t0() + hours(2),
    );
    assert_eq!(again, Ok(Outcome::Duplicate));
    assert_eq!(state, before);
}

#[test]
fn a_redelivered_refused_event_is_recorded_once() {
    let mut state = confirmed(hours(120));
    let refused = Event::Confirm {
        event_id: eid("confirm-2"),
    };
    assert!(state.apply(refused.clone(), t0() + hours(2)).is_err());
    assert_eq!(
        state.apply(refused, t0() + hours(3)),
        Ok(Outcome::Duplicate)
    );
    assert_eq!(state.refused_events().len(), 1);
}

#[test]
fn a_flood_of_refused_events_keeps_only_the_newest_refusals() {
    let mut state = confirmed(hours(120));
    let flood = REFUSALS_KEPT + 50;
    for n in 0..flood {
        let refused = Event::Confirm {
            event_id: eid(&format!("confirm-again-{n}")),
        };
        assert!(state.apply(refused, t0() + hours(2)).is_err());
    }
    let kept = state.refused_events();
    assert_eq!(kept.len(), REFUSALS_KEPT);
    assert_eq!(kept[0].event_id.as_deref(), Some("confirm-again-50"));
    let newest = format!("confirm-again-{}", flood - 1);
    assert_eq!(
        kept[REFUSALS_KEPT - 1].event_id.as_deref(),
        Some(newest.as_str())
    );
    // The ids are still remembered: a redelivery of a forgotten refusal stays a duplicate.
    assert_eq!(
        state.apply(
            Event::Confirm {
                event_id: eid("confirm-again-0"),
            },
            t0() + hours(3),
        ),
        Ok(Outcome::Duplicate)
    );
}

#[test]
fn reminders_whose_time_has_passed_when_planned_are_skipped_not_sent_late() {
    let mut state = started(minutes(30));
    run_all(&mut state, t0());
    let transition = confirm(&mut state, "confirm-1", t0() + minutes(5));

    assert_eq!(
        actions(&transition),
        [email(
            EmailKind::Confirmation,
            "tour-confirmation",
            "confirmation"
        )]
    );
    assert!(state.plan().is_empty());
    let skipped: Vec<&str> = state
        .steps_done()
        .iter()
        .filter(|step| step.detail.starts_with("not sent"))
        .map(|step| step.name.as_str())
        .collect();
    assert_eq!(
        skipped,
        [
            "tour-reminder-24h@2026-12-01T09:30:00Z",
            "tour-reminder-1h@2026-12-01T09:30:00Z",
            "questionnaire-reminder-72h@2026-12-01T09:30:00Z",
            "questionnaire-reminder-48h@2026-12-01T09:30:00Z",
        ]
    );
}

#[test]
fn a_pending_reminder_that_would_land_after_the_tour_is_not_planned() {
    let state = started(hours(3));
    assert_eq!(
        plan_of(&state),
        [("call-task-24h".into(), t0() + hours(24))]
    );
}

#[test]
fn a_late_timer_sends_only_the_latest_reminder_of_each_series() {
    let mut state = confirmed(hours(120));
    let transition = applied(state.apply(Event::Due, t0() + hours(120) - minutes(30)));
    let steps = email_steps(&actions(&transition));
    assert_eq!(
        steps,
        [
            "questionnaire-reminder-48h@2026-12-06T09:00:00Z",
            "tour-reminder-1h@2026-12-06T09:00:00Z",
        ]
    );
}

#[test]
fn a_timer_firing_after_the_tour_started_sends_no_reminder() {
    let mut state = confirmed(hours(120));
    let transition = applied(state.apply(Event::Due, t0() + hours(121)));
    assert!(transition.queued.is_empty());
    assert!(state.plan().is_empty());
    assert!(
        state
            .steps_done()
            .iter()
            .any(|step| step.detail == "not sent: the tour has already started")
    );
}

#[test]
fn a_questionnaire_visit_swaps_form_reminders_for_tour_preparation() {
    let mut state = confirmed(hours(120));
    let visit = applied(state.apply(
        Event::QuestionnaireVisited {
            event_id: eid("visit-1"),
        },
        t0() + hours(2),
    ));
    assert_eq!(
        actions(&visit),
        [email(
            EmailKind::TourPreparation,
            "tour-preparation",
            "tour-preparation"
        )]
    );
    let keys: Vec<String> = plan_of(&state).into_iter().map(|(key, _)| key).collect();
    assert_eq!(
        keys,
        [
            "tour-reminder-24h@2026-12-06T09:00:00Z",
            "tour-preparation-12h@2026-12-06T09:00:00Z",
            "tour-reminder-1h@2026-12-06T09:00:00Z",
        ]
    );

    let again = applied(state.apply(
        Event::QuestionnaireVisited {
            event_id: eid("visit-2"),
        },
        t0() + hours(3),
    ));
    assert_eq!(
        again,
        Transition::default(),
        "a second visit changes nothing"
    );
}

#[test]
fn a_visit_before_confirmation_starts_preparation_at_confirmation() {
    let mut state = started(hours(120));
    run_all(&mut state, t0());
    let visit = applied(state.apply(
        Event::QuestionnaireVisited {
            event_id: eid("visit-1"),
        },
        t0() + hours(1),
    ));
    assert!(visit.queued.is_empty());

    let confirmation = confirm(&mut state, "confirm-1", t0() + hours(2));
    let kinds: Vec<EmailKind> = actions(&confirmation)
        .iter()
        .filter_map(Action::message_kind)
        .collect();
    assert_eq!(kinds, [EmailKind::Confirmation, EmailKind::TourPreparation]);
    assert!(
        state
            .plan()
            .iter()
            .all(|step| !step.key.starts_with("questionnaire"))
    );
}

#[test]
fn a_reschedule_moves_the_event_rearms_reminders_and_sends_one_notice() {
    let mut state = confirmed(hours(120));
    let new_tour = slot(t0() + hours(168));
    let transition = applied(reschedule(&mut state, "move-1", new_tour, t0() + hours(2)));

    assert_eq!(
        actions(&transition),
        [
            Action::MoveCalendarEvent { tour: new_tour },
            email(
                EmailKind::RescheduleNotice,
                "tour-rescheduled",
                "reschedule-notice#1"
            ),
        ]
    );
    assert_eq!(state.tour(), new_tour);
    assert_eq!(state.external_ids().source_ref, "invitee-2");
    for step in state.plan() {
        assert!(step.key.ends_with("@2026-12-08T09:00:00Z"), "{}", step.key);
        assert_eq!(
            step.due,
            new_tour.start() - step.offset.to_time_delta().unwrap()
        );
    }
    let ran = run_all(&mut state, t0() + hours(2));
    assert!(
        !ran.iter()
            .any(|action| matches!(action, Action::CreateCalendarEvent { .. }))
    );
}

#[test]
fn a_reschedule_before_the_event_exists_retargets_the_pending_create() {
    let mut state = started(hours(120));
    let new_tour = slot(t0() + hours(150));
    let transition = applied(reschedule(&mut state, "move-1", new_tour, t0()));
    assert_eq!(email_steps(&actions(&transition)), ["reschedule-notice#1"]);
    assert_eq!(
        actions(&transition).len(),
        1,
        "no move for an event not yet created"
    );
    let ran = run_all(&mut state, t0());
    let calendar: Vec<&Action> = ran
        .iter()
        .filter(|action| action.step_name().starts_with("calendar"))
        .collect();
    assert_eq!(calendar, [&Action::CreateCalendarEvent { tour: new_tour }]);
}

#[test]
fn a_reschedule_during_the_create_moves_the_event_once_it_exists() {
    let mut state = started(hours(120));
    let (upsert, action) = begin(&mut state);
    succeed(&mut state, upsert, &action, t0());
    let (create, action) = begin(&mut state);

    let new_tour = slot(t0() + hours(150));
    applied(reschedule(&mut state, "move-1", new_tour, t0()));
    succeed(&mut state, create, &action, t0());

    let calendar: Vec<Action> = run_all(&mut state, t0())
        .into_iter()
        .filter(|action| action.step_name().starts_with("calendar"))
        .collect();
    assert_eq!(calendar, [Action::MoveCalendarEvent { tour: new_tour }]);
}

#[test]
fn a_reschedule_to_the_same_window_does_nothing() {
    let mut state = confirmed(hours(120));
    let plan = plan_of(&state);
    let same = state.tour();
    let transition = applied(reschedule(&mut state, "move-1", same, t0() + hours(2)));
    assert_eq!(transition, Transition::default());
    assert_eq!(plan_of(&state), plan);
}

#[test]
fn a_reschedule_into_the_past_is_refused() {
    let mut state = confirmed(hours(120));
    let before = state.clone();
    let refusal = reschedule(&mut state, "move-1", slot(t0()), t0() + hours(2)).unwrap_err();
    assert!(
        refusal.reason.contains("not in the future"),
        "{}",
        refusal.reason
    );
    assert_eq!(without_refusals(&state), without_refusals(&before));
}

#[test]
fn a_pending_booking_can_be_rescheduled_and_stays_pending() {
    let mut state = started(hours(120));
    run_all(&mut state, t0());
    let plan = plan_of(&state);
    applied(reschedule(
        &mut state,
        "move-1",
        slot(t0() + hours(150)),
        t0() + hours(1),
    ));
    assert_eq!(state.status(), BookingStatus::PendingConfirmation);
    assert_eq!(
        plan_of(&state),
        plan,
        "pending steps count from the booking"
    );
}

#[test]
fn a_cancellation_deletes_the_event_then_updates_the_crm_then_emails_once() {
    let mut state = confirmed(hours(120));
    let transition = cancel(&mut state, "cancel-1", t0() + hours(2));
    assert_eq!(
        actions(&transition),
        [
            Action::DeleteCalendarEvent,
            Action::UpdateCrmStage {
                stage: CrmStage::Cancelled
            },
            email(EmailKind::Cancellation, "tour-cancelled", "cancellation"),
        ]
    );
    assert!(state.plan().is_empty());
    let ran = run_all(&mut state, t0() + hours(2));
    assert_eq!(ran, actions(&transition));
    assert!(state.is_finished());
    assert!(state.external_ids().calendar_event_deleted);
}

#[test]
fn a_cancellation_before_the_create_ran_drops_it_and_deletes_nothing() {
    let mut state = started(hours(120));
    let transition = cancel(&mut state, "cancel-1", t0());
    let dropped: Vec<String> = transition
        .dropped
        .iter()
        .map(|(_, action)| action.step_name())
        .collect();
    assert_eq!(dropped, ["calendar.create", "email:ask-to-confirm"]);

    let ran = run_all(&mut state, t0());
    assert_eq!(
        ran,
        [
            Action::UpsertCrmContact,
            Action::UpdateCrmStage {
                stage: CrmStage::Cancelled
            },
            email(EmailKind::Cancellation, "tour-cancelled", "cancellation"),
        ]
    );
    assert!(state.is_finished());
}

#[test]
fn a_cancellation_during_the_create_waits_for_it_then_deletes() {
    let mut state = started(hours(120));
    let (upsert, action) = begin(&mut state);
    succeed(&mut state, upsert, &action, t0());
    let (create, create_action) = begin(&mut state);

    cancel(&mut state, "cancel-1", t0());
    assert_eq!(
        state.next_action(),
        None,
        "nothing overtakes the running create"
    );
    succeed(&mut state, create, &create_action, t0());

    let ran: Vec<String> = run_all(&mut state, t0())
        .iter()
        .map(Action::step_name)
        .collect();
    assert_eq!(
        ran,
        [
            "calendar.delete",
            "crm.stage:cancelled",
            "email:cancellation"
        ]
    );
}

#[test]
fn a_create_that_fails_after_a_cancel_can_be_skipped_and_nothing_is_deleted() {
    let mut state = started(hours(120));
    let (upsert, action) = begin(&mut state);
    succeed(&mut state, upsert, &action, t0());
    let (create, _) = begin(&mut state);
    cancel(&mut state, "cancel-1", t0());
    applied(state.apply(
        Event::ActionFailed {
            action_id: create,
            failure: failure(),
        },
        t0(),
    ));
    assert!(state.needs_attention());
    assert_eq!(state.next_action(), None);

    applied(state.apply(
        Event::OperatorSkip {
            event_id: eid("op-1"),
        },
        t0(),
    ));
    let ran: Vec<String> = run_all(&mut state, t0())
        .iter()
        .map(Action::step_name)
        .collect();
    assert_eq!(ran, ["crm.stage:cancelled", "email:cancellation"]);
    assert!(!state.needs_attention());
}

#[test]
fn an_email_running_during_a_cancel_is_dropped_if_it_fails_never_offered_for_retry() {
    let mut state = started(hours(120));
    let (upsert, action) = begin(&mut state);
    succeed(&mut state, upsert, &action, t0());
    let (create, action) = begin(&mut state);
    succeed(&mut state, create, &action, t0());
    let (ask, _) = begin(&mut state);

    cancel(&mut state, "cancel-1", t0() + minutes(1));
    applied(state.apply(
        Event::ActionFailed {
            action_id: ask,
            failure: failure(),
        },
        t0() + minutes(2),
    ));
    assert!(!state.needs_attention());
    assert_eq!(state.last_failure().unwrap().step, "email:ask-to-confirm");
    let ran: Vec<String> = run_all(&mut state, t0() + minutes(2))
        .iter()
        .map(Action::step_name)
        .collect();
    assert_eq!(
        ran,
        [
            "calendar.delete",
            "crm.stage:cancelled",
            "email:cancellation"
        ]
    );
}

#[test]
fn nothing_moves_a_cancelled_booking_again() {
    let mut state = confirmed(hours(120));
    cancel(&mut state, "cancel-1", t0() + hours(2));
    run_all(&mut state, t0() + hours(2));
    assert!(state.is_finished());
    let finished = state.clone();

    let later = t0() + hours(3);
    let refused = [
        (
            Event::Confirm {
                event_id: eid("e1"),
            },
            "the booking was cancelled",
        ),
        (
            Event::Reschedule {
                event_id: eid("e2"),
                tour: slot(t0() + hours(200)),
                source_ref: String::new(),
            },
            "the booking was cancelled",
        ),
        (
            Event::Cancel {
                event_id: eid("e3"),
                reason: "again".into(),
                cancelled_by: "lead".into(),
            },
            "the booking was cancelled",
        ),
        (
            Event::QuestionnaireVisited {
                event_id: eid("e4"),
            },
            "the booking was cancelled",
        ),
        (
            Event::TourComplete {
                event_id: eid("e5"),
            },
            "the booking was cancelled",
        ),
        (
            Event::OperatorRetry {
                event_id: eid("e6"),
            },
            "no action is waiting for an operator",
        ),
    ];
    for (event, reason) in refused {
        assert_eq!(state.apply(event, later).unwrap_err().reason, reason);
    }
    applied(state.apply(Event::Due, t0() + hours(500)));
    assert_eq!(without_refusals(&state), without_refusals(&finished));
    assert_eq!(state.refused_events().len(), 6);
}

#[test]
fn a_failed_action_blocks_the_queue_until_an_operator_retries_it() {
    let mut state = started(hours(120));
    let (upsert, action) = begin(&mut state);
    applied(state.apply(
        Event::ActionFailed {
            action_id: upsert,
            failure: failure(),
        },
        t0() + minutes(10),
    ));
    assert!(state.needs_attention());
    assert_eq!(state.next_action(), None);
    let recorded = state.last_failure().unwrap();
    assert_eq!(recorded.step, "crm.upsert-contact");
    assert_eq!(recorded.error_type, "CalendarAuthRevoked");
    assert_eq!(recorded.attempts, 5);

    // Signals keep applying while blocked; their actions wait behind the blocked one.
    confirm(&mut state, "confirm-1", t0() + minutes(20));
    assert_eq!(state.status(), BookingStatus::Confirmed);
    assert_eq!(state.next_action(), None);

    applied(state.apply(
        Event::OperatorRetry {
            event_id: eid("op-1"),
        },
        t0() + hours(1),
    ));
    assert!(!state.needs_attention());
    assert_eq!(state.next_action(), Some((upsert, action)));
    let ran: Vec<String> = run_all(&mut state, t0() + hours(1))
        .iter()
        .map(Action::step_name)
        .collect();
    assert_eq!(
        ran,
        [
            "crm.upsert-contact",
            "calendar.create",
            "email:confirmation"
        ]
    );
}

#[test]
fn an_operator_skip_drops_the_blocked_action_and_carries_on() {
    let mut state = started(hours(120));
    let (upsert, _) = begin(&mut state);
    applied(state.apply(
        Event::ActionFailed {
            action_id: upsert,
            failure: failure(),
        },
        t0(),
    ));
    applied(state.apply(
        Event::OperatorSkip {
            event_id: eid("op-1"),
        },
        t0(),
    ));
    assert!(!state.needs_attention());
    let (_, next) = state.next_action().unwrap();
    assert_eq!(next.step_name(), "calendar.create");
}

#[test]
fn operator_commands_without_a_blocked_action_are_refused() {
    let mut state = started(hours(120));
    for event in [
        Event::OperatorRetry {
            event_id: eid("op-1"),
        },
        Event::OperatorSkip {
            event_id: eid("op-2"),
        },
    ] {
        let refusal = state.apply(event, t0()).unwrap_err();
        assert_eq!(refusal.reason, "no action is waiting for an operator");
    }
}

#[test]
fn a_cancel_drops_a_blocked_email_and_with_it_the_need_for_an_operator() {
    let mut state = started(hours(120));
    let (upsert, action) = begin(&mut state);
    succeed(&mut state, upsert, &action, t0());
    let (create, action) = begin(&mut state);
    succeed(&mut state, create, &action, t0());
    let (ask, _) = begin(&mut state);
    applied(state.apply(
        Event::ActionFailed {
            action_id: ask,
            failure: failure(),
        },
        t0(),
    ));

    let transition = cancel(&mut state, "cancel-1", t0() + hours(1));
    assert_eq!(transition.dropped[0].0, ask);
    assert!(!state.needs_attention());
    let ran: Vec<String> = run_all(&mut state, t0() + hours(1))
        .iter()
        .map(Action::step_name)
        .collect();
    assert_eq!(
        ran,
        [
            "calendar.delete",
            "crm.stage:cancelled",
            "email:cancellation"
        ]
    );
}

#[test]
fn a_tour_can_only_be_completed_once_confirmed() {
    let mut state = started(hours(120));
    let refusal = state
        .apply(
            Event::TourComplete {
                event_id: eid("done-1"),
            },
            t0() + hours(1),
        )
        .unwrap_err();
    assert_eq!(refusal.reason, "the booking was never confirmed");
}

#[test]
fn a_completed_tour_updates_the_crm_asks_for_a_review_later_then_finishes() {
    let mut state = confirmed(hours(120));
    let done_at = t0() + hours(121);
    let transition = applied(state.apply(
        Event::TourComplete {
            event_id: eid("done-1"),
        },
        done_at,
    ));
    assert_eq!(
        actions(&transition),
        [Action::UpdateCrmStage {
            stage: CrmStage::TourComplete
        }]
    );
    assert_eq!(
        state.next_due(),
        Some((done_at + hours(2), "review request 2h after tour".into()))
    );
    run_all(&mut state, done_at);
    assert!(!state.is_finished(), "the review request is still ahead");

    let review = applied(state.apply(Event::Due, done_at + hours(2)));
    assert_eq!(
        actions(&review),
        [email(
            EmailKind::ReviewRequest,
            "review-request",
            "review-request"
        )]
    );
    run_all(&mut state, done_at + hours(2));
    assert!(state.is_finished());

    let refusal = reschedule(
        &mut state,
        "move-1",
        slot(t0() + hours(300)),
        done_at + hours(3),
    )
    .unwrap_err();
    assert_eq!(refusal.reason, "the tour is already complete");
}

#[test]
fn a_zero_review_delay_asks_at_once() {
    let mut policy = FollowUpPolicy::default();
    policy.completion.review_after = Span::secs(0);
    let mut state = start_with(hours(120), policy);
    run_all(&mut state, t0());
    confirm(&mut state, "confirm-1", t0());
    run_all(&mut state, t0());

    let transition = applied(state.apply(
        Event::TourComplete {
            event_id: eid("done-1"),
        },
        t0() + hours(121),
    ));
    assert_eq!(email_steps(&actions(&transition)), ["review-request"]);
    run_all(&mut state, t0() + hours(121));
    assert!(state.is_finished());
}

#[test]
fn reports_about_actions_that_are_not_running_are_refused() {
    let mut state = started(hours(120));
    let (upsert, _) = state.next_action().unwrap();
    let not_running = state
        .apply(
            Event::ActionSucceeded {
                action_id: upsert,
                outcome: ActionOutcome::CrmContactUpserted {
                    crm_contact_id: "c".into(),
                },
            },
            t0(),
        )
        .unwrap_err();
    assert_eq!(not_running.reason, "action #1 is not running");
    assert_eq!(not_running.event_id, None);

    assert!(state.mark_in_flight(upsert));
    assert!(!state.mark_in_flight(upsert), "already running");
    let wrong = state
        .apply(
            Event::ActionSucceeded {
                action_id: upsert,
                outcome: ActionOutcome::CalendarEventDeleted,
            },
            t0(),
        )
        .unwrap_err();
    assert!(
        wrong.reason.contains("does not answer action #1"),
        "{}",
        wrong.reason
    );
    assert_eq!(
        state.queued_actions().next().unwrap().progress,
        Progress::InFlight
    );
}

#[test]
fn a_policy_in_seconds_runs_the_whole_sequence_in_minutes() {
    let policy = FollowUpPolicy {
        pending: super::super::PendingPolicy {
            reminders_after: vec![Span::secs(10)],
            call_task_after: Span::secs(60),
            ..Default::default()
        },
        confirmed: super::super::ConfirmedPolicy {
            reminders_before: vec![Span::secs(30), Span::secs(5)],
            ..Default::default()
        },
        questionnaire: super::super::QuestionnairePolicy {
            reminders_before: vec![Span::secs(50), Span::secs(40)],
            ..Default::default()
        },
        completion: super::super::CompletionPolicy {
            review_after: Span::secs(3),
            ..Default::default()
        },
        // Its own offsets: the production text rule (`tour-reminder-1h`) names no step here.
        sms: super::super::SmsPolicy::email_only(),
        ..Default::default()
    };
    let mut state = start_with(TimeDelta::seconds(120), policy);
    let mut sent = email_steps(&run_all(&mut state, t0()));
    confirm(&mut state, "confirm-1", t0() + TimeDelta::seconds(2));
    sent.extend(email_steps(&run_all(&mut state, t0())));
    while let Some((due, _)) = state.next_due() {
        applied(state.apply(Event::Due, due));
        sent.extend(email_steps(&run_all(&mut state, due)));
    }
    let done_at = t0() + TimeDelta::seconds(130);
    applied(state.apply(
        Event::TourComplete {
            event_id: eid("done-1"),
        },
        done_at,
    ));
    run_all(&mut state, done_at);
    let (due, _) = state.next_due().unwrap();
    assert_eq!(due, done_at + TimeDelta::seconds(3));
    applied(state.apply(Event::Due, due));
    sent.extend(email_steps(&run_all(&mut state, due)));

    assert_eq!(
        sent,
        [
            "ask-to-confirm",
            "confirmation",
            "questionnaire-reminder-50s@2026-12-01T09:02:00Z",
            "questionnaire-reminder-40s@2026-12-01T09:02:00Z",
            "tour-reminder-30s@2026-12-01T09:02:00Z",
            "tour-reminder-5s@2026-12-01T09:02:00Z",
            "review-request",
        ]
    );
    assert!(state.is_finished());
}

#[test]
fn the_snapshot_shows_what_an_operator_needs() {
    let mut state = confirmed(hours(120));
    let (email_id, _) = {
        applied(state.apply(Event::Due, t0() + hours(48)));
        begin(&mut state)
    };
    applied(state.apply(
        Event::ActionFailed {
            action_id: email_id,
            failure: failure(),
        },
        t0() + hours(49),
    ));
    let _ = state.apply(
        Event::Confirm {
            event_id: eid("confirm-2"),
        },
        t0() + hours(50),
    );

    let wire = snapshot(&state);
    assert_eq!(wire.booking_id, "bk_42");
    assert_eq!(wire.status, v1::BookingStatus::Confirmed as i32);
    assert_eq!(wire.kind, v1::BookingKind::PrivateViewing as i32);
    assert_eq!(wire.lead_email, "ada@example.com");
    assert_eq!(wire.tour, Some(state.tour().to_proto()));
    let external = wire.external_ids.unwrap();
    assert_eq!(external.calendar_event_id, "cal2");
    assert_eq!(external.crm_contact_id, "crm-1");
    assert_eq!(external.source_ref, "invitee-1");
    assert!(wire.needs_attention);
    let failure = wire.last_failure.unwrap();
    assert_eq!(
        failure.step,
        "email:questionnaire-reminder-72h@2026-12-06T09:00:00Z"
    );
    assert_eq!(failure.attempts, 5);
    assert_eq!(
        wire.steps_pending[0].name,
        "email:questionnaire-reminder-72h@2026-12-06T09:00:00Z (blocked: waiting for an operator)"
    );
    assert_eq!(wire.steps_pending[0].due_at, None);
    assert_eq!(
        wire.steps_pending[1].name,
        "questionnaire reminder 48h before tour"
    );
    assert!(wire.steps_pending[1].due_at.is_some());
    assert_eq!(wire.refused_events.len(), 1);
    assert_eq!(wire.refused_events[0].event_id, "confirm-2");
    assert_eq!(wire.events_seen, 3);
    assert!(wire.steps_done.iter().any(|step| step.name == "confirm"));
}
