//! A booking must look the same after its worker is replaced: the new worker replays the
//! history from scratch, and every decision it re-makes (times recorded, steps planned) must
//! match what the first worker did. A difference here is the nondeterminism a crash exposes.

use booking_starter::booking_client::{self, BookingSignal};
use booking_tests::{TestApp, booking_starting_in};
use chrono::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_worker_rebuilds_exactly_the_same_booking() {
    let mut app = TestApp::spawn_fast().await;
    let id = app.start(booking_starting_in(Duration::seconds(60))).await;
    app.wait_for_email(&id, "ask-to-confirm").await;
    app.signal(&id, "confirm-1", BookingSignal::Confirm).await;
    app.wait_for_email(&id, "confirmation").await;
    app.signal(&id, "visit-1", BookingSignal::QuestionnaireVisited)
        .await;
    app.wait_for_email(&id, "tour-preparation").await;
    let before = app
        .snapshot_where(&id, "every queued action to have run", |s| {
            s.steps_pending.iter().all(|p| p.due_at.is_some())
        })
        .await;

    app.restart_worker();
    let after = booking_client::status(&app.client, &id).await.unwrap();
    assert_eq!(
        before.steps_done, after.steps_done,
        "replayed history differs"
    );
    assert_eq!(before.steps_pending, after.steps_pending);
    assert_eq!(before, after);
}
