//! The `bookings` binary as an operator runs it, against a real dev server: the worklist of
//! dead letters and bookings needing attention, retry and skip, show / find / list, the
//! reconciliation schedule, `--json` output and exit codes.

use booking_sandbox::Injection;
use booking_tests::{TestApp, WAIT, booking_starting_in, eventually, run_cli};
use booking_workflows::dead_letter::{
    self, DeadLetter, DeadLetterOutcome, DeadLetterState, DeadLetterWorkflow,
};
use chrono::Duration;
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_failure_is_on_the_worklist_and_retry_completes_it() {
    let app = TestApp::spawn().await;
    // One permanent calendar failure; the sandbox is healthy again after it.
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
    let request = booking_starting_in(Duration::days(2));
    let email = request.lead.as_ref().unwrap().email.clone();
    let id = app.start(request).await;
    app.snapshot_where(&id, "the booking to need attention", |s| s.needs_attention)
        .await;
    // An unprocessable webhook, kept as a dead letter.
    let letter_id = dead_letter::workflow_id(&"ab".repeat(32));
    app.client
        .start_workflow(
            DeadLetterWorkflow::run,
            DeadLetter {
                payload: "{}".into(),
                reason: "unsupported event type".into(),
                source: "calendly".into(),
                received_at: "2026-01-01T00:00:00Z".into(),
                request_id: "r-1".into(),
            },
            WorkflowStartOptions::new(app.task_queue.clone(), letter_id.clone()).build(),
        )
        .await
        .unwrap();

    let worklist = eventually("both items on the worklist", WAIT, || async {
        let run = run_cli({
            let mut c = app.bookings_cli();
            c.arg("dead-letters");
            c
        })
        .await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        let items = run.json.as_array().cloned().unwrap_or_default();
        (items.len() == 2).then_some(items)
    })
    .await;
    let booking_row = worklist
        .iter()
        .find(|i| i["id"] == id.as_str())
        .expect("the booking is listed");
    assert_eq!(booking_row["kind"], "booking");
    assert_eq!(booking_row["step"], "calendar.create");
    assert!(
        booking_row["error"]
            .as_str()
            .unwrap()
            .contains("Invalid attendee email."),
        "{booking_row}"
    );
    assert!(booking_row["since"].is_string());
    let letter_row = worklist
        .iter()
        .find(|i| i["id"] == letter_id.as_str())
        .unwrap();
    assert_eq!(letter_row["kind"], "dead_letter");
    assert_eq!(letter_row["error"], "unsupported event type");

    let retried = run_cli({
        let mut c = app.bookings_cli();
        c.args(["retry", id.as_str()]);
        c
    })
    .await;
    assert_eq!(retried.code, 0, "{}", retried.stderr);
    assert_eq!(retried.json["signal"], "retry");
    app.snapshot_where(&id, "the retried step to complete", |s| {
        !s.needs_attention
            && s.external_ids
                .as_ref()
                .is_some_and(|x| !x.calendar_event_id.is_empty())
    })
    .await;

    let skipped = run_cli({
        let mut c = app.bookings_cli();
        c.args(["skip", letter_id.as_str()]);
        c
    })
    .await;
    assert_eq!(skipped.code, 0, "{}", skipped.stderr);
    assert_eq!(skipped.json["signal"], "discard");
    let closed: DeadLetterState = app
        .client
        .get_workflow_handle::<DeadLetterWorkflow>(letter_id.clone())
        .get_result(WorkflowGetResultOptions::default())
        .await
        .unwrap();
    assert_eq!(closed.outcome, DeadLetterOutcome::Discarded);
    eventually("an empty worklist", WAIT, || async {
        let run = run_cli({
            let mut c = app.bookings_cli();
            c.arg("dead-letters");
            c
        })
        .await;
        (run.json.as_array().is_some_and(|a| a.is_empty())).then_some(())
    })
    .await;

    // show by id and by email, find, list.
    let shown = run_cli({
        let mut c = app.bookings_cli();
        c.args(["show", id.as_str()]);
        c
    })
    .await;
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert_eq!(shown.json["snapshot"]["bookingId"], id.as_str());
    assert!(
        shown.json["ui_url"]
            .as_str()
            .unwrap()
            .ends_with(&id.workflow_id())
    );
    let by_email = eventually("the booking found by email", WAIT, || async {
        let run = run_cli({
            let mut c = app.bookings_cli();
            c.args(["find", "--email", email.as_str()]);
            c
        })
        .await;
        run.json
            .as_array()
            .and_then(|a| a.first().cloned())
            .filter(|row| row["booking_id"] == id.as_str())
    })
    .await;
    assert_eq!(by_email["email"], email.as_str());
    let shown_by_email = run_cli({
        let mut c = app.bookings_cli();
        c.args(["show", email.as_str()]);
        c
    })
    .await;
    assert_eq!(shown_by_email.json["snapshot"]["bookingId"], id.as_str());
    eventually("the booking listed as pending", WAIT, || async {
        let run = run_cli({
            let mut c = app.bookings_cli();
            c.args(["list", "--status", "pending_confirmation"]);
            c
        })
        .await;
        run.json
            .as_array()
            .is_some_and(|a| a.iter().any(|r| r["booking_id"] == id.as_str()))
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_have_exit_codes_and_json_and_the_schedule_runs_reconciliation() {
    let app = TestApp::spawn().await;

    let unknown = run_cli({
        let mut c = app.bookings_cli();
        c.args(["show", "no-such-booking"]);
        c
    })
    .await;
    assert_eq!(unknown.code, 3, "{}", unknown.stderr);
    assert_eq!(unknown.json["error"]["exit_code"], 3);
    assert_eq!(
        unknown.stderr.trim().lines().count(),
        1,
        "{}",
        unknown.stderr
    );

    let invalid = run_cli({
        let mut c = app.bookings_cli();
        c.args(["list", "--status", "maybe"]);
        c
    })
    .await;
    assert_eq!(invalid.code, 2, "{}", invalid.stderr);

    let unreachable = run_cli({
        let mut c = app.bookings_cli();
        c.env(
            "TEMPORAL_ADDRESS",
            format!("127.0.0.1:{}", booking_tests::free_port()),
        )
        .arg("dead-letters");
        c
    })
    .await;
    assert_eq!(unreachable.code, 4, "{}", unreachable.stderr);
    assert!(
        unreachable.stderr.contains("cannot reach Temporal"),
        "{}",
        unreachable.stderr
    );

    for expected in ["created", "updated"] {
        let ensured = run_cli({
            let mut c = app.bookings_cli();
            c.args(["schedule", "ensure"]);
            c
        })
        .await;
        assert_eq!(ensured.code, 0, "{}", ensured.stderr);
        assert_eq!(ensured.json["result"], expected);
    }
    let described = run_cli({
        let mut c = app.bookings_cli();
        c.args(["schedule", "describe"]);
        c
    })
    .await;
    assert_eq!(described.code, 0, "{}", described.stderr);
    assert_eq!(described.json["workflow_type"], "ReconcileWorkflow");
    assert_eq!(described.json["task_queue"], app.task_queue.as_str());
    assert!(!described.json["next_runs"].as_array().unwrap().is_empty());

    let triggered = run_cli({
        let mut c = app.bookings_cli();
        c.args(["schedule", "trigger"]);
        c
    })
    .await;
    assert_eq!(triggered.code, 0, "{}", triggered.stderr);
    eventually("a completed scheduled reconciliation", WAIT, || async {
        let run = run_cli({
            let mut c = app.bookings_cli();
            c.args(["schedule", "describe"]);
            c
        })
        .await;
        let recent = run.json["recent_runs"].as_array()?.first()?.clone();
        let workflow_id = recent["workflow_id"].as_str()?.to_owned();
        let report: booking_workflows::reconcile::ReconcileReport = app
            .client
            .get_workflow_handle::<booking_workflows::reconcile::ReconcileWorkflow>(workflow_id)
            .get_result(WorkflowGetResultOptions::default())
            .await
            .ok()?;
        (report.repaired.total() == 0).then_some(())
    })
    .await;
}
