//! The follow-up sequences for an agent whose calendar is a Microsoft 365 mailbox, end to end
//! on a real dev server with the Graph stand-in: the same promises as for a Google agent (one
//! event per booking, moved by a reschedule, deleted by a cancellation, a failed create held
//! for an operator), and reconciliation repairing a Graph event deleted or moved by hand.

use booking_proto::{domain::TourSlot, v1::BookingStatus};
use booking_sandbox::Injection;
use booking_starter::booking_client::BookingSignal;
use booking_tests::{
    TestApp, TestOptions, WAIT, booking_starting_in, eventually, hours_as_seconds,
};
use booking_workflows::{
    lifecycle::{FollowUpPolicy, Span},
    reconcile::ReconcileConfig,
};
use chrono::{Duration, Utc};

const MAILBOX: &str = "agent@contoso.test";

fn graph_options() -> TestOptions {
    TestOptions {
        default_calendar: Some(format!("microsoft:{MAILBOX}")),
        ..TestOptions::default()
    }
}

async fn spawn_fast() -> TestApp {
    TestApp::spawn_with(TestOptions {
        follow_up: hours_as_seconds(FollowUpPolicy::default()),
        ..graph_options()
    })
    .await
}

fn cancel() -> BookingSignal {
    BookingSignal::Cancel {
        reason: "plans changed".into(),
        cancelled_by: "lead".into(),
    }
}

