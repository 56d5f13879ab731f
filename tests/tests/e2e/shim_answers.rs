//! Every answer of the shim on a real engine: 401 without detail, 415, 413, 202 plus one dead
//! letter for a signed payload it cannot process, 400 listing every form error, the form and
//! link hand-offs, the operator endpoint, metrics and OpenAPI, and 503 with `Retry-After` while
//! Temporal is unreachable.

use booking_proto::{domain::BookingId, v1::BookingStatus};
use booking_sandbox::RawWebhook;
use booking_shim::{links, signature};
use booking_tests::{
    SHIM_FORM_TOKEN, SHIM_FORM_WEBHOOK_SECRET, SHIM_LINK_SECRET, SHIM_OPERATOR_TOKEN, TestApp,
    WAIT, eventually, free_port, serve_shim, shim_config,
};
use booking_workflows::dead_letter::{DeadLetterOutcome, DeadLetterWorkflow};
use chrono::{Duration, DurationRound, Utc};
use sha2::Digest;
use temporalio_client::{WorkflowFetchHistoryOptions, WorkflowQueryOptions};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

const KEY: &str = "sandbox-calendly-signing-key";

fn signed(body: &str) -> String {
    let now = Utc::now().timestamp();
    format!(
        "t={now},v1={}",
        signature::calendly_v1(KEY, now, body.as_bytes())
    )
}

