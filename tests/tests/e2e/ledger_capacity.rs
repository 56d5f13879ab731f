//! The slot ledger on a real dev server, driven directly through its updates: concurrent
//! reservations never overbook, releases promote the waitlist in order, continue-as-new loses
//! nothing, and the throughput one ledger sustains.

use std::time::Instant;

use booking_tests::{TestApp, WAIT, eventually, ledger_load};
use booking_workflows::ledger::{
    Availability, LedgerConfig, ReleaseRequest, ReserveOutcome, ReserveRequest, ReserveStatus,
    SlotLedgerWorkflow, Window,
};
use chrono::{Duration, TimeZone, Utc};
use temporalio_client::{WorkflowExecuteUpdateOptions, WorkflowHandle, WorkflowQueryOptions};

/// Concurrent update calls in flight at once: enough to race, modest for a 2-core machine.
const IN_FLIGHT: usize = 24;

fn open_house_window() -> Window {
    let start = Utc.with_ymd_and_hms(2031, 6, 7, 14, 0, 0).unwrap();
    Window {
        start,
        end: start + Duration::hours(2),
    }
}

async fn start_ledger(
    app: &TestApp,
    config: LedgerConfig,
) -> WorkflowHandle<temporalio_client::Client, SlotLedgerWorkflow> {
    ledger_load::start_ledger(&app.client, &app.task_queue, config).await
}

async fn availability(
    handle: &WorkflowHandle<temporalio_client::Client, SlotLedgerWorkflow>,
) -> Availability {
    handle
        .query(
            SlotLedgerWorkflow::availability,
            (),
            WorkflowQueryOptions::default(),
        )
        .await
        .expect("the ledger answers its query")
}

