//! Every recorded booking history must replay on the current workflow code. A change that
//! would make a running booking take a different path than its history fails here, in CI,
//! before it reaches a worker; such a change needs `ctx.patched()`.
//!
//! The histories come from real runs of `lifecycle_sequences.rs` and `workflow_cancellation.rs`
//! on the dev server (`BOOKINGS_RECORD_HISTORIES=1 cargo test -p booking-tests --test e2e
//! lifecycle_sequences::`).
//! Files named `*_v1.json` were recorded before the `slot-ledger`, `timer-driven-due` and
//! `resilient-ledger-calls` patches: they prove a booking started on the first release still
//! replays, taking the old paths. Never delete a history a running booking could still have.
//! `continued_as_new_*` come from `history_bounds.rs`: the first run of a flooded booking, which
//! ends by continuing as new, and the last, which starts from the carried state.
//! `cancelled_before_created` and `refused_past_start` come from `calendly_edge_cases.rs`;
//! `happy_path_microsoft` from `microsoft_calendar.rs` (an agent on Microsoft Graph);
//! `sms_stop_then_email` from `sms.rs` (a reminder texted, delivery reports, a STOP reply, the
//! rest by email).

use booking_tests::histories_dir;
use booking_workflows::BookingWorkflow;
use temporalio_client::WorkflowHistory;
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};

/// The scenarios the replay suite must cover.
const REQUIRED: &[&str] = &[
    "happy_path",
    "two_reschedules",
    "cancel_while_pending",
    "questionnaire_switch",
    "open_house_waitlist",
    "temporal_cancel_request",
    "continued_as_new_first_run",
    "continued_as_new_last_run",
    "cancelled_before_created",
    "refused_past_start",
    "happy_path_microsoft",
    "sms_stop_then_email",
];

#[tokio::test]
async fn every_recorded_history_replays_on_the_current_code() {
    let dir = histories_dir();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{} is unreadable: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    for name in REQUIRED {
        assert!(
            files
                .iter()
                .any(|f| f.file_stem().is_some_and(|s| s == *name)),
            "no recorded history {name}.json in {}",
            dir.display()
        );
    }

    let replayer = WorkflowReplayer::new(
        WorkflowReplayerOptions::new()
            .register_workflow::<BookingWorkflow>()
            .expect("the booking workflow registers")
            .build(),
    )
    .expect("a replayer with one workflow builds");
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let history = WorkflowHistory::from_json(&bytes)
            .unwrap_or_else(|e| panic!("{} is not a history: {e}", file.display()));
        replayer
            .replay_workflow(history)
            .await
            .unwrap_or_else(|e| panic!("{} no longer replays: {e}", file.display()));
    }
}
