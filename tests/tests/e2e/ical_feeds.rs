//! iCalendar feeds on a real dev server: a feed's schedule and poll workflow against the
//! sandbox's ICS feeds, whose content each test controls.
//!
//! Polls are run by the test itself, as runs of the feed's schedule would be (same workflow,
//! same input read from the schedule, a workflow id under the schedule's prefix, so the run
//! writes what it learned back into the schedule), to get each run's report; the schedule
//! itself is paused so its own runs cannot interleave.

use booking_activities::feeds::{FeedConfig, FeedName};
use booking_proto::{
    domain::BookingId,
    v1::{BookingSnapshot, BookingStatus},
};
use booking_starter::{booking_client, feeds};
use booking_tests::{
    TestApp, WAIT, eventually, hours_from_now as at, moves, tour_start as starts_at,
};
use booking_workflows::feeds::{FeedPollReport, FeedPollWorkflow, PollOutcome};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};

fn feed_name() -> FeedName {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    FeedName::parse(&format!("boats-{}", &unique[..8])).expect("a valid feed name")
}

/// The sandbox's control of one feed.
struct Feed {
    name: FeedName,
    control: String,
    url: String,
    http: reqwest::Client,
}

impl Feed {
    fn new(app: &TestApp, name: &FeedName) -> Self {
        Self {
            name: name.clone(),
            control: format!("{}/_sandbox/ical/feeds/{name}", app.sandbox_url),
            url: format!("{}/ical/feeds/{name}.ics", app.sandbox_url),
            http: reqwest::Client::new(),
        }
    }

