//! Text messages end to end: a dev server, the worker, the shim and the sandbox's Twilio
//! stand-in, wired as in production (texts ask for status callbacks at the shim; replies come
//! to the shim signed). A booking with a phone gets its text steps and their delivery reports,
//! a `C` reply confirms it, a STOP reply moves the rest to email, a forged signature is 401,
//! and quiet hours hold a text until they end.

use booking_proto::v1::{BookingSnapshot, BookingStatus};
use booking_starter::booking_client::BookingSignal;
use booking_tests::{
    TestApp, TestOptions, WAIT, booking_starting_in, eventually, hours_as_seconds, with_phone,
};
use booking_workflows::{
    booking::client::BookingClient,
    lifecycle::{ChannelChoice, FollowUpPolicy, LocalTime, QuietHours, Span},
};
use chrono::{DateTime, Duration, DurationRound, Timelike, Utc};

const NUMBER: &str = "+14155550132";

/// The production cadence in seconds, with both tour reminders (24 s and 1 s before) by text.
fn texting_policy() -> FollowUpPolicy {
    let mut policy = hours_as_seconds(FollowUpPolicy::default());
    policy
        .sms
        .channels
        .insert("tour-reminder-24s".into(), ChannelChoice::Sms);
    policy
}

async fn spawn(policy: FollowUpPolicy) -> TestApp {
    TestApp::spawn_with(TestOptions {
        follow_up: policy,
        ..TestOptions::default()
    })
    .await
}

/// Waits until visibility finds the booking by its lead's number: a reply names only that.
async fn findable_by_phone(app: &TestApp, id: &booking_proto::domain::BookingId) {
    let bookings = BookingClient::new(app.client.clone(), app.task_queue.clone());
    let phone = booking_proto::phone::PhoneNumber::parse(NUMBER).unwrap();
    eventually(
        "the booking to be found by its lead's number",
        WAIT,
        || async {
            bookings
                .running_bookings_for_phone(&phone)
                .await
                .ok()
                .filter(|found| found.contains(id))
        },
    )
    .await;
}