fn has_event(s: &booking_proto::v1::BookingSnapshot) -> bool {
    s.external_ids
        .as_ref()
        .is_some_and(|x| !x.calendar_event_id.is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graph_agent_runs_the_happy_path_with_one_event_in_the_mailbox() {
    let app = spawn_fast().await;
    let id = app.start(booking_starting_in(Duration::seconds(20))).await;
    app.wait_for_email(&id, "ask-to-confirm").await;
    app.signal(&id, "confirm-1", BookingSignal::Confirm).await;
    app.wait_for_email(&id, "tour-reminder-1s@").await;
    app.signal(&id, "complete-1", BookingSignal::TourComplete)
        .await;

    let result = app.result(&id).await;
    assert_eq!(result.status(), BookingStatus::TourComplete);
    let steps = app.email_steps(&id).await;
    assert_eq!(
        steps.first().map(String::as_str),
        Some("ask-to-confirm"),
        "{steps:?}"
    );
    assert_eq!(
        steps.last().map(String::as_str),
        Some("review-request"),
        "{steps:?}"
    );
    let events = app.graph_events(&id).await;
    assert_eq!(events.len(), 1, "one Graph event, never a second");
    assert_eq!(events[0].user, MAILBOX);
    assert!(!events[0].deleted);
    assert_eq!(
        events[0].transaction_id.as_deref(),
        Some(booking_activities::calendar::microsoft::transaction_id_for(id.as_str()).as_str())
    );
    let recorded = result.external_ids.expect("the booking records its event");
    assert_eq!(
        recorded.calendar_event_id, events[0].id,
        "the booking keeps Graph's own event id"
    );
    assert!(
        app.calendar_events(&id).await.is_empty(),
        "nothing went to Google"
    );
    app.record_history(&id, "happy_path_microsoft").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reschedule_moves_the_graph_event_and_a_cancel_deletes_it() {
    let app = spawn_fast().await;
    let id = app.start(booking_starting_in(Duration::seconds(120))).await;
    app.signal(&id, "confirm-1", BookingSignal::Confirm).await;
    app.wait_for_email(&id, "confirmation").await;

    let start = Utc::now() + Duration::minutes(4);
    let start = start - Duration::nanoseconds(start.timestamp_subsec_nanos() as i64);
    let tour = TourSlot::new(start, start + Duration::minutes(45)).unwrap();
    app.signal(
        &id,
        "reschedule-1",
        BookingSignal::Reschedule {
            tour,
            source_ref: String::new(),
        },
    )
    .await;
    app.snapshot_where(&id, "the event moved", |s| {
        s.steps_done.iter().any(|s| s.name == "calendar.move")
    })
    .await;
    let events = app.graph_events(&id).await;
    assert_eq!(events.len(), 1, "a reschedule moves the event: {events:?}");
    assert_eq!(events[0].start, tour.start());
    assert_eq!(events[0].end, tour.end());

    app.signal(&id, "cancel-1", cancel()).await;
    let result = app.result(&id).await;
    assert_eq!(result.status(), BookingStatus::Cancelled);
    let events = app.graph_events(&id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].deleted, "the cancellation deletes the event");
    let steps = app.email_steps(&id).await;
    assert_eq!(
        steps.iter().filter(|s| *s == "cancellation").count(),
        1,
        "{steps:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graph_agents_questionnaire_visit_switches_to_preparation() {
    let mut follow_up = hours_as_seconds(FollowUpPolicy::default());
    follow_up.questionnaire.reminders_before = vec![Span::secs(35), Span::secs(20), Span::secs(5)];
    follow_up.preparation.reminders_before = vec![Span::secs(10)];
    follow_up.confirmed.reminders_before = vec![Span::secs(1)];
    let app = TestApp::spawn_with(TestOptions {
        follow_up,
        ..graph_options()
    })
    .await;
    let id = app.start(booking_starting_in(Duration::seconds(40))).await;
    app.signal(&id, "confirm-1", BookingSignal::Confirm).await;
    app.wait_for_email(&id, "questionnaire-reminder-35s@").await;
    app.signal(&id, "visit-1", BookingSignal::QuestionnaireVisited)
        .await;
    app.wait_for_email(&id, "tour-preparation").await;
    app.signal(&id, "cancel-1", cancel()).await;
    app.result(&id).await;
    let steps = app.email_steps(&id).await;
    assert!(steps.iter().any(|s| s == "tour-preparation"), "{steps:?}");
    let events = app.graph_events(&id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].deleted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_graph_create_waits_for_an_operator_and_resumes_on_retry() {
    let app = TestApp::spawn_with(graph_options()).await;
    app.sandbox
        .inject(
            &Injection::new(
                "POST",
                format!("/microsoft/graph/v1.0/users/{MAILBOX}/calendar/events"),
                400,
            )
            .json(serde_json::json!({
                "error": {
                    "code": "ErrorInvalidRecipients",
                    "message": "At least one recipient is not valid."
                }
            })),
        )
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
        failure
            .message
            .contains("ErrorInvalidRecipients: At least one recipient is not valid."),
        "{}",
        failure.message
    );
    assert!(app.graph_events(&id).await.is_empty());

    app.signal(&id, "retry-1", BookingSignal::Retry).await;
    app.wait_for_email(&id, "ask-to-confirm").await;
    app.snapshot_where(&id, "the flag to clear", |s| {
        !s.needs_attention && has_event(s)
    })
    .await;
    assert_eq!(app.graph_events(&id).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_restores_a_deleted_graph_event_and_moves_back_a_moved_one() {
    let app = TestApp::spawn_with(graph_options()).await;
    let deleted = app.start(booking_starting_in(Duration::days(2))).await;
    let moved = app.start(booking_starting_in(Duration::days(3))).await;
    for id in [&deleted, &moved] {
        app.snapshot_where(id, "the Graph event", has_event).await;
    }
    // The first run starts the mailbox's delta rounds: everything in the window, no repair.
    let first = app.reconcile().await;
    assert_eq!(first.repaired.total(), 0, "{first:#?}");
    assert!(first.unresolved.is_empty(), "{first:#?}");
    let position = first
        .calendar_positions
        .get(&format!("microsoft:{MAILBOX}"))
        .expect("the mailbox's position is reported");
    assert_eq!(position.bookings.len(), 2, "{position:#?}");

    // A person deletes one event and drags the other in Outlook.
    let deleted_event = app.graph_events(&deleted).await.remove(0);
    app.sandbox
        .delete_graph_event(&deleted_event.id)
        .await
        .unwrap();
    let moved_event = app.graph_events(&moved).await.remove(0);
    let tour_start = moved_event.start;
    app.sandbox
        .move_graph_event(
            &moved_event.id,
            tour_start + Duration::hours(5),
            moved_event.end + Duration::hours(5),
        )
        .await
        .unwrap();

    let second = app
        .reconcile_with(ReconcileConfig {
            calendar_positions: first.calendar_positions.clone(),
            ..ReconcileConfig::default()
        })
        .await;
    assert_eq!(second.repaired.calendar_recreated, 1, "{second:#?}");
    assert_eq!(second.repaired.calendar_moved, 1, "{second:#?}");
    assert!(second.unresolved.is_empty(), "{second:#?}");
    assert!(second.orphans.is_empty(), "{second:#?}");

    let restored: Vec<_> = app
        .graph_events(&deleted)
        .await
        .into_iter()
        .filter(|e| !e.deleted)
        .collect();
    assert_eq!(restored.len(), 1, "one live event again: {restored:?}");
    assert_eq!(restored[0].start, deleted_event.start);
    let back = app.graph_events(&moved).await;
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(
        back[0].start, tour_start,
        "moved back to the booking's time"
    );

    // The repairs themselves come back as changes in the next round: nothing to do.
    let third = app
        .reconcile_with(ReconcileConfig {
            calendar_positions: second.calendar_positions.clone(),
            ..ReconcileConfig::default()
        })
        .await;
    assert_eq!(third.repaired.total(), 0, "{third:#?}");
    assert!(third.unresolved.is_empty(), "{third:#?}");
}

/// The schedule's input as the schedule now holds it.
async fn scheduled_config(app: &TestApp) -> Option<ReconcileConfig> {
    let description = app
        .client
        .get_schedule_handle(booking_starter::schedule::SCHEDULE_ID)
        .describe(Default::default())
        .await
        .ok()?;
    let temporalio_client::schedules::ScheduleDescriptionAction::StartWorkflow(action) =
        description.action()
    else {
        return None;
    };
    action.args::<ReconcileConfig>().await.ok()?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_runs_hand_their_mailbox_positions_to_the_next_run_through_the_schedule() {
    let app = TestApp::spawn_with(graph_options()).await;
    let id = app.start(booking_starting_in(Duration::days(2))).await;
    app.snapshot_where(&id, "the Graph event", has_event).await;
    booking_starter::schedule::ensure(&app.client, &app.task_queue, &ReconcileConfig::default())
        .await
        .expect("the schedule is created");
    let wire = format!("microsoft:{MAILBOX}");

    booking_starter::schedule::trigger(&app.client)
        .await
        .expect("the schedule runs now");
    let first = eventually("the first run's position in the schedule", WAIT, || async {
        scheduled_config(&app)
            .await
            .and_then(|c| c.calendar_positions.get(&wire).cloned())
    })
    .await;
    assert!(
        first.bookings.values().any(|b| b == id.as_str()),
        "{first:#?}"
    );

    // Deleted by hand between two scheduled runs: only a run continuing the first one's delta
    // round can see it, since a deleted Graph event is no longer listed anywhere.
    let event = app.graph_events(&id).await.remove(0);
    app.sandbox.delete_graph_event(&event.id).await.unwrap();
    booking_starter::schedule::trigger(&app.client)
        .await
        .expect("the schedule runs again");
    let restored = eventually("the event restored by the second run", WAIT, || async {
        let live: Vec<_> = app
            .graph_events(&id)
            .await
            .into_iter()
            .filter(|e| !e.deleted)
            .collect();
        (live.len() == 1).then(|| live[0].clone())
    })
    .await;
    assert_ne!(
        restored.id, event.id,
        "a new event in place of the deleted one"
    );
    assert_eq!(restored.start, event.start);
}
