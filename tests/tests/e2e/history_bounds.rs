//! A booking's history stays bounded whatever is thrown at it: a flood of signals makes the
//! booking continue as new with nothing lost or done twice, and a questionnaire link opened
//! thousands of times costs the booking one recorded visit.
//!
//! Run with `BOOKINGS_RECORD_HISTORIES=1` to refresh `continued_as_new_first_run.json` and
//! `continued_as_new_last_run.json`, which `replay.rs` checks every workflow change against.

use std::time::{Duration as StdDuration, Instant};

use booking_proto::{domain::BookingId, v1::BookingStatus};
use booking_shim::links;
use booking_starter::booking_client::BookingSignal;
use booking_tests::{
    SHIM_LINK_SECRET, TestApp, TestOptions, WAIT, booking_starting_in, eventually,
};
use chrono::{Duration, Utc};
use futures::StreamExt;
use temporalio_client::WorkflowFetchHistoryOptions;
use temporalio_common::protos::temporal::api::{
    enums::v1::EventType,
    history::v1::{HistoryEvent, history_event::Attributes},
};

/// The history limit these tests run with: the smallest the workflow accepts.
const HISTORY_LIMIT: u32 = 200;

async fn run_events(app: &TestApp, booking: &BookingId, run_id: &str) -> Vec<HistoryEvent> {
    app.run_handle(booking, run_id)
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .into_events()
        .await
        .expect("the run's history can be fetched")
}

async fn latest_events(app: &TestApp, booking: &BookingId) -> Vec<HistoryEvent> {
    app.client
        .get_workflow_handle::<booking_workflows::BookingWorkflow>(booking.workflow_id())
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .into_events()
        .await
        .expect("the history can be fetched")
}

/// The run this history's run continued, if it continued one.
fn continued_from(events: &[HistoryEvent]) -> Option<String> {
    events.iter().find_map(|e| match &e.attributes {
        Some(Attributes::WorkflowExecutionStartedEventAttributes(a))
            if !a.continued_execution_run_id.is_empty() =>
        {
            Some(a.continued_execution_run_id.clone())
        }
        _ => None,
    })
}

fn run_id_of(events: &[HistoryEvent]) -> String {
    events
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) => {
                Some(a.original_execution_run_id.clone())
            }
            _ => None,
        })
        .expect("a history starts with its started event")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_signals_continues_the_booking_as_new_and_loses_nothing() {
    let app = TestApp::spawn_with(TestOptions {
        history_limit: Some(HISTORY_LIMIT),
        ..TestOptions::default()
    })
    .await;
    // Three days out, production cadence: nothing falls due while the flood runs.
    let id = app.start(booking_starting_in(Duration::days(3))).await;
    app.wait_for_email(&id, "ask-to-confirm").await;
    app.signal(&id, "confirm-1", BookingSignal::Confirm).await;
    app.wait_for_email(&id, "confirmation").await;

    // Redeliveries with ids of their own (as a misbehaving integration would send): each one
    // is a history event, so together they pass the limit several times over.
    const FLOOD: usize = 150;
    for n in 0..FLOOD {
        app.signal(
            &id,
            &format!("visit-{n}"),
            BookingSignal::QuestionnaireVisited,
        )
        .await;
    }
    // The created event, the confirmation and every visit are remembered by the latest run.
    let seen = 2 + FLOOD as u32;
    let snapshot = app
        .snapshot_where(&id, "every signal applied", |s| s.events_seen >= seen)
        .await;
    assert_eq!(snapshot.status(), BookingStatus::Confirmed);

    // Walk the chain of runs back from the latest: more than one, each within the limit.
    let mut runs = Vec::new();
    let mut events = latest_events(&app, &id).await;
    loop {
        let length = events.len();
        let run_id = run_id_of(&events);
        println!("run {run_id}: {length} events");
        let previous = continued_from(&events);
        runs.push((run_id, length));
        match previous {
            Some(previous) => events = run_events(&app, &id, &previous).await,
            None => break,
        }
    }
    runs.reverse();
    assert!(runs.len() >= 2, "the booking continued as new: {runs:?}");
    for (run_id, length) in &runs {
        // The limit is checked between actions; one action and the signals that arrived
        // while it ran may pass it by a little.
        assert!(
            *length <= HISTORY_LIMIT as usize + 60,
            "run {run_id} grew to {length} events"
        );
    }

    // The continued booking still does everything exactly once.
    app.signal(
        &id,
        "cancel-1",
        BookingSignal::Cancel {
            reason: "plans changed".into(),
            cancelled_by: "lead".into(),
        },
    )
    .await;
    let result = app.result(&id).await;
    assert_eq!(result.status(), BookingStatus::Cancelled);
    let steps = app.email_steps(&id).await;
    assert_eq!(
        steps,
        [
            "ask-to-confirm",
            "confirmation",
            "tour-preparation",
            "cancellation"
        ],
        "each email once, across every run"
    );
    let calendar = app.calendar_events(&id).await;
    assert_eq!(calendar.len(), 1, "one calendar event, never a second");
    assert_eq!(calendar[0].status, "cancelled");

    let (first, _) = runs.first().expect("at least one run");
    let (last, _) = runs.last().expect("at least one run");
    app.record_run_history(&id, first, "continued_as_new_first_run")
        .await;
    app.record_run_history(&id, last, "continued_as_new_last_run")
        .await;
}

