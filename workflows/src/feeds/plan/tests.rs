use booking_activities::feeds::FeedName;
use chrono::{Duration, TimeZone};

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 5, 9, 0, 0).unwrap()
}

fn config() -> FeedConfig {
    FeedConfig {
        name: FeedName::parse("harbour").unwrap(),
        url: "https://example.com/harbour.ics".into(),
        agent_id: "captain-1".into(),
        property_id: "boat-7".into(),
        poll_interval_secs: 900,
        fallback_email: None,
    }
}

fn event(uid: &str, days: i64) -> FeedEvent {
    let start = now() + Duration::days(days);
    FeedEvent {
        uid: uid.into(),
        start,
        end: start + Duration::hours(2),
        sequence: 0,
        cancelled: false,
        summary: "Sunset cruise".into(),
        description: String::new(),
        attendee_email: Some(format!("{uid}@example.com")),
        attendee_name: Some("Jane Doe".into()),
    }
}

fn feed(events: Vec<FeedEvent>) -> ParsedFeed {
    ParsedFeed {
        events,
        skipped: vec![],
    }
}

/// The knowledge after applying every change of a plan from empty knowledge.
fn known_after(events: Vec<FeedEvent>) -> FeedKnowledge {
    let decided = plan(
        now(),
        &config(),
        &FeedKnowledge::default(),
        &feed(events),
        false,
        "r",
    );
    let mut known = FeedKnowledge::default();
    remember(&mut known, &decided.changes, &decided.forget);
    known
}

fn kinds(p: &FeedPlan) -> Vec<ChangeKind> {
    p.changes.iter().map(|c| c.kind).collect()
}

#[test]
fn new_events_start_bookings_with_ids_from_the_uid() {
    let p = plan(
        now(),
        &config(),
        &FeedKnowledge::default(),
        &feed(vec![event("a", 1), event("b", 2)]),
        false,
        "run-1",
    );
    assert_eq!(kinds(&p), [ChangeKind::New, ChangeKind::New]);
    let of_a = p
        .changes
        .iter()
        .find(|c| c.after.uid == "a")
        .expect("a's change");
    let Some(BookingCommand::Start { request }) = &of_a.command else {
        panic!("a start: {of_a:?}");
    };
    assert_eq!(request.booking_id, config().name.booking_id("a"));
    assert!(
        request.event_id.ends_with(":seq0:created"),
        "{}",
        request.event_id
    );
    assert_eq!(request.source, BookingSource::IcalFeed as i32);
    assert_eq!(request.agent_id, "captain-1");
    assert_eq!(request.lead.as_ref().unwrap().email, "a@example.com");
}

#[test]
fn a_repeated_poll_changes_nothing() {
    let events = vec![event("a", 1), event("b", 2)];
    let known = known_after(events.clone());
    let again = plan(now(), &config(), &known, &feed(events), false, "run-2");
    assert_eq!(again, FeedPlan::default());
}

#[test]
fn a_moved_event_reschedules_with_an_id_of_uid_sequence_and_start() {
    let known = known_after(vec![event("a", 1)]);
    let mut moved = event("a", 3);
    moved.sequence = 1;
    let p = plan(
        now(),
        &config(),
        &known,
        &feed(vec![moved.clone()]),
        false,
        "r",
    );
    assert_eq!(kinds(&p), [ChangeKind::Moved]);
    let Some(BookingCommand::Reschedule { signal, .. }) = &p.changes[0].command else {
        panic!("a reschedule");
    };
    assert_eq!(
        signal.event_id,
        format!(
            "ical:harbour:{}:seq1:at:{}",
            uid_digest("a"),
            moved.start.timestamp()
        )
    );
}

#[test]
fn a_cancelled_or_vanished_event_cancels_once() {
    let known = known_after(vec![event("a", 1), event("b", 2), event("c", 3)]);
    let mut cancelled = event("a", 1);
    cancelled.cancelled = true;
    cancelled.sequence = 2;
    let p = plan(
        now(),
        &config(),
        &known,
        &feed(vec![cancelled, event("c", 3)]),
        false,
        "r",
    );
    assert_eq!(kinds(&p), [ChangeKind::Cancelled, ChangeKind::Vanished]);
    let ids: Vec<_> = p
        .changes
        .iter()
        .map(|c| match &c.command {
            Some(BookingCommand::Cancel { signal, request }) => {
                (signal.event_id.clone(), request.booking_id.clone())
            }
            other => panic!("a cancel: {other:?}"),
        })
        .collect();
    assert_eq!(
        ids,
        [
            (
                format!("ical:harbour:{}:cancelled", uid_digest("a")),
                config().name.booking_id("a")
            ),
            (
                format!("ical:harbour:{}:cancelled", uid_digest("b")),
                config().name.booking_id("b")
            ),
        ]
    );
    let mut after = known.clone();
    remember(&mut after, &p.changes, &p.forget);
    let mut cancelled = event("a", 1);
    cancelled.cancelled = true;
    let again = plan(
        now(),
        &config(),
        &after,
        &feed(vec![cancelled, event("c", 3)]),
        false,
        "r",
    );
    assert!(again.changes.is_empty(), "{again:?}");
}

