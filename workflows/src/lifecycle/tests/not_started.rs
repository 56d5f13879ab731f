//! Bookings that end before they begin: nothing queued, nothing planned, the reason kept.

use chrono::TimeDelta;

use super::super::{BookingStatus, Event, PAST_START_ALLOWANCE, Slot, snapshot};
use super::*;

fn lead_cancel(id: &str) -> Event {
    Event::Cancel {
        event_id: eid(id),
        reason: "changed my mind".into(),
        cancelled_by: "lead".into(),
    }
}

#[test]
fn a_cancel_waiting_at_the_start_ends_the_booking_with_nothing_done() {
    let mut state = started(TimeDelta::hours(48));
    assert!(state.next_action().is_some(), "a fresh booking has work");
    assert!(state.cancel_before_start(&lead_cancel("canceled-1"), t0()));
    assert_eq!(state.status(), BookingStatus::Cancelled);
    assert!(
        state.next_action().is_none(),
        "no calendar, CRM or email action"
    );
    assert!(state.plan().is_empty(), "no reminder planned");
    assert!(state.is_finished());
    assert_eq!(state.slot(), &Slot::Untracked, "no slot was reserved");
    let step = state.steps_done().last().expect("the no-op is recorded");
    assert_eq!(step.name, "cancelled before created");
    assert!(step.detail.contains("changed my mind"), "{}", step.detail);
    // The cancel's redelivery is a duplicate; any later event is refused, not acted on.
    assert_eq!(
        state.apply(lead_cancel("canceled-1"), t0()),
        Ok(Outcome::Duplicate)
    );
    assert!(
        state
            .apply(
                Event::Confirm {
                    event_id: eid("confirm-1")
                },
                t0()
            )
            .is_err()
    );
    assert!(state.next_action().is_none());
}

#[test]
fn only_a_cancel_ends_a_booking_before_it_starts() {
    let mut state = started(TimeDelta::hours(48));
    let before = state.clone();
    assert!(!state.cancel_before_start(&Event::Confirm { event_id: eid("c") }, t0()));
    assert_eq!(state, before);
}

#[test]
fn a_tour_that_already_started_is_refused_with_its_reason_and_nothing_done() {
    let mut state = started(-TimeDelta::hours(48));
    let reason = state.past_start(t0()).expect("two days ago is past");
    assert!(reason.contains("had already started"), "{reason}");
    state.refuse_at_start(&reason, t0());
    assert_eq!(state.status(), BookingStatus::Cancelled);
    assert!(
        state.next_action().is_none(),
        "no calendar, CRM or email action"
    );
    assert!(state.is_finished());
    let view = snapshot(&state);
    assert_eq!(view.slot, "refused");
    assert_eq!(view.refusal_reason, reason);
}

#[test]
fn a_start_within_the_clock_skew_allowance_is_not_past() {
    let just_now = started(-(PAST_START_ALLOWANCE - TimeDelta::seconds(1)));
    assert_eq!(just_now.past_start(t0()), None);
    let too_late = started(-(PAST_START_ALLOWANCE + TimeDelta::seconds(1)));
    assert!(too_late.past_start(t0()).is_some());
    assert_eq!(started(TimeDelta::hours(1)).past_start(t0()), None);
}
