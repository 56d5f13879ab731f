//! A cancellation request from Temporal itself (an operator's Cancel in the UI, or
//! `temporal workflow cancel`) cancels the booking the way a lead's cancellation does: the
//! pending timer is cancelled, the calendar event is cancelled, the lead gets one notice, and the
//! workflow completes with the booking cancelled. Before, the request made every workflow task
//! spin until it timed out, and the booking never closed.

use booking_proto::v1::BookingStatus;
use booking_tests::{TestApp, WAIT, booking_starting_in, eventually};
use booking_workflows::BookingWorkflow;
use chrono::Duration;
use temporalio_client::{WorkflowCancelOptions, WorkflowFetchHistoryOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_request_from_temporal_cancels_the_booking_with_its_cleanup() {
    let app = TestApp::spawn().await;
    let id = app.start(booking_starting_in(Duration::days(2))).await;
    app.wait_for_email(&id, "ask-to-confirm").await;
    let handle = app
        .client
        .get_workflow_handle::<BookingWorkflow>(id.workflow_id());
    let history = || async {
        let json = handle
            .fetch_history(WorkflowFetchHistoryOptions::default())
            .to_json()
            .await
            .ok()?;
        serde_json::from_slice::<serde_json::Value>(&json).ok()
    };
    let has_event = |history: &serde_json::Value, kind: &str| {
        history["events"]
            .as_array()
            .is_some_and(|events| events.iter().any(|e| e["attributes"].get(kind).is_some()))
    };
    eventually(
        "the booking waiting on its reminder timer",
        WAIT,
        || async {
            history()
                .await
                .filter(|h| has_event(h, "TimerStartedEventAttributes"))
        },
    )
    .await;

    handle
        .cancel(
            WorkflowCancelOptions::builder()
                .reason("the lead called the office")
                .build(),
        )
        .await
        .expect("the cancel request is accepted");
    let result = tokio::time::timeout(WAIT, app.result(&id))
        .await
        .expect("the booking completes after the cancel request");

    assert_eq!(result.status(), BookingStatus::Cancelled);
    assert_eq!(
        app.email_steps(&id).await,
        ["ask-to-confirm", "cancellation"],
        "one cancellation notice"
    );
    let events = app.calendar_events(&id).await;
    assert!(!events.is_empty(), "the booking had a calendar event");
    assert!(
        events.iter().all(|e| e.status == "cancelled"),
        "no live calendar event is left"
    );
    let history = history().await.expect("the history is readable");
    assert!(
        has_event(&history, "TimerCanceledEventAttributes"),
        "the reminder timer is cancelled, not left to fire"
    );
    assert!(
        !has_event(&history, "WorkflowTaskTimedOutEventAttributes"),
        "no workflow task spun until it timed out"
    );
    app.record_history(&id, "temporal_cancel_request").await;
}
