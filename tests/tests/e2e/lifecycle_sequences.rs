//! Each follow-up sequence end to end, with every hour of the cadence run as a second, on a
//! real dev server; the assertions are on what the providers (the sandbox) ended up holding.
//!
//! Run with `BOOKINGS_RECORD_HISTORIES=1` to refresh the histories under `tests/histories/`
//! that `replay.rs` checks every workflow change against.

use booking_proto::{domain::TourSlot, time::from_timestamp, v1::BookingStatus};
use booking_starter::booking_client::BookingSignal;
use booking_tests::{TestApp, TestOptions, booking_starting_in, hours_as_seconds};
use booking_workflows::lifecycle::{FollowUpPolicy, Span};
use chrono::{Duration, Utc};

fn cancel() -> BookingSignal {
    BookingSignal::Cancel {
        reason: "plans changed".into(),
        cancelled_by: "lead".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_from_request_to_review() {
    let app = TestApp::spawn_fast().await;
    // The tour is "20 hours" away: the 24h reminder is already past, the 1h one is not.
    let id = app.start(booking_starting_in(Duration::seconds(20))).await;
    app.wait_for_email(&id, "ask-to-confirm").await;
    app.signal(&id, "confirm-1", BookingSignal::Confirm).await;
    app.wait_for_email(&id, "tour-reminder-1s@").await;
    app.signal(&id, "complete-1", BookingSignal::TourComplete)
        .await;

    let result = app.result(&id).await;
    assert_eq!(result.status(), BookingStatus::TourComplete);
    let steps = app.email_steps(&id).await;
    assert_eq!(steps.len(), 4, "{steps:?}");
    assert_eq!(steps[0], "ask-to-confirm");
    assert_eq!(steps[1], "confirmation");
    assert!(steps[2].starts_with("tour-reminder-1s@"), "{steps:?}");
    assert_eq!(steps[3], "review-request");
    let events = app.calendar_events(&id).await;
    assert_eq!(events.len(), 1, "one calendar event, never a second");
    let contact = app
        .sandbox
        .contacts()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.property("booking_id") == Some(id.as_str()))
        .expect("the CRM contact carries the booking id");
    assert_eq!(contact.property("booking_status"), Some("tour_complete"));
    app.record_history(&id, "happy_path").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_reschedules_leave_one_event_at_the_last_time() {
    let app = TestApp::spawn_fast().await;
    let id = app.start(booking_starting_in(Duration::seconds(120))).await;
    app.signal(&id, "confirm-1", BookingSignal::Confirm).await;
    app.wait_for_email(&id, "confirmation").await;

    let mut last = None;
    for (n, minutes) in [(1, 3), (2, 4)] {
        let start = (Utc::now() + Duration::minutes(minutes)).with_timezone(&Utc);
        let start = start - Duration::nanoseconds(start.timestamp_subsec_nanos() as i64);
        let tour = TourSlot::new(start, start + Duration::minutes(45)).unwrap();
        app.signal(
            &id,
            &format!("reschedule-{n}"),
            BookingSignal::Reschedule {
                tour,
                source_ref: String::new(),
            },
        )
        .await;
        app.wait_for_email(&id, &format!("reschedule-notice#{n}"))
            .await;
        last = Some(tour);
    }
    let tour = last.unwrap();

    let snapshot = app
        .snapshot_where(&id, "the event moved to the last time", |s| {
            s.steps_done
                .iter()
                .filter(|s| s.name == "calendar.move")
                .count()
                == 2
        })
        .await;
    let events = app.calendar_events(&id).await;
    assert_eq!(
        events.len(),
        1,
        "a reschedule moves the event, never adds one"
    );
    assert_eq!(events[0].status, "confirmed");
    let event_start =
        chrono::DateTime::parse_from_rfc3339(events[0].start.date_time.as_deref().unwrap())
            .unwrap();
    assert_eq!(event_start, tour.start());
    // Every reminder still to come is timed from the new start. (Pending entries without a
    // due time are actions already queued to run now, such as an email in flight.)
    let planned: Vec<_> = snapshot
        .steps_pending
        .iter()
        .filter_map(|step| Some((step, from_timestamp(step.due_at.as_ref()?)?)))
        .collect();
    assert!(!planned.is_empty(), "{:?}", snapshot.steps_pending);
    for (step, due) in planned {
        assert!(due <= tour.start(), "{} is due after the tour", step.name);
        assert!(
            tour.start() - due <= Duration::seconds(72),
            "{} is not relative to the new start",
            step.name
        );
    }
    app.signal(&id, "cancel-1", cancel()).await;
    app.result(&id).await;
    app.record_history(&id, "two_reschedules").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_booking_hears_nothing_more_after_its_notice() {
    let app = TestApp::spawn_fast().await;
    let tour_in = Duration::seconds(12);
    let id = app.start(booking_starting_in(tour_in)).await;
    app.wait_for_email(&id, "ask-to-confirm").await;
    app.snapshot_where(&id, "the calendar event", |s| {
        s.external_ids
            .as_ref()
            .is_some_and(|ids| !ids.calendar_event_id.is_empty())
    })
    .await;
    let cancelled_at = Utc::now();
    app.signal(&id, "cancel-1", cancel()).await;
    let result = app.result(&id).await;
    assert_eq!(result.status(), BookingStatus::Cancelled);

    // Every timer this booking had (the 4s reminder, the tour reminders, the 24s call task)
    // would have fired by now had the cancel not stopped them.
    let all_due = cancelled_at + Duration::seconds(26);
    let wait = (all_due - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait).await;

    assert_eq!(
        app.email_steps(&id).await,
        ["ask-to-confirm", "cancellation"],
        "exactly one cancellation notice and nothing after it"
    );
    let events = app.calendar_events(&id).await;
    assert!(
        events.iter().all(|e| e.status == "cancelled"),
        "no live calendar event is left"
    );
    let tasks = app.sandbox.tasks().await.unwrap();
    assert!(
        tasks
            .iter()
            .all(|t| t.property("booking_id") != Some(id.as_str())),
        "no call task for a cancelled booking"
    );
    app.record_history(&id, "cancel_while_pending").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_questionnaire_visit_stops_form_reminders_and_starts_preparation() {
    let mut follow_up = hours_as_seconds(FollowUpPolicy::default());
    // Reminders 15 s apart, so a slow machine still applies the visit between the first two.
    follow_up.questionnaire.reminders_before = vec![Span::secs(35), Span::secs(20), Span::secs(5)];
    follow_up.preparation.reminders_before = vec![Span::secs(10)];
    follow_up.confirmed.reminders_before = vec![Span::secs(1)];
    let app = TestApp::spawn_with(TestOptions {
        follow_up,
        ..TestOptions::default()
    })
    .await;
    let booked = Utc::now();
    let id = app.start(booking_starting_in(Duration::seconds(40))).await;
    app.signal(&id, "confirm-1", BookingSignal::Confirm).await;
    app.wait_for_email(&id, "questionnaire-reminder-35s@").await;
    app.signal(&id, "visit-1", BookingSignal::QuestionnaireVisited)
        .await;
    app.wait_for_email(&id, "tour-preparation").await;
    app.wait_for_email(&id, "tour-preparation-10s@").await;

    // Past the 20s and 5s form reminders' due times: neither may have gone out.
    let past_reminders = booked + Duration::seconds(37);
    let wait = (past_reminders - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait).await;
    let steps = app.email_steps(&id).await;
    let form_reminders: Vec<_> = steps
        .iter()
        .filter(|s| s.starts_with("questionnaire-reminder"))
        .collect();
    assert_eq!(form_reminders.len(), 1, "{steps:?}");
    assert!(steps.iter().any(|s| s == "tour-preparation"), "{steps:?}");

    app.signal(&id, "cancel-1", cancel()).await;
    app.result(&id).await;
    app.record_history(&id, "questionnaire_switch").await;
}
