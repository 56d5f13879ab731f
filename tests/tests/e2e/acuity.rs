//! Acuity Scheduling on a real dev server: the sandbox's Acuity stand-in sends its signed
//! webhooks to the shim, which reads each appointment and hands it to booking `acuity-<id>`.

use booking_proto::{domain::BookingId, v1::BookingStatus};
use booking_starter::booking_client;
use booking_tests::{
    TestApp, TestShim, WAIT, eventually, hours_from_now as at, moves, tour_start as starts_at,
};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// The sandbox's Acuity control.
struct Acuity {
    control: String,
    http: reqwest::Client,
}

impl Acuity {
    async fn wired_to(app: &TestApp, shim: &TestShim) -> Self {
        let acuity = Self {
            control: format!("{}/_sandbox/acuity", app.sandbox_url),
            http: reqwest::Client::new(),
        };
        acuity
            .call(
                reqwest::Method::PUT,
                "/webhook",
                json!({ "url": format!("{}/webhooks/acuity", shim.url) }),
            )
            .await;
        acuity
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let response = self
            .http
            .request(method, format!("{}{path}", self.control))
            .json(&body)
            .send()
            .await
            .expect("the sandbox answers");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "the sandbox refused {path}: {status} {text}"
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Books an appointment; `delivery` holds the webhook controls (`deliveries`, `hold`,
    /// `webhook`).
    async fn schedule(&self, email: &str, start: DateTime<Utc>, delivery: Value) -> u64 {
        let mut body = json!({
            "firstName": "Avery",
            "lastName": "Acuity",
            "email": email,
            "phone": "",
            "datetime": start,
            "durationMinutes": 60,
            "calendarID": 4,
            "appointmentTypeID": 7,
            "timezone": "America/New_York",
        });
        merge(&mut body, delivery);
        let created = self
            .call(reqwest::Method::POST, "/appointments", body)
            .await;
        created["id"].as_u64().expect("the appointment has an id")
    }

    async fn reschedule(&self, id: u64, start: DateTime<Utc>, delivery: Value) {
        let mut body = json!({ "datetime": start });
        merge(&mut body, delivery);
        self.call(
            reqwest::Method::POST,
            &format!("/appointments/{id}/reschedule"),
            body,
        )
        .await;
    }

    async fn cancel(&self, id: u64, delivery: Value) {
        self.call(
            reqwest::Method::POST,
            &format!("/appointments/{id}/cancel"),
            delivery,
        )
        .await;
    }

    async fn release_reversed(&self) {
        self.call(
            reqwest::Method::POST,
            "/webhooks/release",
            json!({ "order": "reverse" }),
        )
        .await;
    }

    /// Every delivery's last answer, by action.
    async fn answers(&self) -> Vec<(String, Option<u16>)> {
        let listed = self
            .http
            .get(format!("{}/webhooks/deliveries", self.control))
            .send()
            .await
            .expect("the sandbox answers")
            .json::<Value>()
            .await
            .expect("deliveries are JSON");
        let deliveries = listed
            .as_array()
            .cloned()
            .or_else(|| listed["deliveries"].as_array().cloned())
            .unwrap_or_default();
        deliveries
            .iter()
            .map(|d| {
                let last = d["attempts"]
                    .as_array()
                    .and_then(|a| a.last())
                    .and_then(|a| a["status"].as_u64())
                    .map(|s| s as u16);
                (d["action"].as_str().unwrap_or_default().to_owned(), last)
            })
            .collect()
    }
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(into), Value::Object(from)) = (into.as_object_mut(), from) {
        into.extend(from);
    }
}

fn booking(id: u64) -> BookingId {
    BookingId::parse(&format!("acuity-{id}")).expect("a valid booking id")
}

fn lead() -> String {
    format!("acuity+{}@example.com", uuid::Uuid::new_v4().simple())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_rescheduled_and_canceled_twice_and_reversed_land_on_one_booking_and_one_event() {
    let app = TestApp::spawn().await;
    let shim = app.spawn_shim().await;
    let acuity = Acuity::wired_to(&app, &shim).await;
    let twice_held = json!({ "deliveries": 2, "hold": true });

    // The reschedule's webhooks reach the shim before the scheduling's.
    let id = acuity.schedule(&lead(), at(30), twice_held.clone()).await;
    acuity.reschedule(id, at(33), twice_held).await;
    acuity.release_reversed().await;
    let booking = booking(id);
    let moved = app
        .snapshot_where(&booking, "the booking at the rescheduled time", |s| {
            starts_at(s) == Some(at(33))
                && s.external_ids
                    .as_ref()
                    .is_some_and(|x| !x.calendar_event_id.is_empty())
        })
        .await;
    assert_eq!(moved.agent_id, "acuity-calendar-4");
    assert_eq!(moved.property_id, "acuity-type-7");
    eventually("four deliveries answered 200", WAIT, || async {
        let answers = acuity.answers().await;
        (answers.len() == 4 && answers.iter().all(|(_, s)| *s == Some(200))).then_some(())
    })
    .await;
    eventually("one calendar event at the new time", WAIT, || async {
        (app.live_calendar_starts(&booking).await == [at(33)]).then_some(())
    })
    .await;

    acuity.cancel(id, json!({ "deliveries": 2 })).await;
    app.snapshot_where(&booking, "the cancellation", |s| {
        s.status() == BookingStatus::Cancelled
    })
    .await;
    eventually("no calendar event left", WAIT, || async {
        app.live_calendar_starts(&booking)
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    // The first delivery to arrive (a reschedule) started the booking from the appointment as
    // Acuity held it then, at the new time: the booking never had to move.
    let s = booking_client::status(&app.client, &booking)
        .await
        .expect("the booking answers");
    assert_eq!(s.status(), BookingStatus::Cancelled);
    assert_eq!(moves(&s), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_signature_is_refused_and_an_unreadable_appointment_is_retried_not_dropped() {
    let app = TestApp::spawn().await;
    let shim = app.spawn_shim().await;
    let acuity = Acuity::wired_to(&app, &shim).await;

    let forged = reqwest::Client::new()
        .post(format!("{}/webhooks/acuity", shim.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-acuity-signature", "c2lnbmVkIGJ5IHNvbWVvbmUgZWxzZQ==")
        .body("action=appointment.canceled&id=1&calendarID=4&appointmentTypeID=7")
        .send()
        .await
        .expect("the shim answers");
    assert_eq!(forged.status(), 401);

    // Acuity's API fails the first reads: the shim answers 503, Acuity sends it again.
    let injected = reqwest::Client::new()
        .post(format!("{}/_sandbox/faults/injections", app.sandbox_url))
        .json(&json!({
            "method": "GET",
            "path_prefix": "/acuity/api/v1/appointments",
            "status": 503,
            "times": 2,
        }))
        .send()
        .await
        .expect("the sandbox answers");
    assert!(injected.status().is_success(), "{}", injected.status());
    let id = acuity.schedule(&lead(), at(30), json!({})).await;
    app.snapshot_where(&booking(id), "the booking", |s| {
        starts_at(s) == Some(at(30))
    })
    .await;
    let answers = acuity.answers().await;
    assert!(
        answers.iter().any(|(_, s)| *s == Some(200)),
        "delivered in the end: {answers:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_repairs_what_acuity_webhooks_missed() {
    let app = TestApp::spawn().await;
    let shim = app.spawn_shim().await;
    let acuity = Acuity::wired_to(&app, &shim).await;
    let silent = json!({ "webhook": false });

    let missed = acuity.schedule(&lead(), at(30), silent.clone()).await;
    let moved = acuity.schedule(&lead(), at(40), json!({})).await;
    let canceled = acuity.schedule(&lead(), at(50), json!({})).await;
    for id in [moved, canceled] {
        app.snapshot_where(&booking(id), "the booking", |s| {
            s.external_ids
                .as_ref()
                .is_some_and(|x| !x.calendar_event_id.is_empty())
        })
        .await;
    }
    acuity.reschedule(moved, at(44), silent.clone()).await;
    acuity.cancel(canceled, silent).await;

    let report = app.reconcile().await;
    assert_eq!(report.repaired.missed_bookings, 1, "{report:?}");
    assert_eq!(report.repaired.missed_reschedules, 1, "{report:?}");
    assert_eq!(report.repaired.missed_cancellations, 1, "{report:?}");
    app.snapshot_where(&booking(missed), "the missed booking", |s| {
        starts_at(s) == Some(at(30))
    })
    .await;
    app.snapshot_where(&booking(moved), "the missed move", |s| {
        starts_at(s) == Some(at(44))
    })
    .await;
    app.snapshot_where(&booking(canceled), "the missed cancellation", |s| {
        s.status() == BookingStatus::Cancelled
    })
    .await;
    let again = app.reconcile().await;
    assert_eq!(again.repaired.total(), 0, "{again:?}");
}