/// p50 and p99 of `samples`, in milliseconds.
fn percentiles(samples: &mut [StdDuration]) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| {
        let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[index].as_secs_f64() * 1000.0
    };
    (at(0.50), at(0.99))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_questionnaire_hits_record_one_visit() {
    let app = TestApp::spawn().await;
    let shim = app.spawn_shim().await;
    let id = app.start(booking_starting_in(Duration::days(3))).await;
    app.wait_for_email(&id, "ask-to-confirm").await;
    let before = latest_events(&app, &id).await.len();

    let secret = booking_activities::secret::Secret::new(SHIM_LINK_SECRET);
    let expiry = (Utc::now() + Duration::days(7)).timestamp();
    // One link opened over and over, and a few links of their own (each email carries a
    // fresh one): every hit is answered, one visit is recorded.
    let tokens: Vec<String> = (0..5)
        .map(|n| links::sign(&secret, &id, links::Purpose::Questionnaire, expiry + n))
        .collect();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    const HITS: usize = 5_000;
    let flood = {
        let http = http.clone();
        let url = shim.url.clone();
        async move {
            futures::stream::iter(0..HITS)
                .map(|n| {
                    let http = http.clone();
                    let link = format!(
                        "{url}/q/{}",
                        tokens[if n % 100 == 0 { n / 100 % 5 } else { 0 }]
                    );
                    async move {
                        http.get(link)
                            .send()
                            .await
                            .map(|r| r.status().as_u16())
                            .unwrap_or(0)
                    }
                })
                .buffer_unordered(32)
                .collect::<Vec<u16>>()
                .await
        }
    };
    let began = Instant::now();
    let mut flood = std::pin::pin!(flood);
    let mut probes = Vec::new();
    let statuses = loop {
        let probe = async {
            let sent = Instant::now();
            let answered = http
                .get(format!("{}/healthz", shim.url))
                .timeout(StdDuration::from_secs(10))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            (answered, sent.elapsed())
        };
        tokio::select! {
            statuses = &mut flood => break statuses,
            (answered, took) = probe => {
                assert!(answered, "the health probe answers during the flood");
                probes.push(took);
                tokio::time::sleep(StdDuration::from_millis(50)).await;
            }
        }
        assert!(
            began.elapsed() < StdDuration::from_secs(600),
            "the flood ends"
        );
    };
    let took = began.elapsed();
    let redirected = statuses.iter().filter(|s| **s == 303).count();
    assert_eq!(redirected, HITS, "every hit gets the questionnaire");

    app.snapshot_where(&id, "the visit recorded", |s| {
        s.steps_done
            .iter()
            .any(|step| step.name == "questionnaire_visited")
    })
    .await;
    let events = eventually("the history settles", WAIT, || async {
        let events = latest_events(&app, &id).await;
        let updates = events
            .iter()
            .filter(|e| e.event_type() == EventType::WorkflowExecutionUpdateAccepted)
            .count();
        (updates >= 1).then_some(events)
    })
    .await;
    let updates = events
        .iter()
        .filter(|e| e.event_type() == EventType::WorkflowExecutionUpdateAccepted)
        .count();
    let signals = events
        .iter()
        .filter(|e| e.event_type() == EventType::WorkflowExecutionSignaled)
        .count();
    let (p50, p99) = percentiles(&mut probes);
    println!(
        "{HITS} questionnaire hits in {:.1}s ({:.0}/s); health probe p50 {p50:.1} ms, p99 {p99:.1} ms over {} probes; history {} events before, {} after ({updates} accepted updates, {signals} signals)",
        took.as_secs_f64(),
        HITS as f64 / took.as_secs_f64(),
        probes.len(),
        before,
        events.len()
    );
    assert_eq!(
        updates, 1,
        "one visit accepted, every repeat refused unwritten"
    );
    assert_eq!(signals, 0, "no visit fell back to a signal");
    assert!(
        events.len() < before + 40,
        "the history grew by {} events",
        events.len() - before
    );
    assert!(p99 < 2_000.0, "the shim stays responsive: p99 {p99:.1} ms");
}
