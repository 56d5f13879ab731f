//! What happens when a provider misbehaves: retryable bursts are absorbed by Temporal's retry
//! policy (visible in the history), and a step that fails for good flags the booking for an
//! operator, keeps everything else, and resumes on `retry`.

use booking_sandbox::Injection;
use booking_starter::booking_client::BookingSignal;
use booking_tests::{TestApp, TestOptions, WAIT, booking_starting_in, eventually};
use booking_workflows::{BookingWorkflow, search_attributes as sa};
use chrono::Duration;
use temporalio_client::{WorkflowDescribeOptions, WorkflowFetchHistoryOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_5xx_is_retried_to_success_and_the_history_shows_the_attempts() {
    let fast_retries = serde_json::from_value(serde_json::json!({
        "send_email": {
            "start_to_close": 10.0,
            "initial_interval": 0.2,
            "backoff_coefficient": 1.5,
            "maximum_interval": 1.0,
            "maximum_attempts": 10,
            "non_retryable_error_types": ["ProviderRejected", "ProviderAuthRejected"]
        }
    }))
    .unwrap();
    let app = TestApp::spawn_with(TestOptions {
        activity_policies: booking_activities::policy::PolicyTable::default()
            .with_overrides(fast_retries)
            .unwrap(),
        ..TestOptions::default()
    })
    .await;
    app.sandbox
        .inject(&Injection::new("POST", "/sendgrid/v3/mail/send", 503).times(3))
        .await
        .unwrap();

    let id = app.start(booking_starting_in(Duration::days(2))).await;
    app.wait_for_email(&id, "ask-to-confirm").await;
    assert_eq!(
        app.email_steps(&id).await,
        ["ask-to-confirm"],
        "sent once, not four times"
    );

    // The sandbox sees the email before the worker reports the activity done, and a retried
    // activity's started event only enters the history with its completion: poll for it.
    let handle = app
        .client
        .get_workflow_handle::<BookingWorkflow>(id.workflow_id());
    let attempts = eventually("the send_email attempt in the history", WAIT, || async {
        let history = handle
            .fetch_history(WorkflowFetchHistoryOptions::default())
            .to_json()
            .await
            .ok()?;
        let attempts = send_email_attempts(&serde_json::from_slice(&history).ok()?);
        (!attempts.is_empty()).then_some(attempts)
    })
    .await;
    assert_eq!(attempts, [4], "three 503s, then the attempt that succeeded");
}

/// The attempt number of every started `send_email` activity in a history.
fn send_email_attempts(history: &serde_json::Value) -> Vec<i64> {
    let events = history["events"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let scheduled_email: Vec<i64> = events
        .iter()
        .filter(|e| {
            e["attributes"]["ActivityTaskScheduledEventAttributes"]["activity_type"]["name"]
                == "send_email"
        })
        .filter_map(|e| e["event_id"].as_i64())
        .collect();
    events
        .iter()
        .filter_map(|e| e["attributes"].get("ActivityTaskStartedEventAttributes"))
        .filter(|a| {
            a["scheduled_event_id"]
                .as_i64()
                .is_some_and(|id| scheduled_email.contains(&id))
        })
        .filter_map(|a| a["attempt"].as_i64())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_fails_for_good_flags_the_booking_until_an_operator_retries() {
    let app = TestApp::spawn().await;
    app.sandbox
        .inject(&Injection::google_error(
            "POST",
            "/google/calendar/v3/calendars",
            400,
            "invalid",
            "Invalid attendee email.",
        ))
        .await
        .unwrap();
    let id = app.start(booking_starting_in(Duration::days(2))).await;

    let flagged = app
        .snapshot_where(&id, "the booking to need attention", |s| s.needs_attention)
        .await;
    let failure = flagged.last_failure.expect("the failure is recorded");
    assert_eq!(failure.step, "calendar.create");
    assert_eq!(failure.error_type, "ProviderRejected");
    assert!(
        failure.message.contains("Invalid attendee email."),
        "{}",
        failure.message
    );
    let handle = app
        .client
        .get_workflow_handle::<BookingWorkflow>(id.workflow_id());
    let flagged_in_ui = eventually("NeedsAttention in the search attributes", WAIT, || async {
        let description = handle
            .describe(WorkflowDescribeOptions::default())
            .await
            .ok()?;
        description
            .search_attributes()
            .get(&sa::NEEDS_ATTENTION)
            .filter(|flag| *flag)
    })
    .await;
    assert!(flagged_in_ui);
    assert!(
        app.email_steps(&id).await.is_empty(),
        "nothing behind the failed step ran"
    );

    // The injection answered once; the provider is healthy again.
    app.signal(&id, "retry-1", BookingSignal::Retry).await;
    app.wait_for_email(&id, "ask-to-confirm").await;
    let recovered = app
        .snapshot_where(&id, "the flag to clear", |s| !s.needs_attention)
        .await;
    assert!(
        recovered
            .external_ids
            .is_some_and(|ids| !ids.calendar_event_id.is_empty())
    );
    assert_eq!(app.calendar_events(&id).await.len(), 1);
}
