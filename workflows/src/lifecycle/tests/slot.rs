//! The slot ledger's side of the lifecycle: waitlist, seat granted, refusal, release, move.

use chrono::TimeDelta;

use super::{begin, eid, run_all, started, t0};
use crate::lifecycle::{Action, ActionOutcome, BookingStatus, EmailKind, Event, Slot};

fn queued(state: &crate::lifecycle::BookingState) -> Vec<Action> {
    state.queued_actions().map(|q| q.action.clone()).collect()
}

#[test]
fn a_waitlisted_booking_does_nothing_but_say_so_until_a_seat_is_granted() {
    let mut state = started(TimeDelta::days(3));
    state.wait_for_seat(4, t0());
    assert_eq!(state.slot(), &Slot::Waitlisted { position: 4 });
    let actions = queued(&state);
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0].message_kind(), Some(EmailKind::Waitlisted));
    assert!(state.plan().is_empty(), "no reminders while waiting");

    state.apply(Event::SeatGranted, t0()).unwrap();
    assert_eq!(state.slot(), &Slot::Held);
    let actions = queued(&state);
    assert!(actions.contains(&Action::UpsertCrmContact));
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::CreateCalendarEvent { .. }))
    );
    assert!(
        actions
            .iter()
            .any(|a| a.message_kind() == Some(EmailKind::SeatGranted))
    );
    assert!(
        !state.plan().is_empty(),
        "pending reminders are planned again"
    );
    // A second grant is refused, not applied twice.
    assert!(state.apply(Event::SeatGranted, t0()).is_err());
}

#[test]
fn cancelling_a_waitlisted_booking_releases_its_place_and_creates_nothing() {
    let mut state = started(TimeDelta::days(3));
    state.wait_for_seat(1, t0());
    state
        .apply(
            Event::Cancel {
                event_id: eid("cancel-1"),
                reason: "no longer interested".into(),
                cancelled_by: "lead".into(),
            },
            t0(),
        )
        .unwrap();
    let actions = queued(&state);
    assert!(actions.contains(&Action::ReleaseSlot), "{actions:?}");
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::UpdateCrmStage { .. })),
        "no CRM contact exists to update: {actions:?}"
    );
}

#[test]
fn a_refused_slot_cancels_with_the_reason_and_one_alternatives_email() {
    let mut state = started(TimeDelta::days(3));
    state.refuse_slot("already booked", Vec::new(), t0());
    assert_eq!(state.status(), BookingStatus::Cancelled);
    let actions = queued(&state);
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0].message_kind(), Some(EmailKind::SlotUnavailable));
    assert!(matches!(state.slot(), Slot::Refused { reason, .. } if reason == "already booked"));
}

#[test]
fn a_held_slot_is_released_on_cancel_and_moved_on_reschedule() {
    let mut state = started(TimeDelta::days(3));
    state.hold_slot(t0());
    let from = state.tour();
    let tour = super::slot(t0() + TimeDelta::days(4));
    state
        .apply(
            Event::Reschedule {
                event_id: eid("resched-1"),
                tour,
                source_ref: String::new(),
            },
            t0(),
        )
        .unwrap();
    assert!(queued(&state).contains(&Action::MoveSlot { tour, from }));
    state
        .apply(
            Event::Cancel {
                event_id: eid("cancel-1"),
                reason: "plans changed".into(),
                cancelled_by: "lead".into(),
            },
            t0(),
        )
        .unwrap();
    let actions = queued(&state);
    assert!(actions.contains(&Action::ReleaseSlot));
    assert!(
        !actions.iter().any(|a| matches!(a, Action::MoveSlot { .. })),
        "a move not run yet is moot after the cancel"
    );
}

#[test]
fn bookings_without_a_ledger_never_queue_ledger_actions() {
    let mut state = started(TimeDelta::days(3));
    state
        .apply(
            Event::Cancel {
                event_id: eid("cancel-1"),
                reason: "plans changed".into(),
                cancelled_by: "lead".into(),
            },
            t0(),
        )
        .unwrap();
    assert!(!queued(&state).contains(&Action::ReleaseSlot));
}