async fn post_calendly(
    url: &str,
    body: &str,
    signature: Option<&str>,
    content_type: &str,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{url}/webhooks/calendly"))
        .header("content-type", content_type)
        .header("x-request-id", "req-test-1")
        .body(body.to_owned());
    if let Some(sig) = signature {
        request = request.header("calendly-webhook-signature", sig);
    }
    request.send().await.expect("the shim answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendly_answers_401_415_413_and_dead_letters_what_it_cannot_process() {
    let app = TestApp::spawn().await;
    let shim = app.spawn_shim().await;
    let body = r#"{"event":"routing_form_submission.created","payload":{"x":1}}"#;

    // 401 for missing, wrong-key, stale and malformed signatures, with no detail in the body.
    let stale = Utc::now().timestamp() - 3600;
    let stale_sig = format!(
        "t={stale},v1={}",
        signature::calendly_v1(KEY, stale, body.as_bytes())
    );
    let wrong_key = {
        let now = Utc::now().timestamp();
        format!(
            "t={now},v1={}",
            signature::calendly_v1("other", now, body.as_bytes())
        )
    };
    for sig in [
        None,
        Some(stale_sig.as_str()),
        Some(wrong_key.as_str()),
        Some("t=1,v1=zz"),
    ] {
        let response = post_calendly(&shim.url, body, sig, "application/json").await;
        assert_eq!(response.status(), 401, "{sig:?}");
        assert_eq!(response.headers()["x-request-id"], "req-test-1");
        let answer: serde_json::Value = response.json().await.unwrap();
        assert_eq!(answer, serde_json::json!({"error": "unauthorized"}));
    }
    // The sandbox's own sender agrees: a stale signature is refused.
    let sent = app
        .sandbox
        .send_raw_webhook(&RawWebhook {
            body: body.into(),
            timestamp: Some(stale),
            ..RawWebhook::default()
        })
        .await
        .unwrap();
    assert_eq!(sent.attempts[0].status, Some(401));

    let response = post_calendly(&shim.url, body, Some(&signed(body)), "text/plain").await;
    assert_eq!(response.status(), 415);
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(300 * 1024));
    let response = post_calendly(&shim.url, &big, Some(&signed(&big)), "application/json").await;
    assert_eq!(response.status(), 413);

    // A signed payload we cannot process: 202 and one dead letter, also when redelivered.
    let sent = app
        .sandbox
        .send_raw_webhook(&RawWebhook {
            body: body.into(),
            ..RawWebhook::default()
        })
        .await
        .unwrap();
    assert_eq!(sent.attempts[0].status, Some(202));
    let again = app.sandbox.redeliver(&sent.id).await.unwrap();
    assert_eq!(again.attempts[0].status, Some(202));
    let response = post_calendly(&shim.url, body, Some(&signed(body)), "application/json").await;
    assert_eq!(response.status(), 202);
    let answer: serde_json::Value = response.json().await.unwrap();
    let id = format!(
        "dead-letter-{}",
        hex::encode(sha2::Sha256::digest(body.as_bytes()))
    );
    assert_eq!(answer["deadLetterId"], id.as_str());
    let details = eventually("the dead letter", WAIT, || async {
        app.client
            .get_workflow_handle::<DeadLetterWorkflow>(id.clone())
            .query(
                DeadLetterWorkflow::details,
                (),
                WorkflowQueryOptions::default(),
            )
            .await
            .ok()
            .filter(|d| !d.letter.payload.is_empty())
    })
    .await;
    assert_eq!(details.letter.payload, body);
    assert_eq!(details.letter.source, "calendly");
    assert!(details.letter.reason.contains("unsupported event type"));
    assert_eq!(details.outcome, DeadLetterOutcome::Open);

    // An invalid email in an otherwise well-formed creation is a dead letter too.
    let bad_email = r#"{"event":"invitee.created","payload":{"uri":"http://x/scheduled_events/E/invitees/I","email":"not-an-email","scheduled_event":{"start_time":"2030-01-01T09:00:00Z","end_time":"2030-01-01T09:30:00Z"}}}"#;
    let response = post_calendly(
        &shim.url,
        bad_email,
        Some(&signed(bad_email)),
        "application/json",
    )
    .await;
    assert_eq!(response.status(), 202);

    let metrics = reqwest::get(format!("{}/metrics", shim.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"shim_requests_total{route="/webhooks/calendly",status="401"} 5"#),
        "{metrics}"
    );
    assert!(metrics.contains("shim_handoff_duration_seconds_count{kind=\"calendly\"}"));
    let openapi: serde_json::Value = reqwest::get(format!("{}/openapi.json", shim.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/webhooks/calendly",
        "/webhooks/form",
        "/q/{token}",
        "/bookings/{id}/tour-complete",
    ] {
        assert!(openapi["paths"][path].is_object(), "{path} documented");
    }
}

fn form(submission: &str, start: chrono::DateTime<Utc>) -> serde_json::Value {
    let local = start.with_timezone(&chrono::FixedOffset::east_opt(3600).unwrap());
    serde_json::json!({
        "submission_id": submission,
        "kind": "private_viewing",
        "lead": {"email": format!("{submission}@example.com"), "name": "Fran Form", "phone": "+33 1"},
        "property_id": "prop-9",
        "agent_id": "agent-alex",
        "start": local.to_rfc3339(),
        "end": (local + Duration::minutes(30)).to_rfc3339(),
        "timezone": "Europe/Paris"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_links_and_the_operator_endpoint_reach_the_booking() {
    let app = TestApp::spawn().await;
    let shim = app.spawn_shim().await;
    let http = reqwest::Client::new();
    let submission = format!("sub-{}", uuid::Uuid::new_v4().simple());
    let start = (Utc::now() + Duration::days(2))
        .duration_trunc(Duration::minutes(1))
        .unwrap();

    // 400 lists every problem.
    let mut bad = form(&submission, start);
    bad["lead"]["email"] = "nope".into();
    bad["start"] = "2020-01-01T10:00:00+01:00".into();
    bad["end"] = "2019-01-01T10:00:00+01:00".into();
    bad.as_object_mut().unwrap().remove("property_id");
    let response = http
        .post(format!("{}/webhooks/form", shim.url))
        .bearer_auth(SHIM_FORM_TOKEN)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let answer: serde_json::Value = response.json().await.unwrap();
    let fields: Vec<&str> = answer["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in ["lead.email", "start", "end", "property_id"] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }

    // 401 for a wrong token, without detail.
    let response = http
        .post(format!("{}/webhooks/form", shim.url))
        .bearer_auth("wrong")
        .json(&form(&submission, start))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    // A Standard Webhooks signed submission is accepted twice, as one booking.
    let body = serde_json::to_vec(&form(&submission, start)).unwrap();
    let secret = booking_activities::secret::Secret::new(SHIM_FORM_WEBHOOK_SECRET);
    for _ in 0..2 {
        let now = Utc::now().timestamp();
        let response = http
            .post(format!("{}/webhooks/form", shim.url))
            .header("content-type", "application/json")
            .header("x-request-id", "form-req-42")
            .header("webhook-id", "msg_1")
            .header("webhook-timestamp", now.to_string())
            .header(
                "webhook-signature",
                signature::standard_webhook_signature(&secret, "msg_1", now, &body),
            )
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
    }
    let booking = BookingId::parse(&format!("form-{submission}")).unwrap();
    app.snapshot_where(&booking, "the form booking", |s| {
        s.tour
            .as_ref()
            .and_then(|t| t.start.as_ref())
            .and_then(booking_proto::time::from_timestamp)
            == Some(start)
    })
    .await;
    let events = app
        .client
        .get_workflow_handle::<booking_workflows::BookingWorkflow>(booking.workflow_id())
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .into_events()
        .await
        .unwrap();
    let input = events
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) => a.input.clone(),
            _ => None,
        })
        .expect("the start event carries the request");
    let history = String::from_utf8_lossy(&input.payloads[0].data).into_owned();
    assert!(
        history.contains("form-req-42"),
        "the request id reaches the workflow"
    );

    // The questionnaire link records the visit and redirects.
    let expiry = (Utc::now() + Duration::days(7)).timestamp();
    let secret = booking_activities::secret::Secret::new(SHIM_LINK_SECRET);
    let q = links::sign(&secret, &booking, links::Purpose::Questionnaire, expiry);
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let before = app
        .snapshot_where(&booking, "the booking", |_| true)
        .await
        .events_seen;
    let response = no_redirect
        .get(format!("{}/q/{q}", shim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("https://forms.example.com/tour")
    );
    app.snapshot_where(&booking, "the visit recorded", |s| s.events_seen > before)
        .await;
    let tampered = format!("{}x", &q[..q.len() - 1]);
    let response = no_redirect
        .get(format!("{}/q/{tampered}", shim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    // The confirm page says at once whether it worked.
    let confirm = links::sign(&secret, &booking, links::Purpose::Confirm, expiry);
    let page = http
        .get(format!("{}/b/{confirm}/confirm", shim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let confirm_url = format!("{}/b/{confirm}/confirm", shim.url);
    let done = eventually("the confirm page", WAIT, || async {
        let r = http.post(&confirm_url).send().await.ok()?;
        (r.status() == 200).then_some(r)
    })
    .await;
    assert!(done.text().await.unwrap().contains("confirmed"));
    app.snapshot_where(&booking, "the confirmed booking", |s| {
        s.status() == BookingStatus::Confirmed
    })
    .await;
    // A confirm link cannot cancel.
    let response = http
        .post(format!("{}/b/{confirm}/cancel", shim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    // Operator: tour complete needs the operator token.
    let url = format!("{}/bookings/{booking}/tour-complete", shim.url);
    assert_eq!(http.post(&url).send().await.unwrap().status(), 401);
    let response = http
        .post(&url)
        .bearer_auth(SHIM_OPERATOR_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    app.snapshot_where(&booking, "the completed tour", |s| {
        s.status() == BookingStatus::TourComplete
    })
    .await;
    let cancel = links::sign(&secret, &booking, links::Purpose::Cancel, expiry);
    let response = http
        .post(format!("{}/b/{cancel}/cancel", shim.url))
        .send()
        .await
        .unwrap();
    assert!(
        [404, 409].contains(&response.status().as_u16()),
        "a finished booking refuses a cancel: {}",
        response.status()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_temporal_is_503_with_retry_after() {
    let closed = format!("127.0.0.1:{}", free_port());
    let connection = temporalio_client::ConnectionOptions::new(
        url::Url::parse(&format!("http://{closed}")).unwrap(),
    )
    .build();
    let attempt = booking_worker::connect_with(
        connection,
        temporalio_client::ClientOptions::new("default".to_owned()).build(),
    )
    .await;
    assert!(attempt.is_err(), "nothing listens on {closed}");
    let shim = serve_shim(shim_config("nowhere", "http://127.0.0.1:9", &[]), None).await;
    let body = r#"{"event":"invitee.created","payload":{}}"#;
    let response = post_calendly(&shim.url, body, Some(&signed(body)), "application/json").await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let response = reqwest::Client::new()
        .post(format!("{}/webhooks/form", shim.url))
        .bearer_auth(SHIM_FORM_TOKEN)
        .json(&form("sub-x", Utc::now() + Duration::days(1)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    // Authentication still comes first: an unsigned request is 401, not 503.
    let response = post_calendly(&shim.url, body, None, "application/json").await;
    assert_eq!(response.status(), 401);
}