#[test]
fn an_emptied_feed_is_held_and_cancels_nothing() {
    let known = known_after(vec![event("a", 1)]);
    let p = plan(now(), &config(), &known, &feed(vec![]), false, "r");
    assert!(p.changes.is_empty());
    assert!(p.held.as_deref().unwrap().contains("no events"), "{p:?}");
    let accepted = plan(now(), &config(), &known, &feed(vec![]), true, "r");
    assert_eq!(kinds(&accepted), [ChangeKind::Vanished]);
    assert_eq!(accepted.held, None);
}

#[test]
fn a_feed_dropping_most_upcoming_events_is_held_but_one_drop_is_applied() {
    let all: Vec<_> = (1..=4).map(|d| event(&format!("e{d}"), d)).collect();
    let known = known_after(all.clone());
    let one_gone = plan(
        now(),
        &config(),
        &known,
        &feed(all[1..].to_vec()),
        false,
        "r",
    );
    assert_eq!(kinds(&one_gone), [ChangeKind::Vanished]);
    assert_eq!(one_gone.held, None);
    let three_gone = plan(
        now(),
        &config(),
        &known,
        &feed(all[3..].to_vec()),
        false,
        "r",
    );
    assert!(three_gone.changes.is_empty());
    assert!(three_gone.held.unwrap().contains("3 of the 4"));
}

#[test]
fn past_events_are_neither_booked_nor_cancelled_and_are_forgotten_once_gone() {
    let mut known = known_after(vec![event("a", 1)]);
    let p = plan(
        now(),
        &config(),
        &FeedKnowledge::default(),
        &feed(vec![event("old", -1)]),
        false,
        "r",
    );
    assert!(p.changes.is_empty());
    let later = now() + Duration::days(2);
    let p = plan(
        later,
        &config(),
        &known,
        &feed(vec![event("b", 5)]),
        false,
        "r",
    );
    assert_eq!(kinds(&p), [ChangeKind::New]);
    assert_eq!(p.forget, [uid_digest("a")]);
    remember(&mut known, &p.changes, &p.forget);
    assert_eq!(known.events.len(), 1);
}

#[test]
fn an_event_without_an_email_is_an_issue_unless_the_feed_has_a_fallback() {
    let mut anonymous = event("a", 1);
    anonymous.attendee_email = None;
    let p = plan(
        now(),
        &config(),
        &FeedKnowledge::default(),
        &feed(vec![anonymous.clone()]),
        false,
        "r",
    );
    assert!(p.changes.is_empty());
    assert!(p.issues[0].reason.contains("--fallback-email"), "{p:?}");
    let with_fallback = FeedConfig {
        fallback_email: Some("owner@harbour.example".into()),
        ..config()
    };
    let p = plan(
        now(),
        &with_fallback,
        &FeedKnowledge::default(),
        &feed(vec![anonymous]),
        false,
        "r",
    );
    assert_eq!(kinds(&p), [ChangeKind::New]);
}

#[test]
fn a_listed_cancelled_event_never_booked_is_only_noted_and_a_reopened_one_is_an_issue() {
    let mut cancelled = event("a", 1);
    cancelled.cancelled = true;
    let p = plan(
        now(),
        &config(),
        &FeedKnowledge::default(),
        &feed(vec![cancelled.clone()]),
        false,
        "r",
    );
    assert_eq!(kinds(&p), [ChangeKind::Noted]);
    assert_eq!(p.changes[0].command, None);
    let mut known = FeedKnowledge::default();
    remember(&mut known, &p.changes, &p.forget);
    let reopened = plan(
        now(),
        &config(),
        &known,
        &feed(vec![event("a", 1)]),
        false,
        "r",
    );
    assert!(reopened.changes.is_empty());
    assert!(reopened.issues[0].reason.contains("never reopened"));
}

#[test]
fn a_failed_hand_off_is_not_remembered_so_the_next_run_retries_it() {
    let p = plan(
        now(),
        &config(),
        &FeedKnowledge::default(),
        &feed(vec![event("a", 1), event("b", 2)]),
        false,
        "r",
    );
    let mut known = FeedKnowledge::default();
    let handed: Vec<_> = p
        .changes
        .iter()
        .filter(|c| c.after.uid == "a")
        .cloned()
        .collect();
    remember(&mut known, &handed, &p.forget);
    let next = plan(
        now(),
        &config(),
        &known,
        &feed(vec![event("a", 1), event("b", 2)]),
        false,
        "r",
    );
    assert_eq!(kinds(&next), [ChangeKind::New]);
    assert_eq!(next.changes[0].after.uid, "b");
}
