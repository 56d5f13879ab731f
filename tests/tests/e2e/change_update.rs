//! The `request_change` update: a caller (a confirm page) learns at once whether the booking
//! took the change, instead of sending a signal and hoping.

use booking_proto::v1::{
    BookingStatus, ChangeRequest, ConfirmSignal, TourCompleteSignal, change_request::Change,
};
use booking_tests::{TestApp, booking_starting_in};
use booking_workflows::BookingWorkflow;
use chrono::Duration;
use temporalio_client::{WorkflowExecuteUpdateOptions, errors::WorkflowUpdateError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_update_refuses_at_once_what_the_booking_refuses_and_accepts_the_rest() {
    let app = TestApp::spawn().await;
    let id = app.start(booking_starting_in(Duration::days(2))).await;
    app.wait_for_email(&id, "ask-to-confirm").await;
    let handle = app
        .client
        .get_workflow_handle::<BookingWorkflow>(id.workflow_id());

    let premature = ChangeRequest {
        change: Some(Change::TourComplete(TourCompleteSignal {
            event_id: "complete-early".into(),
        })),
    };
    let refused = handle
        .execute_update(
            BookingWorkflow::request_change,
            premature,
            WorkflowExecuteUpdateOptions::default(),
        )
        .await
        .expect_err("a tour that was never confirmed cannot be complete");
    match refused {
        WorkflowUpdateError::Failed(failure) => {
            assert!(
                failure.message.contains("never confirmed"),
                "{}",
                failure.message
            );
        }
        other => panic!("expected a refused update, got {other:?}"),
    }

    let confirm = ChangeRequest {
        change: Some(Change::Confirm(ConfirmSignal {
            event_id: "confirm-page-1".into(),
        })),
    };
    let accepted = handle
        .execute_update(
            BookingWorkflow::request_change,
            confirm.clone(),
            WorkflowExecuteUpdateOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(accepted.event_id, "confirm-page-1");
    assert!(!accepted.duplicate);
    app.snapshot_where(&id, "the confirmation", |s| {
        s.status() == BookingStatus::Confirmed
    })
    .await;

    // The same click again is a duplicate, not a refusal.
    let again = handle
        .execute_update(
            BookingWorkflow::request_change,
            confirm,
            WorkflowExecuteUpdateOptions::default(),
        )
        .await
        .unwrap();
    assert!(again.duplicate);

    let snapshot = app
        .snapshot_where(&id, "the confirmation email", |s| {
            s.steps_done.iter().any(|s| s.name == "email:confirmation")
        })
        .await;
    assert!(
        snapshot.refused_events.is_empty(),
        "refused updates leave no trace in the booking: {:?}",
        snapshot.refused_events
    );
}