fn delivered(snapshot: &BookingSnapshot, step_prefix: &str) -> bool {
    snapshot
        .sms_deliveries
        .iter()
        .any(|d| d.step.starts_with(step_prefix) && d.status == "delivered")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_with_a_phone_is_confirmed_by_a_c_reply_and_gets_its_reminders_by_text() {
    let mut app = spawn(texting_policy()).await;
    let _shim = app.spawn_shim_with_texts().await;
    let id = app
        .start(with_phone(
            booking_starting_in(Duration::seconds(45)),
            "+1 (415) 555-0132",
        ))
        .await;
    app.wait_for_email(&id, "ask-to-confirm").await;
    findable_by_phone(&app, &id).await;

    let reply = app.sandbox.twilio_inbound(NUMBER, " c ").await.unwrap();
    let answer = reply.answers.first().expect("the shim answered the reply");
    assert_eq!(answer.status, Some(200), "{answer:?}");
    assert!(
        answer
            .content_type
            .as_deref()
            .unwrap_or_default()
            .contains("xml")
    );
    app.snapshot_where(&id, "confirmed by the reply", |s| {
        s.status() == BookingStatus::Confirmed
    })
    .await;

    app.snapshot_where(&id, "the 24 s reminder texted and delivered", |s| {
        delivered(s, "tour-reminder-24s@")
    })
    .await;
    let snapshot = app
        .snapshot_where(&id, "the 1 s reminder texted and delivered", |s| {
            delivered(s, "tour-reminder-1s@")
        })
        .await;
    assert_eq!(snapshot.sms_number, NUMBER);
    let texts = app.texts_to(NUMBER).await;
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts
            .iter()
            .all(|t| t.body.contains("prop-12-harbour-view"))
    );
    let emails = app.email_steps(&id).await;
    assert!(
        !emails.iter().any(|s| s.starts_with("tour-reminder-")),
        "text steps are not also emailed: {emails:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_reply_moves_the_remaining_steps_to_email() {
    let mut app = spawn(texting_policy()).await;
    let shim = app.spawn_shim_with_texts().await;
    let id = app
        .start(with_phone(
            booking_starting_in(Duration::seconds(40)),
            NUMBER,
        ))
        .await;
    app.signal(&id, "confirm-1", BookingSignal::Confirm).await;
    app.snapshot_where(&id, "the 24 s reminder texted", |s| {
        delivered(s, "tour-reminder-24s@")
    })
    .await;
    findable_by_phone(&app, &id).await;

    app.sandbox.twilio_inbound(NUMBER, "STOP").await.unwrap();
    let snapshot = app
        .snapshot_where(&id, "texts turned off", |s| !s.sms_off_reason.is_empty())
        .await;
    assert!(
        snapshot
            .steps_pending
            .iter()
            .filter(|p| p.due_at.is_some() && !p.channel.is_empty())
            .all(|p| p.channel == "email"),
        "{:?}",
        snapshot.steps_pending
    );
    app.wait_for_email(&id, "tour-reminder-1s@").await;
    assert_eq!(app.texts_to(NUMBER).await.len(), 1, "no text after STOP");

    // The booking runs out: its history joins the replay suite.
    app.signal(&id, "complete-1", BookingSignal::TourComplete)
        .await;
    let result = app.result(&id).await;
    assert_eq!(result.status(), BookingStatus::TourComplete);
    app.record_history(&id, "sms_stop_then_email").await;
    drop(shim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilio_webhooks_without_a_valid_signature_are_refused() {
    let app = spawn(texting_policy()).await;
    let shim = app.spawn_shim().await;
    let http = reqwest::Client::new();
    let form = "MessageSid=SM00000000000000000000000000000001&From=%2B14155550132&To=%2B15005550006&Body=C";
    for path in [
        "/webhooks/twilio/inbound",
        "/webhooks/twilio/status?booking_id=bk-1&step=s",
    ] {
        for signature in [None, Some("bm90IHRoZSBzaWduYXR1cmU=")] {
            let mut request = http
                .post(format!("{}{path}", shim.url))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form);
            if let Some(signature) = signature {
                request = request.header("X-Twilio-Signature", signature);
            }
            let answer = request.send().await.unwrap();
            assert_eq!(answer.status(), 401, "{path} with {signature:?}");
        }
    }
}

/// Quiet hours from the current minute (UTC) to two minutes later, and a reminder due inside
/// them: the text waits for their end, and still arrives before the tour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_hold_a_text_until_they_end() {
    let now = Utc::now();
    let quiet_start = now.duration_trunc(Duration::minutes(1)).unwrap();
    let quiet_end = quiet_start + Duration::minutes(2);
    let tour_start = quiet_end + Duration::seconds(60);
    let mut policy = hours_as_seconds(FollowUpPolicy::default());
    policy.confirmed.reminders_before = vec![Span::secs(90)];
    policy.sms.channels = [("tour-reminder-90s".to_owned(), ChannelChoice::Sms)].into();
    let local = |t: DateTime<Utc>| LocalTime::hm(t.hour(), t.minute());
    policy.sms.quiet_hours = Some(QuietHours {
        start: local(quiet_start),
        end: local(quiet_end),
    });
    let app = spawn(policy).await;
    let mut request = with_phone(booking_starting_in(tour_start - now), NUMBER);
    request.lead.as_mut().unwrap().timezone = "UTC".into();
    let id = app.start(request).await;
    app.signal(&id, "confirm-1", BookingSignal::Confirm).await;

    let due = tour_start - Duration::seconds(90);
    assert!(
        due < quiet_end && due > now,
        "the reminder is due in quiet hours"
    );
    let texts = eventually("the reminder texted", WAIT * 6, || async {
        Some(app.texts_to(NUMBER).await).filter(|t| !t.is_empty())
    })
    .await;
    assert!(
        texts[0].date_created >= quiet_end,
        "texted at {} before quiet hours ended at {quiet_end}",
        texts[0].date_created
    );
    assert!(texts[0].date_created < tour_start);
    let emails = app.email_steps(&id).await;
    assert!(!emails.iter().any(|s| s.starts_with("tour-reminder-90s@")));
}
