//! Contract tests of the new booking sources against the sandbox's stand-ins: the Acuity
//! client and the feed fetch read exactly what the stand-ins serve, on their wire shapes and
//! error shapes.

use booking_activities::{
    acuity::AcuityClient,
    config::ProvidersConfig,
    error::ProviderError,
    http::Http,
    ical::{FeedFetch, FetchFeedInput, fetch_feed},
    redact::Redactor,
};
use booking_sandbox::{Injection, SandboxClient, SandboxConfig};
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::json;

fn http() -> Http {
    Http::new(reqwest::Client::new(), Redactor::new(vec![]))
}

fn hour(hours: i64) -> DateTime<Utc> {
    (Utc::now() + Duration::hours(hours))
        .duration_trunc(Duration::hours(1))
        .unwrap()
}

async fn control(
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
) -> serde_json::Value {
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
    response.json().await.unwrap_or(serde_json::Value::Null)
}

#[tokio::test]
async fn the_acuity_client_reads_appointments_and_their_errors_as_acuity_shapes_them() {
    let sandbox = booking_sandbox::start(SandboxConfig::default())
        .await
        .unwrap();
    let base = sandbox.base_url();
    let providers = ProvidersConfig::for_sandbox(&base).unwrap();
    let acuity = providers
        .acuity
        .clone()
        .expect("sandbox mode configures Acuity");
    let client = AcuityClient::new(&acuity, http());

    let body = json!({
        "firstName": "Avery", "lastName": "Acuity", "email": "avery@example.com",
        "datetime": hour(30), "durationMinutes": 90, "calendarID": 4, "appointmentTypeID": 7,
        "timezone": "Europe/London", "webhook": false,
        "forms": [{"id": 1, "name": "Intake", "values": [{"fieldID": 9, "name": "Budget?", "value": "500k"}]}]
    });
    let created = control(&base, reqwest::Method::POST, "/acuity/appointments", body).await;
    let id = created["id"].as_u64().unwrap();
    let read = client.appointment(id).await.unwrap();
    assert_eq!(
        (read.start(), read.end()),
        (hour(30), hour(30) + Duration::minutes(90))
    );
    assert_eq!(read.lead_name(), "Avery Acuity");
    assert_eq!(
        (read.calendar_id, read.appointment_type_id, read.canceled),
        (4, 7, false)
    );
    assert_eq!(read.forms[0].values[0].value, "500k");

    control(
        &base,
        reqwest::Method::POST,
        &format!("/acuity/appointments/{id}/cancel"),
        json!({"webhook": false}),
    )
    .await;
    let window = client.window(hour(1), hour(48)).await.unwrap();
    assert_eq!(window.len(), 1);
    assert!(window[0].canceled, "canceled ones are listed too");
    assert!(client.window(hour(40), hour(48)).await.unwrap().is_empty());

    assert!(matches!(
        client.appointment(999_999).await,
        Err(ProviderError::NotFound { .. })
    ));
    let mut wrong = acuity.clone();
    wrong.api_key = booking_activities::secret::Secret::new("not-the-key");
    let refused = AcuityClient::new(&wrong, http()).appointment(id).await;
    assert!(
        matches!(refused, Err(ProviderError::AuthRejected { .. })),
        "{refused:?}"
    );

    SandboxClient::new(&base)
        .inject(&Injection::new("GET", "/acuity/api/v1/appointments", 503))
        .await
        .unwrap();
    let unavailable = client.appointment(id).await.unwrap_err();
    assert!(unavailable.is_retryable(), "{unavailable}");
}

#[tokio::test]
async fn a_feed_is_fetched_conditionally_and_garbage_is_malformed_not_an_error() {
    let sandbox = booking_sandbox::start(SandboxConfig::default())
        .await
        .unwrap();
    let base = sandbox.base_url();
    let start = hour(30);
    control(
        &base,
        reqwest::Method::PUT,
        "/ical/feeds/harbour/events/cruise-1@x",
        json!({"summary": "Sunset cruise, 4 guests", "start": start, "end": start + Duration::hours(2),
               "tzid": "America/New_York", "attendeeEmail": "jo@example.com", "attendeeName": "Jo Sailor"}),
    )
    .await;
    let mut input = FetchFeedInput {
        feed: "harbour".into(),
        url: format!("{base}/ical/feeds/harbour.ics"),
        etag: None,
        last_modified: None,
    };
    let FeedFetch::Fetched {
        etag,
        last_modified,
        feed,
        ..
    } = fetch_feed(&http(), &input).await.unwrap()
    else {
        panic!("fetched");
    };
    assert_eq!(feed.events.len(), 1);
    let event = &feed.events[0];
    assert_eq!((event.uid.as_str(), event.start), ("cruise-1@x", start));
    assert_eq!(event.summary, "Sunset cruise, 4 guests");
    assert_eq!(event.attendee_email.as_deref(), Some("jo@example.com"));
    assert_eq!(event.attendee_name.as_deref(), Some("Jo Sailor"));

    input.etag = etag;
    input.last_modified = last_modified;
    assert_eq!(
        fetch_feed(&http(), &input).await.unwrap(),
        FeedFetch::NotModified
    );

    let raw = reqwest::Client::new()
        .put(format!("{base}/_sandbox/ical/feeds/harbour/raw"))
        .body("<html>502</html>")
        .send()
        .await
        .unwrap();
    assert!(raw.status().is_success());
    assert!(matches!(
        fetch_feed(&http(), &input).await.unwrap(),
        FeedFetch::Malformed { .. }
    ));

    input.url = format!("{base}/ical/feeds/nobody.ics");
    let gone = fetch_feed(&http(), &input).await.unwrap_err();
    assert!(matches!(gone, ProviderError::NotFound { .. }), "{gone}");
    assert!(!gone.is_retryable());
}