#[test]
fn a_reschedule_the_ledger_refuses_returns_the_booking_to_the_slot_it_holds() {
    let mut state = started(TimeDelta::days(3));
    state.hold_slot(t0());
    run_all(&mut state, t0());
    let held = state.tour();
    let taken = super::slot(t0() + TimeDelta::days(4));
    state
        .apply(
            Event::Reschedule {
                event_id: eid("resched-1"),
                tour: taken,
                source_ref: String::new(),
            },
            t0(),
        )
        .unwrap();

    // The ledger move runs before the calendar or the lead hear of the new time.
    let (id, action) = begin(&mut state);
    assert_eq!(
        action,
        Action::MoveSlot {
            tour: taken,
            from: held
        }
    );
    state
        .apply(
            Event::ActionSucceeded {
                action_id: id,
                outcome: ActionOutcome::SlotMoved {
                    confirmed: false,
                    detail: "the ledger kept the old slot: already booked".into(),
                },
            },
            t0(),
        )
        .unwrap();

    assert_eq!(state.tour(), held, "never two bookings in one agent slot");
    let actions = queued(&state);
    assert!(
        actions.contains(&Action::MoveCalendarEvent { tour: held }),
        "{actions:?}"
    );
    assert!(
        !actions
            .iter()
            .any(|a| a.message_kind() == Some(EmailKind::RescheduleNotice)),
        "no notice of a move that did not happen: {actions:?}"
    );
    assert!(
        actions
            .iter()
            .any(|a| a.message_kind() == Some(EmailKind::SlotUnavailable)),
        "{actions:?}"
    );
    let refusal = state
        .refused_events()
        .last()
        .expect("the refusal is recorded");
    assert_eq!(refusal.event, "reschedule");
    assert!(
        refusal.reason.contains("already booked"),
        "{}",
        refusal.reason
    );
    for step in state.plan() {
        assert!(
            step.due <= held.start(),
            "{} is planned from the refused time",
            step.key
        );
    }
}

#[test]
fn a_confirmed_private_viewing_is_held_only_after_the_calendar_is_checked() {
    use crate::ledger::{ReserveOutcome, ReserveStatus};
    use crate::lifecycle::{AfterCalendarCheck, AfterReserve};
    let confirmed = ReserveOutcome {
        status: ReserveStatus::Confirmed,
        waitlist_position: 0,
        reason: String::new(),
        alternatives: Vec::new(),
    };
    let mut state = started(TimeDelta::days(3));
    assert_eq!(
        state.slot_reserved(&confirmed, t0()),
        AfterReserve::CheckCalendar
    );
    assert_eq!(state.slot(), &Slot::Untracked, "nothing decided yet");
    assert_eq!(
        state.calendar_checked(true, [], t0()),
        AfterCalendarCheck::Held
    );
    assert_eq!(state.slot(), &Slot::Held);
}

#[test]
fn a_busy_calendar_refuses_and_offers_the_first_window_after_the_busy_time() {
    let mut state = started(TimeDelta::days(3));
    let tour = state.tour();
    let busy_ends = [
        tour.start() + TimeDelta::minutes(15),
        tour.end() + TimeDelta::minutes(45),
    ];
    assert_eq!(
        state.calendar_checked(false, busy_ends, t0()),
        crate::lifecycle::AfterCalendarCheck::ReleaseSlot
    );
    assert_eq!(state.status(), BookingStatus::Cancelled);
    match state.slot() {
        Slot::Refused {
            reason,
            alternatives,
        } => {
            assert_eq!(reason, "the agent's calendar is busy at that time");
            assert_eq!(alternatives.len(), 1);
            assert_eq!(alternatives[0].start, busy_ends[1]);
            assert_eq!(
                alternatives[0].end - alternatives[0].start,
                tour.end() - tour.start()
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn an_open_house_seat_needs_no_calendar_check_and_a_full_one_waitlists() {
    use crate::ledger::{ReserveOutcome, ReserveStatus};
    use crate::lifecycle::AfterReserve;
    let mut request = super::booking(super::slot(t0() + TimeDelta::days(3)));
    request.kind = booking_proto::v1::BookingKind::OpenHouse;
    request.request.kind = booking_proto::v1::BookingKind::OpenHouse as i32;
    let fresh = || {
        crate::lifecycle::BookingState::start(
            request.clone(),
            t0(),
            crate::lifecycle::FollowUpPolicy::default(),
        )
        .unwrap()
        .0
    };
    let answer = |status, position| ReserveOutcome {
        status,
        waitlist_position: position,
        reason: String::new(),
        alternatives: Vec::new(),
    };
    let mut seated = fresh();
    assert_eq!(
        seated.slot_reserved(&answer(ReserveStatus::Confirmed, 0), t0()),
        AfterReserve::Settled
    );
    assert_eq!(seated.slot(), &Slot::Held);
    let mut full = fresh();
    assert_eq!(
        full.slot_reserved(&answer(ReserveStatus::Waitlisted, 3), t0()),
        AfterReserve::Settled
    );
    assert_eq!(full.slot(), &Slot::Waitlisted { position: 3 });
}
