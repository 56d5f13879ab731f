//! Bookings through their slot ledger, end to end on a real dev server: two leads racing for
//! one agent slot, and an open house filling up, waitlisting, and promoting on cancellations.

use booking_proto::{
    domain::{BookingId, TourSlot},
    v1::{BookingKind, BookingRequest, BookingSnapshot, BookingStatus},
};
use booking_starter::booking_client::BookingSignal;
use booking_tests::{TestApp, WAIT, booking_starting_in, eventually};
use booking_workflows::ledger::{
    Availability, LedgerConfig, LedgerStart, ResourceKind, SlotLedgerWorkflow, ledger_workflow_id,
};
use chrono::{Duration, Utc};
use temporalio_client::{WorkflowQueryOptions, WorkflowStartOptions};

fn tour_in_days(days: i64) -> TourSlot {
    let start = Utc::now() + Duration::days(days);
    let start = start - Duration::nanoseconds(start.timestamp_subsec_nanos() as i64);
    TourSlot::new(start, start + Duration::minutes(45)).unwrap()
}

fn request_for(tour: TourSlot) -> BookingRequest {
    let mut request = booking_starting_in(Duration::days(3));
    request.tour = Some(tour.to_proto());
    request
}

async fn ledger_state(app: &TestApp, ledger_id: &str) -> Option<Availability> {
    app.client
        .get_workflow_handle::<SlotLedgerWorkflow>(ledger_id.to_owned())
        .query(
            SlotLedgerWorkflow::availability,
            (),
            WorkflowQueryOptions::default(),
        )
        .await
        .ok()
}

