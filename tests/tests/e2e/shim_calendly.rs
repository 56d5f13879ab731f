//! Calendly webhooks through the shim on a real Temporal dev server: redeliveries make one
//! booking and one calendar event; a reschedule pair in either order, and a chain of
//! reschedules, move one booking; a plain cancel cancels it.

use booking_proto::{domain::BookingId, v1::BookingStatus};
use booking_sandbox::{
    BookInvitee, CancelInvitee, RescheduleInvitee, RescheduleOrder, WebhookDelivery,
};
use booking_tests::{TestApp, WAIT, eventually, hours_from_now as at, tour_start as starts_at};

fn lead() -> String {
    format!("lead+{}@example.com", uuid::Uuid::new_v4().simple())
}

fn booking_of(invitee_uuid: &str) -> BookingId {
    BookingId::parse(&format!("cal-{invitee_uuid}")).expect("a valid booking id")
}

fn answered(delivery: &WebhookDelivery) -> Option<u16> {
    delivery.attempts.last().and_then(|a| a.status)
}

async fn live_calendar_events(app: &TestApp, booking: &BookingId) -> usize {
    app.calendar_events(booking)
        .await
        .iter()
        .filter(|e| e.status != "cancelled")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_delivered_three_times_makes_one_booking_and_one_calendar_event() {
    let app = TestApp::spawn().await;
    let _shim = app.spawn_shim().await;
    let booked = app
        .sandbox
        .book_calendly(&BookInvitee::new(lead(), "Lena Lead", at(48)))
        .await
        .expect("the sandbox books");
    let created = &booked.deliveries[0];
    assert_eq!(answered(created), Some(200), "{created:?}");
    for _ in 0..2 {
        let again = app
            .sandbox
            .redeliver(&created.id)
            .await
            .expect("redelivered");
        assert_eq!(answered(&again), Some(200), "{again:?}");
    }
    let booking = booking_of(&booked.invitee.uuid);
    let snapshot = app
        .snapshot_where(&booking, "the calendar event", |s| {
            s.external_ids
                .as_ref()
                .is_some_and(|x| !x.calendar_event_id.is_empty())
        })
        .await;
    assert_eq!(starts_at(&snapshot), Some(at(48)));
    assert_eq!(app.calendar_events(&booking).await.len(), 1);
}

async fn reschedule_pair_lands_on_one_booking(order: RescheduleOrder) {
    let app = TestApp::spawn().await;
    let _shim = app.spawn_shim().await;
    let booked = app
        .sandbox
        .book_calendly(&BookInvitee::new(lead(), "Rae Lead", at(48)))
        .await
        .expect("the sandbox books");
    let booking = booking_of(&booked.invitee.uuid);
    app.snapshot_where(&booking, "the calendar event", |s| {
        s.external_ids
            .as_ref()
            .is_some_and(|x| !x.calendar_event_id.is_empty())
    })
    .await;
    let mut move_to = RescheduleInvitee::to(at(72));
    move_to.order = order;
    let moved = app
        .sandbox
        .reschedule_calendly(&booked.invitee.uuid, &move_to)
        .await
        .expect("the sandbox reschedules");
    for delivery in &moved.deliveries {
        assert_eq!(answered(delivery), Some(200), "{delivery:?}");
    }
    let snapshot = app
        .snapshot_where(&booking, "the booking at the new time", |s| {
            starts_at(s) == Some(at(72))
        })
        .await;
    assert_ne!(snapshot.status(), BookingStatus::Cancelled);
    let new_booking = booking_of(&moved.new_invitee.uuid);
    assert!(
        booking_starter::booking_client::status(&app.client, &new_booking)
            .await
            .is_err(),
        "the new invitee must not make a second booking"
    );
    eventually("the calendar event moved, not duplicated", WAIT, || async {
        let events = app.calendar_events(&booking).await;
        (events.len() == 1 && live_calendar_events(&app, &booking).await == 1).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reschedule_pair_cancel_first_moves_one_booking() {
    reschedule_pair_lands_on_one_booking(RescheduleOrder::CancelFirst).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reschedule_pair_create_first_moves_one_booking() {
    reschedule_pair_lands_on_one_booking(RescheduleOrder::CreateFirst).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_of_reschedules_stays_one_booking_and_a_plain_cancel_cancels_it() {
    let app = TestApp::spawn().await;
    let _shim = app.spawn_shim().await;
    let booked = app
        .sandbox
        .book_calendly(&BookInvitee::new(lead(), "Cher Lead", at(48)))
        .await
        .expect("the sandbox books");
    let booking = booking_of(&booked.invitee.uuid);
    let first = app
        .sandbox
        .reschedule_calendly(&booked.invitee.uuid, &RescheduleInvitee::to(at(60)))
        .await
        .expect("first reschedule");
    let mut second_move = RescheduleInvitee::to(at(84));
    second_move.order = RescheduleOrder::CreateFirst;
    let second = app
        .sandbox
        .reschedule_calendly(&first.new_invitee.uuid, &second_move)
        .await
        .expect("second reschedule");
    for delivery in first.deliveries.iter().chain(&second.deliveries) {
        assert_eq!(answered(delivery), Some(200), "{delivery:?}");
    }
    app.snapshot_where(&booking, "the booking at the third time", |s| {
        starts_at(s) == Some(at(84)) && s.status() != BookingStatus::Cancelled
    })
    .await;

    // A late redelivery of the first reschedule's create must not move the tour back.
    let stale = first
        .deliveries
        .iter()
        .find(|d| d.event == "invitee.created")
        .expect("the create half");
    let again = app.sandbox.redeliver(&stale.id).await.expect("redelivered");
    assert_eq!(answered(&again), Some(200));

    let cancelled = app
        .sandbox
        .cancel_calendly(&second.new_invitee.uuid, &CancelInvitee::default())
        .await
        .expect("the sandbox cancels");
    assert_eq!(answered(&cancelled.deliveries[0]), Some(200));
    let snapshot = app
        .snapshot_where(&booking, "the cancelled booking", |s| {
            s.status() == BookingStatus::Cancelled
        })
        .await;
    assert_eq!(starts_at(&snapshot), Some(at(84)));
}
