//! Contract tests of the Acuity stand-in's webhooks and of the ICS feeds, over HTTP.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::{Router, body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post};
use booking_sandbox::{SandboxConfig, defaults};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// A webhook's body and its `X-Acuity-Signature`.
type Post = (String, Option<String>);

#[derive(Clone, Default)]
struct Received {
    posts: Arc<Mutex<Vec<Post>>>,
    /// Answer 500 to this many posts first.
    fail_first: Arc<Mutex<u32>>,
}

async fn receive(State(r): State<Received>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers
        .get("x-acuity-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    r.posts
        .lock()
        .unwrap()
        .push((String::from_utf8_lossy(&body).into_owned(), signature));
    let mut fail = r.fail_first.lock().unwrap();
    if *fail > 0 {
        *fail -= 1;
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

async fn receiver(received: Received) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(received);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn call(base: &str, method: reqwest::Method, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .request(method, format!("{base}/_sandbox{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap_or(Value::Null)
}

async fn posts_until(received: &Received, n: usize) -> Vec<Post> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let posts = received.posts.lock().unwrap().clone();
        if posts.len() >= n {
            return posts;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {n} posts",
            posts.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn signed(body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(defaults::ACUITY_API_KEY.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    data_encoding::BASE64.encode(&mac.finalize().into_bytes())
}

fn appointment(extra: Value) -> Value {
    let mut body = json!({
        "firstName": "Avery", "lastName": "Acuity", "email": "avery@example.com",
        "datetime": "2030-05-06T14:00:00Z", "durationMinutes": 60, "calendarID": 4,
        "appointmentTypeID": 7, "timezone": "America/New_York"
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

#[tokio::test]
async fn acuity_webhooks_are_signed_sent_twice_held_reversed_and_retried() {
    let sandbox = booking_sandbox::start(SandboxConfig::default())
        .await
        .unwrap();
    let base = sandbox.base_url();
    let received = Received::default();
    let url = receiver(received.clone()).await;
    call(
        &base,
        reqwest::Method::PUT,
        "/acuity/webhook",
        json!({ "url": url }),
    )
    .await;

    let created = call(
        &base,
        reqwest::Method::POST,
        "/acuity/appointments",
        appointment(json!({ "deliveries": 2 })),
    )
    .await;
    let id = created["id"].as_u64().unwrap();
    assert_eq!(
        created["datetime"], "2030-05-06T10:00:00-0400",
        "local, colon-less offset"
    );
    let posts = posts_until(&received, 2).await;
    let expected = format!("action=appointment.scheduled&id={id}&calendarID=4&appointmentTypeID=7");
    for (body, signature) in &posts {
        assert_eq!(body, &expected);
        assert_eq!(signature.as_deref(), Some(signed(body).as_str()));
    }

    // Held, then released newest first.
    call(
        &base,
        reqwest::Method::POST,
        &format!("/acuity/appointments/{id}/reschedule"),
        json!({ "datetime": "2030-05-07T14:00:00Z", "hold": true }),
    )
    .await;
    call(
        &base,
        reqwest::Method::POST,
        &format!("/acuity/appointments/{id}/cancel"),
        json!({ "hold": true }),
    )
    .await;
    call(
        &base,
        reqwest::Method::POST,
        "/acuity/webhooks/release",
        json!({ "order": "reverse" }),
    )
    .await;
    let posts = posts_until(&received, 4).await;
    assert!(
        posts[2].0.starts_with("action=appointment.canceled"),
        "{posts:?}"
    );
    assert!(
        posts[3].0.starts_with("action=appointment.rescheduled"),
        "{posts:?}"
    );

    // A failed delivery is retried until it gets a 2xx.
    *received.fail_first.lock().unwrap() = 1;
    call(
        &base,
        reqwest::Method::POST,
        "/acuity/appointments",
        appointment(json!({})),
    )
    .await;
    let posts = posts_until(&received, 6).await;
    assert_eq!(posts[4].0, posts[5].0, "the same body again");
    let deliveries = reqwest::get(format!("{base}/_sandbox/acuity/webhooks/deliveries"))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let last = deliveries.as_array().unwrap().last().unwrap().clone();
    let statuses: Vec<_> = last["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].clone())
        .collect();
    assert_eq!(statuses, [json!(500), json!(200)]);

    // The API refuses wrong credentials with Acuity's error shape.
    let refused = reqwest::Client::new()
        .get(format!("{base}/acuity/api/v1/appointments/{id}"))
        .basic_auth(defaults::ACUITY_USER_ID, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        (body["status_code"].clone(), body["error"].clone()),
        (json!(401), json!("unauthorized"))
    );
    let canceled = reqwest::Client::new()
        .get(format!("{base}/acuity/api/v1/appointments?canceled=true"))
        .basic_auth(defaults::ACUITY_USER_ID, Some(defaults::ACUITY_API_KEY))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(canceled.as_array().unwrap().len(), 1);
    assert_eq!(canceled[0]["canceled"], true);
}

#[tokio::test]
async fn ics_feeds_answer_304_to_their_validators_until_they_change() {
    let sandbox = booking_sandbox::start(SandboxConfig::default())
        .await
        .unwrap();
    let base = sandbox.base_url();
    let feed = format!("{base}/ical/feeds/harbour.ics");
    assert_eq!(reqwest::get(&feed).await.unwrap().status(), 404);
    call(&base, reqwest::Method::PUT, "/ical/feeds/harbour/events/a@x",
         json!({ "summary": "Cruise", "start": "2030-05-06T14:00:00Z", "end": "2030-05-06T16:00:00Z" })).await;
    let first = reqwest::get(&feed).await.unwrap();
    assert_eq!(
        first.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let modified = first.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = first.text().await.unwrap();
    assert!(body.contains("DTSTART:20300506T140000Z\r\n") && body.contains("SEQUENCE:0\r\n"));

    let client = reqwest::Client::new();
    let by_etag = client
        .get(&feed)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(by_etag.status(), 304);
    let by_date = client
        .get(&feed)
        .header("if-modified-since", &modified)
        .send()
        .await
        .unwrap();
    assert_eq!(by_date.status(), 304);

    call(&base, reqwest::Method::PUT, "/ical/feeds/harbour/events/a@x",
         json!({ "summary": "Cruise", "start": "2030-05-06T15:00:00Z", "end": "2030-05-06T17:00:00Z" })).await;
    let moved = client
        .get(&feed)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);
    assert_ne!(moved.headers()["etag"].to_str().unwrap(), etag);
    assert!(
        moved.text().await.unwrap().contains("SEQUENCE:1\r\n"),
        "a move raises SEQUENCE"
    );
    let counts = reqwest::get(format!("{base}/_sandbox/ical/feeds/harbour/requests"))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(counts, json!({ "fetches": 4, "notModified": 2 }));
}
