//! Calendly deliveries in unusual orders, counted exactly in the sandbox: a cancel for an
//! invitee the engine never saw (alone, then followed by its late create) touches no provider;
//! a cancel after its create cancels the booking once; a booking whose tour already started
//! is refused, answered 2xx, and shows its reason to operators.
//!
//! Run with `BOOKINGS_RECORD_HISTORIES=1` to refresh `cancelled_before_created.json` and
//! `refused_past_start.json` for `replay.rs`.

use booking_proto::{domain::BookingId, v1::BookingStatus};
use booking_sandbox::{BookInvitee, CancelInvitee, WebhookDelivery};
use booking_tests::{TestApp, WAIT, eventually, hours_from_now as at, run_cli};

fn lead() -> String {
    format!("lead+{}@example.com", uuid::Uuid::new_v4().simple())
}

fn booking_of(invitee_uuid: &str) -> BookingId {
    BookingId::parse(&format!("cal-{invitee_uuid}")).expect("a valid booking id")
}

fn answered(delivery: &WebhookDelivery) -> Option<u16> {
    delivery.attempts.last().and_then(|a| a.status)
}

/// What the booking left in each provider: calendar events (deleted ones too), CRM contacts
/// and emails.
async fn footprint(app: &TestApp, booking: &BookingId) -> (usize, usize, Vec<String>) {
    let events = app.calendar_events(booking).await.len();
    let contacts = app
        .sandbox
        .contacts()
        .await
        .expect("the sandbox lists its contacts")
        .iter()
        .filter(|c| c.property("booking_id") == Some(booking.as_str()))
        .count();
    (events, contacts, app.email_steps(booking).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_for_an_invitee_never_seen_touches_nothing_and_its_late_create_changes_nothing() {
    let app = TestApp::spawn().await;
    let _shim = app.spawn_shim().await;
    // The create is lost on the way (Calendly gave up, or it is still in its retry queue).
    let mut missed = BookInvitee::new(lead(), "Cass Lead", at(48));
    missed.deliver = false;
    let booked = app
        .sandbox
        .book_calendly(&missed)
        .await
        .expect("the sandbox books");
    let booking = booking_of(&booked.invitee.uuid);
    let cancelled = app
        .sandbox
        .cancel_calendly(&booked.invitee.uuid, &CancelInvitee::default())
        .await
        .expect("the sandbox cancels");
    assert_eq!(answered(&cancelled.deliveries[0]), Some(200));

    let result = app.result(&booking).await;
    assert_eq!(result.status(), BookingStatus::Cancelled);
    assert!(
        result
            .steps_done
            .iter()
            .any(|s| s.name == "cancelled before created"),
        "the no-op is recorded for operators: {:?}",
        result.steps_done
    );
    assert_eq!(
        footprint(&app, &booking).await,
        (0, 0, vec![]),
        "no calendar event, CRM contact or email for a cancel-only invitee"
    );

    // The create arrives after all: the booking stays cancelled and still nothing is done.
    let create = booked
        .deliveries
        .iter()
        .find(|d| d.event == "invitee.created")
        .expect("the suppressed create");
    let late = app
        .sandbox
        .redeliver(&create.id)
        .await
        .expect("redelivered");
    assert_eq!(answered(&late), Some(200), "{late:?}");
    let snapshot = app.snapshot_where(&booking, "the booking", |_| true).await;
    assert_eq!(snapshot.status(), BookingStatus::Cancelled);
    assert_eq!(footprint(&app, &booking).await, (0, 0, vec![]));
    app.record_history(&booking, "cancelled_before_created")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_after_its_create_cancels_the_booking_once() {
    let app = TestApp::spawn().await;
    let _shim = app.spawn_shim().await;
    let booked = app
        .sandbox
        .book_calendly(&BookInvitee::new(lead(), "Cole Lead", at(48)))
        .await
        .expect("the sandbox books");
    let booking = booking_of(&booked.invitee.uuid);
    app.wait_for_email(&booking, "ask-to-confirm").await;
    let cancelled = app
        .sandbox
        .cancel_calendly(&booked.invitee.uuid, &CancelInvitee::default())
        .await
        .expect("the sandbox cancels");
    assert_eq!(answered(&cancelled.deliveries[0]), Some(200));
    let again = app
        .sandbox
        .redeliver(&cancelled.deliveries[0].id)
        .await
        .expect("redelivered");
    assert_eq!(answered(&again), Some(200));
    let result = app.result(&booking).await;
    assert_eq!(result.status(), BookingStatus::Cancelled);
    let (events, contacts, emails) = footprint(&app, &booking).await;
    assert_eq!(
        (events, contacts),
        (1, 1),
        "one event (deleted), one contact"
    );
    assert_eq!(emails, ["ask-to-confirm", "cancellation"]);
    let calendar = app.calendar_events(&booking).await;
    assert_eq!(calendar[0].status, "cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_whose_tour_already_started_is_refused_with_its_reason() {
    let app = TestApp::spawn().await;
    let _shim = app.spawn_shim().await;
    let booked = app
        .sandbox
        .book_calendly(&BookInvitee::new(lead(), "Pat Past", at(-48)))
        .await
        .expect("the sandbox books");
    // Answered 2xx: Calendly must not retry what will never be accepted.
    assert_eq!(answered(&booked.deliveries[0]), Some(200));
    let booking = booking_of(&booked.invitee.uuid);
    let result = app.result(&booking).await;
    assert_eq!(result.status(), BookingStatus::Cancelled);
    assert_eq!(result.slot, "refused");
    assert!(
        result.refusal_reason.contains("had already started"),
        "{}",
        result.refusal_reason
    );
    assert_eq!(footprint(&app, &booking).await, (0, 0, vec![]));

    // Operators see why.
    let shown = eventually("bookings show answers", WAIT, || async {
        let run = run_cli({
            let mut c = app.bookings_cli();
            c.args(["show", booking.as_str()]);
            c
        })
        .await;
        (run.code == 0).then_some(run)
    })
    .await;
    let reason = shown.json["snapshot"]["refusalReason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("had already started"), "{}", shown.json);
    app.record_history(&booking, "refused_past_start").await;
}
