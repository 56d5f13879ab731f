//! Reconciliation on a real dev server: what webhooks missed is repaired by one run, and a
//! second run right after finds nothing to repair.
//!
//! One engine holds three Calendly bookings: one whose creation webhook was never delivered,
//! one whose cancellation webhook was dropped, and one whose calendar event was deleted by
//! hand in the calendar.

use booking_proto::{
    domain::BookingId,
    v1::{BookingSnapshot, BookingStatus},
};
use booking_sandbox::{BookInvitee, CancelInvitee};
use booking_starter::booking_client;
use booking_tests::{TestApp, WAIT, eventually, hours_from_now as at};

fn lead() -> String {
    format!("lead+{}@example.com", uuid::Uuid::new_v4().simple())
}

fn booking_of(invitee_uuid: &str) -> BookingId {
    BookingId::parse(&format!("cal-{invitee_uuid}")).expect("a valid booking id")
}

fn has_calendar_event(s: &BookingSnapshot) -> bool {
    s.external_ids
        .as_ref()
        .is_some_and(|x| !x.calendar_event_id.is_empty())
}

async fn live_event(app: &TestApp, booking: &BookingId) -> bool {
    app.calendar_events(booking)
        .await
        .iter()
        .any(|e| e.status != "cancelled")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_run_repairs_missed_webhooks_and_drift_and_a_second_run_repairs_nothing() {
    let app = TestApp::spawn().await;
    let _shim = app.spawn_shim().await;

    // Delivered normally; its calendar event will be deleted by hand.
    let drifted = app
        .sandbox
        .book_calendly(&BookInvitee::new(lead(), "Dee Drift", at(30)))
        .await
        .expect("the sandbox books");
    let drifted_id = booking_of(&drifted.invitee.uuid);
    // Delivered normally; its cancellation webhook is dropped.
    let cancelled = app
        .sandbox
        .book_calendly(&BookInvitee::new(lead(), "Cal Cancel", at(40)))
        .await
        .expect("the sandbox books");
    let cancelled_id = booking_of(&cancelled.invitee.uuid);
    for id in [&drifted_id, &cancelled_id] {
        app.snapshot_where(id, "the calendar event", has_calendar_event)
            .await;
    }
    app.sandbox
        .cancel_calendly(
            &cancelled.invitee.uuid,
            &CancelInvitee {
                reason: Some("changed plans".into()),
                deliver: false,
                ..CancelInvitee::default()
            },
        )
        .await
        .expect("the sandbox cancels");
    // Never delivered at all.
    let mut missed = BookInvitee::new(lead(), "Miss Ed", at(50));
    missed.deliver = false;
    let missed = app
        .sandbox
        .book_calendly(&missed)
        .await
        .expect("the sandbox books");
    let missed_id = booking_of(&missed.invitee.uuid);
    app.delete_calendar_event_by_hand(&drifted_id).await;
    assert!(!live_event(&app, &drifted_id).await);
    assert!(
        matches!(
            booking_client::status(&app.client, &missed_id).await,
            Err(booking_client::BookingClientError::NotFound(_))
        ),
        "the engine never heard of the missed booking"
    );

    let first = app.reconcile().await;
    assert_eq!(first.repaired.missed_bookings, 1, "{first:#?}");
    assert_eq!(first.repaired.missed_cancellations, 1, "{first:#?}");
    assert_eq!(first.repaired.calendar_recreated, 1, "{first:#?}");
    assert_eq!(first.repaired.calendar_moved, 0, "{first:#?}");
    assert_eq!(first.repaired.missed_reschedules, 0, "{first:#?}");
    assert!(first.orphans.is_empty(), "{first:#?}");
    assert!(first.unresolved.is_empty(), "{first:#?}");
    assert_eq!(first.checked, 3, "{first:#?}");

    let started = app
        .snapshot_where(
            &missed_id,
            "the missed booking's calendar event",
            has_calendar_event,
        )
        .await;
    assert_eq!(started.lead_email, missed.invitee.email.to_lowercase());
    app.snapshot_where(&cancelled_id, "the dropped cancellation", |s| {
        s.status() == BookingStatus::Cancelled
    })
    .await;
    assert!(
        live_event(&app, &drifted_id).await,
        "the deleted event is back"
    );
    // The cancellation finishes its own work (the engine deletes its event) before the next run.
    eventually(
        "the cancelled booking's event to be removed",
        WAIT,
        || async { (!live_event(&app, &cancelled_id).await).then_some(()) },
    )
    .await;

    let second = app.reconcile().await;
    assert_eq!(second.repaired.total(), 0, "{second:#?}");
    assert!(second.orphans.is_empty(), "{second:#?}");
    assert!(second.unresolved.is_empty(), "{second:#?}");
    assert_eq!(
        app.calendar_events(&drifted_id).await.len(),
        1,
        "restored, never a second event"
    );
}
