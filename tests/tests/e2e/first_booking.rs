//! A booking end to end on a real Temporal dev server: started, emailed, confirmed, refused
//! where it must refuse, cancelled, and readable as JSON in its history.

use std::time::Duration;

use booking_proto::{
    domain::{BookingId, EventId},
    v1::{BookingSnapshot, BookingStatus},
};
use booking_starter::{
    booking_client::{self, BookingSignal},
    demo::demo_request,
    dev_server::DevServerConfig,
};
use booking_tests::{TestApp, eventually};
use booking_workflows::{BookingWorkflow, search_attributes as sa};
use temporalio_client::{WorkflowDescribeOptions, WorkflowGetResultOptions};

const WAIT: Duration = Duration::from_secs(30);

async fn snapshot_where(
    app: &TestApp,
    id: &BookingId,
    what: &str,
    accept: impl Fn(&BookingSnapshot) -> bool,
) -> BookingSnapshot {
    eventually(what, WAIT, || async {
        booking_client::status(&app.client, id)
            .await
            .ok()
            .filter(|s| accept(s))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_is_emailed_confirmed_and_cancelled_exactly_once() {
    let app = TestApp::spawn().await;
    let request = demo_request(chrono::Utc::now());
    let id = booking_client::start_booking(&app.client, &app.task_queue, request.clone())
        .await
        .unwrap();

    let pending = snapshot_where(&app, &id, "the ask-to-confirm email", |s| {
        s.steps_done
            .iter()
            .any(|step| step.name == "email:ask-to-confirm")
    })
    .await;
    assert_eq!(pending.status(), BookingStatus::PendingConfirmation);
    assert_eq!(app.email_steps(&id).await, ["ask-to-confirm"]);

    let confirm = EventId::parse("confirm-1").unwrap();
    booking_client::signal(&app.client, &id, &confirm, BookingSignal::Confirm)
        .await
        .unwrap();
    // A provider redelivering the same event must change nothing.
    booking_client::signal(&app.client, &id, &confirm, BookingSignal::Confirm)
        .await
        .unwrap();
    let confirmed = snapshot_where(&app, &id, "the confirmation email", |s| {
        s.steps_done
            .iter()
            .any(|step| step.name == "email:confirmation")
    })
    .await;
    assert_eq!(confirmed.status(), BookingStatus::Confirmed);
    assert!(
        confirmed.refused_events.is_empty(),
        "a redelivery is not a refusal"
    );

    // A second, distinct confirm is refused and recorded, not applied.
    let again = EventId::parse("confirm-2").unwrap();
    booking_client::signal(&app.client, &id, &again, BookingSignal::Confirm)
        .await
        .unwrap();
    let refused = snapshot_where(&app, &id, "the refusal of a second confirm", |s| {
        !s.refused_events.is_empty()
    })
    .await;
    assert_eq!(refused.refused_events[0].event_id, "confirm-2");
    assert_eq!(refused.status(), BookingStatus::Confirmed);

    let cancel = EventId::parse("cancel-1").unwrap();
    booking_client::signal(
        &app.client,
        &id,
        &cancel,
        BookingSignal::Cancel {
            reason: "lead changed plans".into(),
            cancelled_by: "lead".into(),
        },
    )
    .await
    .unwrap();
    let handle = app
        .client
        .get_workflow_handle::<BookingWorkflow>(id.workflow_id());
    let result = handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .unwrap();
    assert_eq!(result.status(), BookingStatus::Cancelled);
    assert_eq!(
        app.email_steps(&id).await,
        ["ask-to-confirm", "confirmation", "cancellation"]
    );

    // Operators filter on these in the UI.
    let description = handle
        .describe(WorkflowDescribeOptions::default())
        .await
        .unwrap();
    let attributes = description.search_attributes();
    assert_eq!(
        attributes.get(&sa::BOOKING_STATUS).as_deref(),
        Some("CANCELLED")
    );
    assert_eq!(
        attributes.get(&sa::CUSTOMER_EMAIL),
        Some(request.lead.unwrap().email.to_ascii_lowercase())
    );
    assert_eq!(attributes.get(&sa::NEEDS_ATTENTION), Some(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporal_workflow_show_displays_the_booking_request_as_json() {
    let app = TestApp::spawn().await;
    let request = demo_request(chrono::Utc::now());
    let id = booking_client::start_booking(&app.client, &app.task_queue, request.clone())
        .await
        .unwrap();

    // What an operator runs: the CLI decodes json/plain payloads field by field.
    let output = std::process::Command::new(DevServerConfig::default_binary())
        .args(["workflow", "show", "--detailed", "--address"])
        .arg(&app.temporal_address)
        .arg("--workflow-id")
        .arg(id.workflow_id())
        .output()
        .expect("the temporal CLI runs");
    assert!(output.status.success(), "{output:?}");
    let shown = String::from_utf8_lossy(&output.stdout);
    for line in [
        format!("input[0].bookingId: {}", request.booking_id),
        "input[0].kind: BOOKING_KIND_PRIVATE_VIEWING".to_owned(),
        format!("input[0].lead.email: {}", request.lead.unwrap().email),
        format!("input[0].propertyId: {}", request.property_id),
    ] {
        assert!(shown.contains(&line), "missing {line:?} in:\n{shown}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_id_names_one_booking_forever() {
    let app = TestApp::spawn().await;
    let request = demo_request(chrono::Utc::now());
    booking_client::start_booking(&app.client, &app.task_queue, request.clone())
        .await
        .unwrap();
    let err = booking_client::start_booking(&app.client, &app.task_queue, request)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        booking_client::BookingClientError::AlreadyExists(_)
    ));
}