    async fn call(&self, request: reqwest::RequestBuilder) {
        let response = request.send().await.expect("the sandbox answers");
        assert!(
            response.status().is_success(),
            "the sandbox refused a feed change: {} {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
    }

    async fn put(&self, uid: &str, start: DateTime<Utc>, email: &str) {
        let body = json!({
            "summary": format!("Sunset cruise ({uid})"),
            "start": start,
            "end": start + Duration::hours(2),
            "attendeeEmail": email,
            "attendeeName": "Jo Sailor",
        });
        self.call(
            self.http
                .put(format!("{}/events/{uid}", self.control))
                .json(&body),
        )
        .await;
    }

    async fn cancel(&self, uid: &str) {
        self.call(
            self.http
                .post(format!("{}/events/{uid}/cancel", self.control)),
        )
        .await;
    }

    async fn serve_raw(&self, text: &str) {
        self.call(
            self.http
                .put(format!("{}/raw", self.control))
                .body(text.to_owned()),
        )
        .await;
    }

    async fn stop_raw(&self) {
        self.call(self.http.delete(format!("{}/raw", self.control)))
            .await;
    }

    async fn empty(&self) {
        self.call(self.http.post(format!("{}/empty", self.control)))
            .await;
    }

    fn booking(&self, uid: &str) -> BookingId {
        BookingId::parse(&self.name.booking_id(uid)).expect("a valid booking id")
    }
}

async fn add_feed(app: &TestApp, feed: &Feed) {
    let config = FeedConfig {
        name: feed.name.clone(),
        url: feed.url.clone(),
        agent_id: "captain-rosa".into(),
        property_id: "boat-7".into(),
        poll_interval_secs: 3600,
        fallback_email: None,
    };
    feeds::add(&app.client, &app.task_queue, config)
        .await
        .expect("the feed is added");
    app.client
        .get_schedule_handle(feed.name.schedule_id())
        .pause(Some("the test runs the polls"), Default::default())
        .await
        .expect("the schedule pauses");
}

/// One poll, as the feed's schedule would run it (see the module doc).
async fn poll(app: &TestApp, feed: &Feed, accept_drop: bool) -> FeedPollReport {
    let (task_queue, mut input) = feeds::current(&app.client, &feed.name)
        .await
        .expect("the feed's input reads");
    input.accept_drop = accept_drop;
    let id = format!(
        "{}-test-{}",
        feed.name.run_id_prefix(),
        uuid::Uuid::new_v4().simple()
    );
    app.client
        .start_workflow(
            FeedPollWorkflow::run,
            input,
            WorkflowStartOptions::new(task_queue, id).build(),
        )
        .await
        .expect("the poll starts")
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("the poll completes")
}

async fn status(app: &TestApp, booking: &BookingId) -> BookingSnapshot {
    booking_client::status(&app.client, booking)
        .await
        .expect("the booking answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feeds_adds_moves_and_cancels_land_on_one_booking_each_and_a_repeat_poll_is_a_no_op() {
    let app = TestApp::spawn().await;
    let name = feed_name();
    let feed = Feed::new(&app, &name);
    feed.put("cruise-a@getmyboat.test", at(30), "ana@example.com")
        .await;
    feed.put("cruise-b@getmyboat.test", at(40), "ben@example.com")
        .await;
    add_feed(&app, &feed).await;

    let first = poll(&app, &feed, false).await;
    assert_eq!(first.outcome, PollOutcome::Applied, "{first:?}");
    assert_eq!((first.started, first.moved, first.cancelled), (2, 0, 0));
    let a = feed.booking("cruise-a@getmyboat.test");
    let b = feed.booking("cruise-b@getmyboat.test");
    for (booking, start) in [(&a, at(30)), (&b, at(40))] {
        let s = app
            .snapshot_where(booking, "the calendar event", |s| {
                s.external_ids
                    .as_ref()
                    .is_some_and(|x| !x.calendar_event_id.is_empty())
            })
            .await;
        assert_eq!(starts_at(&s), Some(start));
        assert_eq!(s.agent_id, "captain-rosa");
    }

    let again = poll(&app, &feed, false).await;
    assert_eq!(again.outcome, PollOutcome::NotModified, "{again:?}");
    assert_eq!((again.started, again.moved, again.cancelled), (0, 0, 0));

    feed.put("cruise-a@getmyboat.test", at(35), "ana@example.com")
        .await;
    feed.cancel("cruise-b@getmyboat.test").await;
    let changed = poll(&app, &feed, false).await;
    assert_eq!(changed.outcome, PollOutcome::Applied, "{changed:?}");
    assert_eq!(
        (changed.started, changed.moved, changed.cancelled),
        (0, 1, 1)
    );
    app.snapshot_where(&a, "the move", |s| starts_at(s) == Some(at(35)))
        .await;
    app.snapshot_where(&b, "the cancellation", |s| {
        s.status() == BookingStatus::Cancelled
    })
    .await;
    eventually("one calendar event at the new time", WAIT, || async {
        (app.live_calendar_starts(&a).await == [at(35)]).then_some(())
    })
    .await;

    let settled = poll(&app, &feed, false).await;
    assert_eq!(settled.outcome, PollOutcome::NotModified, "{settled:?}");
    assert_eq!(moves(&status(&app, &a).await), 1);
    let view = feeds::show(&app.client, &name)
        .await
        .expect("the feed shows");
    assert_eq!(view.upcoming_bookings, 1);
    assert_eq!(view.attention, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbled_or_emptied_feed_cancels_nothing_and_is_held_for_an_operator() {
    let app = TestApp::spawn().await;
    let name = feed_name();
    let feed = Feed::new(&app, &name);
    feed.put("trip-1@boatsetter.test", at(30), "cy@example.com")
        .await;
    feed.put("trip-2@boatsetter.test", at(50), "di@example.com")
        .await;
    add_feed(&app, &feed).await;
    let first = poll(&app, &feed, false).await;
    assert_eq!(first.started, 2, "{first:?}");
    let bookings = [
        feed.booking("trip-1@boatsetter.test"),
        feed.booking("trip-2@boatsetter.test"),
    ];

    feed.serve_raw("<html><body>502 Bad Gateway</body></html>")
        .await;
    let garbled = poll(&app, &feed, false).await;
    assert_eq!(garbled.outcome, PollOutcome::Malformed, "{garbled:?}");
    assert_eq!(garbled.cancelled, 0);
    let view = feeds::show(&app.client, &name)
        .await
        .expect("the feed shows");
    let reason = view.attention.expect("the feed needs attention");
    assert!(reason.contains("not a usable iCalendar"), "{reason}");
    // Operators see it in the CLI too.
    let listed = booking_tests::run_cli({
        let mut cli = app.bookings_cli();
        cli.args(["feeds", "list"]);
        cli
    })
    .await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let shown = listed
        .json
        .as_array()
        .and_then(|views| views.iter().find(|v| v["name"] == name.as_str()))
        .unwrap_or_else(|| panic!("the feed is listed: {}", listed.json));
    assert!(
        shown["attention"]
            .as_str()
            .is_some_and(|r| r.contains("not a usable iCalendar")),
        "{shown}"
    );

    feed.stop_raw().await;
    let recovered = poll(&app, &feed, false).await;
    assert_eq!(recovered.outcome, PollOutcome::Applied, "{recovered:?}");
    assert_eq!(recovered.attention, None);
    assert_eq!((recovered.started, recovered.cancelled), (0, 0));

    feed.empty().await;
    let emptied = poll(&app, &feed, false).await;
    assert_eq!(emptied.outcome, PollOutcome::Held, "{emptied:?}");
    assert!(
        emptied
            .attention
            .as_deref()
            .is_some_and(|r| r.contains("--accept-drop")),
        "{emptied:?}"
    );
    for booking in &bookings {
        let s = status(&app, booking).await;
        assert_ne!(s.status(), BookingStatus::Cancelled, "{booking} kept");
    }

    // The operator looked: the platform really dropped them.
    let accepted = poll(&app, &feed, true).await;
    assert_eq!(accepted.outcome, PollOutcome::Applied, "{accepted:?}");
    assert_eq!(accepted.cancelled, 2);
    for booking in &bookings {
        app.snapshot_where(booking, "the cancellation", |s| {
            s.status() == BookingStatus::Cancelled
        })
        .await;
    }
    let (_, input) = feeds::current(&app.client, &name).await.expect("reads");
    assert!(!input.accept_drop, "the one-off acceptance is cleared");
    assert_eq!(input.known.attention, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_adds_lists_and_removes_feeds_and_refuses_a_bad_one() {
    let app = TestApp::spawn().await;
    let name = feed_name();
    let feed = Feed::new(&app, &name);
    let run = |args: Vec<String>| {
        let mut cli = app.bookings_cli();
        cli.args(args);
        booking_tests::run_cli(cli)
    };
    let bad = run(vec![
        "feeds".into(),
        "add".into(),
        name.to_string(),
        "--url".into(),
        "ftp://example.com/x.ics".into(),
        "--agent".into(),
        "captain-rosa".into(),
        "--every".into(),
        "5".into(),
    ])
    .await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    let message = bad.json.to_string();
    assert!(
        message.contains("--url") && message.contains("--every"),
        "{message}"
    );

    let added = run(vec![
        "feeds".into(),
        "add".into(),
        name.to_string(),
        "--url".into(),
        feed.url.clone(),
        "--agent".into(),
        "captain-rosa".into(),
        "--every".into(),
        "3600".into(),
    ])
    .await;
    assert_eq!(added.code, 0, "{}", added.stderr);
    app.client
        .get_schedule_handle(name.schedule_id())
        .pause(Some("the test"), Default::default())
        .await
        .expect("pauses");
    eventually("the feed listed", WAIT, || async {
        let listed = run(vec!["feeds".into(), "list".into()]).await;
        listed
            .json
            .as_array()?
            .iter()
            .any(|v| v["name"] == name.as_str() && v["property_id"] == name.as_str())
            .then_some(())
    })
    .await;
    let removed = run(vec!["feeds".into(), "remove".into(), name.to_string()]).await;
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    let gone = run(vec!["feeds".into(), "poll-now".into(), name.to_string()]).await;
    assert_eq!(gone.code, 3, "{}", gone.stderr);
}