async fn reserve_all(
    handle: &WorkflowHandle<temporalio_client::Client, SlotLedgerWorkflow>,
    ids: Vec<String>,
    window: Window,
) -> Vec<(String, ReserveOutcome)> {
    ledger_load::reserve_all(handle, ids, window, IN_FLIGHT).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_rsvps_fill_fifty_seats_and_promote_in_order() {
    let app = TestApp::spawn().await;
    let ledger = start_ledger(&app, LedgerConfig::open_house("oh-200", 50)).await;
    let ids: Vec<String> = (0..200).map(|n| format!("rsvp-{n:03}")).collect();

    let began = Instant::now();
    let outcomes = reserve_all(&ledger, ids.clone(), open_house_window()).await;
    let elapsed = began.elapsed();
    println!(
        "ledger throughput: {} reservations in {:.2}s = {:.0} reservations/s ({IN_FLIGHT} in flight)",
        outcomes.len(),
        elapsed.as_secs_f64(),
        outcomes.len() as f64 / elapsed.as_secs_f64()
    );

    let confirmed = outcomes
        .iter()
        .filter(|(_, o)| o.status == ReserveStatus::Confirmed)
        .count();
    let waitlisted = outcomes
        .iter()
        .filter(|(_, o)| o.status == ReserveStatus::Waitlisted)
        .count();
    assert_eq!((confirmed, waitlisted), (50, 150));
    let mut positions: Vec<u32> = outcomes
        .iter()
        .filter(|(_, o)| o.status == ReserveStatus::Waitlisted)
        .map(|(_, o)| o.waitlist_position)
        .collect();
    positions.sort_unstable();
    assert_eq!(positions, (1..=150).collect::<Vec<_>>(), "one place each");

    let before = availability(&ledger).await;
    assert_eq!(before.seats_left, 0);
    assert_eq!(before.reservations.len(), 50, "never overbooked");
    assert_eq!(before.waitlist_length, 150);

    // Reserving again is idempotent: same answer, no second seat.
    let again = reserve_all(&ledger, vec![ids[0].clone()], open_house_window()).await;
    let first = outcomes.iter().find(|(id, _)| *id == ids[0]).unwrap();
    assert_eq!(again[0].1, first.1);

    // Cancelling five promotes exactly the next five in line, in order.
    let cancelled: Vec<String> = before
        .reservations
        .iter()
        .take(5)
        .map(|h| h.booking_id.clone())
        .collect();
    let next_in_line: Vec<String> = before
        .waitlist
        .iter()
        .take(5)
        .map(|h| h.booking_id.clone())
        .collect();
    let mut promoted = Vec::new();
    for booking_id in cancelled {
        let outcome = ledger
            .execute_update(
                SlotLedgerWorkflow::release,
                ReleaseRequest { booking_id },
                WorkflowExecuteUpdateOptions::default(),
            )
            .await
            .unwrap();
        assert!(outcome.released);
        promoted.extend(outcome.promoted);
    }
    assert_eq!(promoted, next_in_line);
    let after = availability(&ledger).await;
    assert_eq!(after.reservations.len(), 50);
    assert_eq!(after.waitlist_length, 145);
    assert_eq!(after.seats_left, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_keeps_every_reservation_across_continue_as_new() {
    let app = TestApp::spawn().await;
    let mut config = LedgerConfig::agent("agent-busy");
    config.continue_as_new_after = 10;
    let ledger = start_ledger(&app, config).await;
    let base = Utc.with_ymd_and_hms(2031, 1, 6, 8, 0, 0).unwrap();
    // 45 back-to-back half-hour slots: well past four runs' worth of updates.
    for n in 0..45 {
        let start = base + Duration::minutes(30 * n);
        let outcome = ledger
            .execute_update(
                SlotLedgerWorkflow::reserve,
                ReserveRequest {
                    booking_id: format!("bk-{n}"),
                    window: Window {
                        start,
                        end: start + Duration::minutes(30),
                    },
                    seats: 1,
                    notify_workflow_id: String::new(),
                },
                WorkflowExecuteUpdateOptions::default(),
            )
            .await
            .expect("reservations keep working across runs");
        assert_eq!(outcome.status, ReserveStatus::Confirmed, "slot {n}");
    }
    // The first slot is still held after the hand-overs: a second booking is refused.
    let clash = ledger
        .execute_update(
            SlotLedgerWorkflow::reserve,
            ReserveRequest {
                booking_id: "latecomer".into(),
                window: Window {
                    start: base,
                    end: base + Duration::minutes(30),
                },
                seats: 1,
                notify_workflow_id: String::new(),
            },
            WorkflowExecuteUpdateOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(clash.status, ReserveStatus::Refused);
    assert!(!clash.alternatives.is_empty(), "alternatives are offered");
    let state = eventually("the ledger answers after its runs", WAIT, || async {
        ledger
            .query(
                SlotLedgerWorkflow::availability,
                (),
                WorkflowQueryOptions::default(),
            )
            .await
            .ok()
    })
    .await;
    assert_eq!(state.reservations.len(), 45, "no booking lost");
    assert_eq!(state.total_reservations, 45);
    assert!(state.runs >= 4, "continued as new: {} runs", state.runs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holdings_whose_window_ended_are_dropped_at_continue_as_new() {
    let app = TestApp::spawn().await;
    let mut config = LedgerConfig::agent("agent-long-lived");
    config.continue_as_new_after = 3;
    let ledger = start_ledger(&app, config).await;
    let past = Utc.with_ymd_and_hms(2020, 3, 2, 9, 0, 0).unwrap();
    let future = Utc.with_ymd_and_hms(2031, 3, 3, 9, 0, 0).unwrap();
    // Two tours long over and three to come: the first run takes three updates and continues
    // as new, carrying only what has not ended.
    let windows = [past, past + Duration::hours(1), future]
        .into_iter()
        .chain([future + Duration::hours(1), future + Duration::hours(2)]);
    for (n, start) in windows.enumerate() {
        let outcome = ledger
            .execute_update(
                SlotLedgerWorkflow::reserve,
                ReserveRequest {
                    booking_id: format!("bk-{n}"),
                    window: Window {
                        start,
                        end: start + Duration::minutes(30),
                    },
                    seats: 1,
                    notify_workflow_id: String::new(),
                },
                WorkflowExecuteUpdateOptions::default(),
            )
            .await
            .expect("reservations keep working across runs");
        assert_eq!(outcome.status, ReserveStatus::Confirmed, "slot {n}");
    }
    let state = eventually("the second run answers", WAIT, || async {
        ledger
            .query(
                SlotLedgerWorkflow::availability,
                (),
                WorkflowQueryOptions::default(),
            )
            .await
            .ok()
            .filter(|a| a.runs >= 2)
    })
    .await;
    let held: Vec<&str> = state
        .reservations
        .iter()
        .map(|h| h.booking_id.as_str())
        .collect();
    assert_eq!(held, ["bk-2", "bk-3", "bk-4"], "ended holdings are gone");
    assert_eq!(state.total_reservations, 5, "the total is kept");
}