async fn slot_answered(app: &TestApp, id: &BookingId) -> BookingSnapshot {
    app.snapshot_where(id, "the ledger's answer", |s| {
        matches!(s.slot.as_str(), "held" | "refused" | "waitlisted")
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_bookings_racing_for_one_agent_slot_one_wins_one_is_refused() {
    let app = TestApp::spawn().await;
    let tour = tour_in_days(3);
    let (a, b) = tokio::join!(app.start(request_for(tour)), app.start(request_for(tour)));
    let (sa, sb) = tokio::join!(slot_answered(&app, &a), slot_answered(&app, &b));
    let (winner, loser) = match (sa.slot.as_str(), sb.slot.as_str()) {
        ("held", "refused") => (a, b),
        ("refused", "held") => (b, a),
        other => panic!("exactly one must win: {other:?}"),
    };
    let refused = app.result(&loser).await;
    assert_eq!(refused.status(), BookingStatus::Cancelled);
    assert!(
        refused.refusal_reason.contains("already booked"),
        "{}",
        refused.refusal_reason
    );
    assert!(!refused.alternatives.is_empty(), "alternatives are offered");
    assert_eq!(app.email_steps(&loser).await, ["slot-unavailable"]);
    assert!(app.calendar_events(&loser).await.is_empty());

    app.wait_for_email(&winner, "ask-to-confirm").await;
    let ledger = ledger_state(&app, &LedgerConfig::agent("agent-alex").workflow_id())
        .await
        .expect("the agent's ledger runs");
    assert_eq!(ledger.reservations.len(), 1);
    assert_eq!(ledger.reservations[0].booking_id, winner.as_str());

    // Cancelling the winner gives the slot back.
    app.signal(
        &winner,
        "cancel-1",
        BookingSignal::Cancel {
            reason: "plans changed".into(),
            cancelled_by: "lead".into(),
        },
    )
    .await;
    eventually("the slot is released", WAIT, || async {
        ledger_state(&app, &LedgerConfig::agent("agent-alex").workflow_id())
            .await
            .filter(|l| l.reservations.is_empty())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_house_fills_waitlists_and_promotes_the_next_in_line() {
    const SEATS: u32 = 5;
    const RSVPS: usize = 20;
    let app = TestApp::spawn().await;
    let property = format!("oh-{}", uuid::Uuid::new_v4().simple());
    let ledger_id = ledger_workflow_id(ResourceKind::OpenHouse, &property);
    app.client
        .start_workflow(
            SlotLedgerWorkflow::run,
            LedgerStart {
                config: LedgerConfig::open_house(&property, SEATS),
                carried: None,
            },
            WorkflowStartOptions::new(app.task_queue.clone(), ledger_id.clone()).build(),
        )
        .await
        .expect("the open house's ledger starts");

    let tour = tour_in_days(5);
    let requests: Vec<BookingRequest> = (0..RSVPS)
        .map(|_| {
            let mut request = request_for(tour);
            request.kind = BookingKind::OpenHouse as i32;
            request.property_id = property.clone();
            request
        })
        .collect();
    let ids = futures::future::join_all(requests.into_iter().map(|r| app.start(r))).await;

    let full = eventually("every RSVP reached the ledger", WAIT, || async {
        ledger_state(&app, &ledger_id)
            .await
            .filter(|l| l.reservations.len() + l.waitlist.len() == RSVPS)
    })
    .await;
    assert_eq!(full.reservations.len(), SEATS as usize, "never overbooked");
    assert_eq!(full.waitlist_length, (RSVPS - SEATS as usize) as u32);
    assert_eq!(full.seats_left, 0);

    let id_of = |raw: &str| ids.iter().find(|id| id.as_str() == raw).unwrap().clone();
    for holding in &full.waitlist {
        let id = id_of(&holding.booking_id);
        app.wait_for_email(&id, "waitlisted").await;
        let snapshot = slot_answered(&app, &id).await;
        assert_eq!(snapshot.slot, "waitlisted");
        assert!(app.calendar_events(&id).await.is_empty());
    }

    let next_in_line: Vec<String> = full
        .waitlist
        .iter()
        .take(SEATS as usize)
        .map(|h| h.booking_id.clone())
        .collect();
    for (n, holding) in full.reservations.iter().enumerate() {
        app.signal(
            &id_of(&holding.booking_id),
            &format!("cancel-{n}"),
            BookingSignal::Cancel {
                reason: "cannot make it".into(),
                cancelled_by: "lead".into(),
            },
        )
        .await;
    }
    let after = eventually("the freed seats were given out", WAIT, || async {
        ledger_state(&app, &ledger_id).await.filter(|l| {
            l.waitlist_length == (RSVPS - 2 * SEATS as usize) as u32
                && l.reservations.len() == SEATS as usize
        })
    })
    .await;
    let mut holders: Vec<String> = after
        .reservations
        .iter()
        .map(|h| h.booking_id.clone())
        .collect();
    holders.sort();
    let mut expected = next_in_line.clone();
    expected.sort();
    assert_eq!(holders, expected, "exactly the next five in line");
    for raw in &next_in_line {
        let id = id_of(raw);
        app.wait_for_email(&id, "seat-granted").await;
        app.snapshot_where(&id, "the promoted booking holds its seat", |s| {
            s.slot == "held" && s.status() == BookingStatus::PendingConfirmation
        })
        .await;
        app.wait_for_email(&id, "ask-to-confirm").await;
    }
    app.record_history(&id_of(&next_in_line[0]), "open_house_waitlist")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reschedule_into_a_taken_agent_slot_is_refused_and_the_booking_keeps_its_own() {
    let app = TestApp::spawn().await;
    let (first_tour, second_tour) = (tour_in_days(3), tour_in_days(4));
    let first = app.start(request_for(first_tour)).await;
    let second = app.start(request_for(second_tour)).await;
    for id in [&first, &second] {
        app.wait_for_email(id, "ask-to-confirm").await;
    }

    app.signal(
        &second,
        "reschedule-into-first",
        BookingSignal::Reschedule {
            tour: first_tour,
            source_ref: String::new(),
        },
    )
    .await;
    let refused = app
        .snapshot_where(&second, "the refused reschedule", |s| {
            s.refused_events.iter().any(|r| r.event == "reschedule")
        })
        .await;
    let reason = &refused
        .refused_events
        .iter()
        .find(|r| r.event == "reschedule")
        .unwrap()
        .reason;
    assert!(reason.contains("not available"), "{reason}");
    app.wait_for_email(&second, "reschedule-refused#").await;
    assert!(
        !app.email_steps(&second)
            .await
            .iter()
            .any(|s| s.starts_with("reschedule-notice")),
        "no notice of a move that did not happen"
    );
    let kept = app
        .snapshot_where(&second, "every queued action to have run", |s| {
            // Queued actions are the pending entries without a due time.
            s.steps_pending.iter().all(|p| p.due_at.is_some())
        })
        .await;
    assert_eq!(kept.tour, Some(second_tour.to_proto()));

    // The agent's calendar and ledger hold each booking once, at its own time.
    for (id, tour) in [(&first, first_tour), (&second, second_tour)] {
        let events = app.calendar_events(id).await;
        assert_eq!(events.len(), 1);
        let start = events[0].start.date_time.as_deref().unwrap();
        assert_eq!(
            chrono::DateTime::parse_from_rfc3339(start).unwrap(),
            tour.start()
        );
    }
    let ledger = ledger_state(&app, &LedgerConfig::agent("agent-alex").workflow_id())
        .await
        .expect("the agent's ledger runs");
    assert_eq!(ledger.reservations.len(), 2);
}
