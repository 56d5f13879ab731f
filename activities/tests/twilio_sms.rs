//! `send_sms` against Twilio's wire contract: the form it posts, Basic auth, the status
//! callback, how each answer is classified, and the sent-marker guard (on the sandbox's
//! HubSpot).
//!
//! Every contract case runs twice (see [`contract!`]): against the sandbox's Twilio stand-in
//! (`/twilio`, `booking_sandbox::twilio`), and against a small axum stub in this file that
//! answers with Twilio's own shapes (the 201 Message resource; `{"code", "message",
//! "more_info", "status"}` errors; the test credentials' magic `To` numbers) and also shows
//! what the stand-in does not: the raw `Authorization` header, the content type, a
//! `Retry-After`, and an error body echoing the credentials it was sent.

mod common;

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use booking_activities::{
    BookingActivities,
    config::ProvidersConfig,
    email::EmailMessage,
    sms::{REFUSED_NUMBER_CODES, SmsMessage, SmsReceipt},
};
use booking_sandbox::{Injection, RunningSandbox, SandboxClient, SandboxConfig, defaults};
use common::{break_marker_search, count, failure};
use serde_json::{Value, json};
use temporalio_sdk::testing::{ActivityEnvironment, ActivityEnvironmentError};

/// A closed local port: the stand-in's status callbacks fail fast instead of resolving a name.
const CALLBACK: &str = "http://127.0.0.1:9/webhooks/twilio/status";
const LEAD: &str = "+14155550132";
const STEP: &str = "tour-reminder-1h@2030-05-06T15:00:00Z";

/// Twilio's test-credentials magic numbers, the error each gets, and the stub's message.
const MAGIC: [(&str, u32, &str); 3] = [
    (
        "+15005550001",
        21211,
        "The 'To' number +15005550001 is not a valid phone number.",
    ),
    (
        "+15005550004",
        21610,
        "Attempt to send to unsubscribed recipient",
    ),
    (
        "+15005550009",
        21614,
        "'To' number is not a valid mobile number",
    ),
];

/// Who plays Twilio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Stub,
    Sandbox,
}

/// A message Twilio accepted, as either backend records it.
#[derive(Debug, Clone)]
struct Sent {
    sid: String,
    to: String,
    from: Option<String>,
    messaging_service_sid: Option<String>,
    body: String,
    status_callback: Option<String>,
}

/// One request the stub received.
#[derive(Debug, Clone)]
struct Received {
    /// `(user, password)` of its Basic auth.
    basic: Option<(String, String)>,
    content_type: String,
    form: Vec<(String, String)>,
}

impl Received {
    fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An answer to give instead of the normal one.
struct Canned {
    status: u16,
    body: Value,
    retry_after: Option<u64>,
}

#[derive(Default)]
struct StubState {
    received: Vec<Received>,
    accepted: Vec<Sent>,
    next: VecDeque<Canned>,
}

#[derive(Clone, Default)]
struct Stub(Arc<Mutex<StubState>>);

fn error_body(status: u16, code: u32, message: &str) -> Value {
    json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    })
}

fn answer(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    (status, Json(body)).into_response()
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = data_encoding::BASE64.decode(encoded.as_bytes()).ok()?;
    let (user, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Twilio's checks of a send, in Twilio's order: the error answer, if any.
fn refuse(account: &str, received: &Received) -> Option<(u16, u32, String)> {
    let authenticated = received.basic.as_ref().is_some_and(|(user, password)| {
        user == account
            && account == defaults::TWILIO_ACCOUNT_SID
            && password == defaults::TWILIO_AUTH_TOKEN
    });
    if !authenticated {
        // Real Twilio does not echo the password; the stub does, so the tests can see that an
        // echoed secret never reaches a log or a failure.
        let password = received.basic.as_ref().map_or("", |(_, p)| p.as_str());
        return Some((401, 20003, format!("Authenticate (token {password})")));
    }
    let to = received.field("To").unwrap_or_default();
    let from = received.field("From");
    let service = received.field("MessagingServiceSid");
    if from.is_none() && service.is_none() {
        let message = "A 'From' or 'MessagingServiceSid' parameter is required";
        return Some((400, 21603, message.into()));
    }
    if received.field("Body").is_none_or(str::is_empty) {
        return Some((400, 21602, "Message body is required.".into()));
    }
    if from.is_some_and(|from| from != defaults::TWILIO_FROM_NUMBER) {
        let message = "The From phone number is not a valid, SMS-capable inbound phone number";
        return Some((400, 21606, message.into()));
    }
    MAGIC
        .iter()
        .find(|(number, ..)| *number == to)
        .map(|(_, code, message)| (400, *code, (*message).to_owned()))
}

/// `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, as Twilio answers it.
async fn create_message(
    State(stub): State<Stub>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let received = Received {
        basic: basic(&headers),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        form: url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect(),
    };
    let mut state = stub.0.lock().unwrap();
    state.received.push(received.clone());
    if let Some(canned) = state.next.pop_front() {
        let mut response = answer(canned.status, canned.body);
        if let Some(secs) = canned.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        return response;
    }
    if let Some((status, code, message)) = refuse(&account, &received) {
        return answer(status, error_body(status, code, &message));
    }
    let field = |name| received.field(name).map(str::to_owned);
    let sent = Sent {
        sid: format!("SM{:032x}", state.accepted.len() + 1),
        to: field("To").unwrap_or_default(),
        from: field("From"),
        messaging_service_sid: field("MessagingServiceSid"),
        body: field("Body").unwrap_or_default(),
        status_callback: field("StatusCallback"),
    };
    state.accepted.push(sent.clone());
    let sid = &sent.sid;
    answer(
        201,
        json!({
            "account_sid": account,
            "api_version": "2010-04-01",
            "body": sent.body,
            "date_created": "Mon, 06 May 2030 14:00:00 +0000",
            "date_sent": null,
            "date_updated": "Mon, 06 May 2030 14:00:00 +0000",
            "direction": "outbound-api",
            "error_code": null,
            "error_message": null,
            "from": sent.from,
            "messaging_service_sid": sent.messaging_service_sid,
            "num_media": "0",
            "num_segments": "1",
            "price": null,
            "price_unit": "USD",
            "sid": sid,
            "status": if sent.from.is_some() { "queued" } else { "accepted" },
            "subresource_uris": {
                "media": format!("/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"),
            },
            "to": sent.to,
            "uri": format!("/2010-04-01/Accounts/{account}/Messages/{sid}.json"),
        }),
    )
}

/// Serves the stub on a free port; its base URL.
async fn serve_stub(stub: &Stub) -> String {
    let app = Router::new()
        .route(
            "/2010-04-01/Accounts/{account}/Messages.json",
            post(create_message),
        )
        .with_state(stub.clone());
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

struct TestEnv {
    backend: Backend,
    _sandbox: RunningSandbox,
    control: SandboxClient,
    stub: Stub,
    env: ActivityEnvironment,
}

impl TestEnv {
    async fn send(&self, message: SmsMessage) -> Result<SmsReceipt, ActivityEnvironmentError> {
        self.env.run(BookingActivities::send_sms, message).await
    }

    /// Every message Twilio accepted, oldest first.
    async fn accepted(&self) -> Vec<Sent> {
        if self.backend == Backend::Stub {
            return self.stub.0.lock().unwrap().accepted.clone();
        }
        let messages = self.control.twilio_messages().await.unwrap();
        messages
            .into_iter()
            .map(|m| Sent {
                sid: m.sid,
                to: m.to,
                from: m.from,
                messaging_service_sid: m.messaging_service_sid,
                body: m.body,
                status_callback: m.status_callback,
            })
            .collect()
    }

    /// The next send is answered `status` with Twilio's error body of `code`.
    async fn fail_next(&self, status: u16, code: u32, message: &str, retry_after: Option<u64>) {
        if self.backend == Backend::Stub {
            let canned = Canned {
                status,
                body: error_body(status, code, message),
                retry_after,
            };
            self.stub.0.lock().unwrap().next.push_back(canned);
            return;
        }
        let prefix = "/twilio/2010-04-01/Accounts/";
        let mut injection =
            Injection::twilio_api_error("POST", prefix, status, code, message).times(1);
        if let Some(seconds) = retry_after {
            injection = injection.retry_after(seconds);
        }
        self.control.inject(&injection).await.unwrap();
    }
}

/// The sandbox (HubSpot for the markers, and Twilio unless `backend` is the stub), with
/// `vars` set too.
async fn spawn_with(backend: Backend, vars: &[(&str, &str)]) -> TestEnv {
    let sandbox = booking_sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox starts");
    let stub = Stub::default();
    let stub_url = serve_stub(&stub).await;
    let mut all = vec![("BOOKINGS_TWILIO_STATUS_CALLBACK_URL", CALLBACK)];
    if backend == Backend::Stub {
        all.push(("BOOKINGS_TWILIO_URL", stub_url.as_str()));
    }
    all.extend_from_slice(vars);
    let config = ProvidersConfig::for_sandbox_with(&sandbox.base_url(), &all).expect("config");
    let activities = BookingActivities::new(config).expect("activities");
    let env = ActivityEnvironment::builder_with_default()
        .register_activities(activities)
        .build();
    TestEnv {
        backend,
        control: sandbox.client(),
        _sandbox: sandbox,
        stub,
        env,
    }
}

fn text(to: &str) -> SmsMessage {
    SmsMessage {
        booking_id: "bk-s1".into(),
        step: STEP.into(),
        to: to.into(),
        body: "Your tour at 12 Oak St starts in 1 hour. Reply C to confirm, X to cancel.".into(),
        send_before: None,
    }
}

/// The sent-marker notes of texts, as `(dedup key, body)`.
async fn sms_markers(control: &SandboxClient) -> Vec<(String, String)> {
    control
        .notes()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|note| {
            let key = note.property("booking_dedup_key")?;
            key.contains(":sms:").then(|| {
                let body = note.property("hs_note_body").unwrap_or_default();
                (key.to_owned(), body.to_owned())
            })
        })
        .collect()
}

/// Each named case as a test against the stub (`stub::name`) and one against the sandbox's
/// stand-in (`sandbox::name`).
macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod stub {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::Backend::Stub).await
            })*
        }
        mod sandbox {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::Backend::Sandbox).await
            })*
        }
    };
}

contract!(
    a_text_goes_to_the_lead_from_the_account_s_number_with_its_status_callback,
    a_retried_step_is_not_texted_twice,
    an_email_and_a_text_of_the_same_step_each_go_out_once,
    a_number_twilio_refuses_is_a_receipt_saying_so_not_a_failure,
    a_rate_limit_is_retryable,
    outages_are_retryable_and_bad_requests_are_not,
    a_sender_that_is_not_the_account_s_is_a_fatal_rejection,
    a_wrong_auth_token_is_fatal_and_never_shown,
    a_messaging_service_is_named_instead_of_a_number,
    a_text_whose_moment_has_passed_is_not_sent,
    an_unreadable_marker_store_fails_retryably_without_texting,
    without_markers_every_attempt_texts,
);

async fn a_text_goes_to_the_lead_from_the_account_s_number_with_its_status_callback(
    backend: Backend,
) {
    let t = spawn_with(backend, &[]).await;
    let receipt = t.send(text(LEAD)).await.unwrap();
    assert_eq!(receipt.step, STEP);
    assert!(receipt.message_sid.starts_with("SM"), "{receipt:?}");
    assert_eq!((receipt.skipped, receipt.refused), (None, None));
    let [sent] = t.accepted().await.try_into().unwrap();
    assert_eq!(sent.sid, receipt.message_sid);
    assert_eq!(sent.to, LEAD);
    assert_eq!(sent.from.as_deref(), Some(defaults::TWILIO_FROM_NUMBER));
    assert_eq!(sent.messaging_service_sid, None);
    assert_eq!(sent.body, text(LEAD).body);
    let callback = url::Url::parse(&sent.status_callback.unwrap()).unwrap();
    assert_eq!(
        callback.as_str().split('?').next(),
        Some(CALLBACK),
        "{callback}"
    );
    let query: Vec<(String, String)> = callback.query_pairs().into_owned().collect();
    assert_eq!(
        query,
        [
            ("booking_id".to_owned(), "bk-s1".to_owned()),
            ("step".to_owned(), STEP.to_owned()),
        ]
    );
}

async fn a_retried_step_is_not_texted_twice(backend: Backend) {
    let t = spawn_with(backend, &[]).await;
    let first = t.send(text(LEAD)).await.unwrap();
    let retry = t.send(text(LEAD)).await.unwrap();
    assert_eq!(retry, first, "the retry returns the recorded receipt");
    assert_eq!(t.accepted().await.len(), 1);
    let markers = sms_markers(&t.control).await;
    assert_eq!(markers.len(), 1);
    assert_eq!(markers[0].0, format!("bk-s1:sms:{STEP}"));
    assert!(markers[0].1.contains(&first.message_sid), "{markers:?}");
    // Another step is another text.
    let mut other = text(LEAD);
    other.step = "pending-reminder-4h@2030-05-06T11:00:00Z".into();
    let other = t.send(other).await.unwrap();
    assert_ne!(other.message_sid, first.message_sid);
    assert_eq!(t.accepted().await.len(), 2);
}

async fn an_email_and_a_text_of_the_same_step_each_go_out_once(backend: Backend) {
    let t = spawn_with(backend, &[]).await;
    let email = EmailMessage {
        booking_id: "bk-s1".into(),
        step: STEP.into(),
        to_email: "lead@example.com".into(),
        to_name: "Lead".into(),
        template_id: "d-reminder".into(),
        template_data: json!({}),
        send_before: None,
    };
    for _ in 0..2 {
        t.env
            .run(BookingActivities::send_email, email.clone())
            .await
            .unwrap();
        t.send(text(LEAD)).await.unwrap();
    }
    assert_eq!(t.control.emails().await.unwrap().len(), 1);
    assert_eq!(t.accepted().await.len(), 1);
    let keys: Vec<String> = t
        .control
        .notes()
        .await
        .unwrap()
        .iter()
        .filter_map(|n| n.property("booking_dedup_key").map(str::to_owned))
        .collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys.contains(&format!("bk-s1:email:{STEP}")), "{keys:?}");
    assert!(keys.contains(&format!("bk-s1:sms:{STEP}")), "{keys:?}");
}

async fn a_number_twilio_refuses_is_a_receipt_saying_so_not_a_failure(backend: Backend) {
    let t = spawn_with(backend, &[]).await;
    for (number, code, message) in MAGIC {
        let receipt = t
            .send(text(number))
            .await
            .unwrap_or_else(|e| panic!("{number}: {e:?}"));
        let refusal = receipt.refused.expect(number);
        assert_eq!(refusal.code, code, "{number}");
        assert!(REFUSED_NUMBER_CODES.contains(&code));
        // Twilio's own message, not its JSON body.
        assert!(
            !refusal.message.is_empty() && !refusal.message.starts_with('{'),
            "{refusal:?}"
        );
        if backend == Backend::Stub {
            assert_eq!(refusal.message, message);
        }
        assert_eq!(receipt.message_sid, "");
        assert_eq!(receipt.skipped, None);
    }
    assert!(t.accepted().await.is_empty());
    assert!(
        sms_markers(&t.control).await.is_empty(),
        "nothing was sent, so nothing is marked"
    );
}

async fn a_rate_limit_is_retryable(backend: Backend) {
    let t = spawn_with(backend, &[]).await;
    t.fail_next(429, 20429, "Too Many Requests", Some(4)).await;
    let failure = failure(t.send(text(LEAD)).await.unwrap_err());
    assert_eq!(failure.type_name(), Some("ProviderRateLimited"));
    assert!(!failure.is_non_retryable());
    assert_eq!(
        failure.next_retry_delay(),
        Some(std::time::Duration::from_secs(4)),
        "Twilio's Retry-After, when it sends one"
    );
    // Twilio's usual 429 has none: Temporal's backoff decides.
    t.fail_next(429, 20429, "Too Many Requests", None).await;
    let again = common::failure(t.send(text(LEAD)).await.unwrap_err());
    assert_eq!(again.type_name(), Some("ProviderRateLimited"));
    assert_eq!(again.next_retry_delay(), None);
    // The retry goes through, once.
    t.send(text(LEAD)).await.unwrap();
    assert_eq!(t.accepted().await.len(), 1);
    assert_eq!(sms_markers(&t.control).await.len(), 1);
}

async fn outages_are_retryable_and_bad_requests_are_not(backend: Backend) {
    let t = spawn_with(backend, &[]).await;
    let cases = [
        (
            500,
            20500,
            "Internal Server Error",
            "ProviderUnavailable",
            true,
        ),
        (
            503,
            20503,
            "Service Unavailable",
            "ProviderUnavailable",
            true,
        ),
        (
            400,
            21617,
            "The concatenated message body exceeds the 1600 character limit",
            "ProviderRejected",
            false,
        ),
        (
            404,
            20404,
            "The requested resource was not found",
            "ProviderRejected",
            false,
        ),
    ];
    for (status, code, message, type_name, retryable) in cases {
        t.fail_next(status, code, message, None).await;
        let failure = failure(t.send(text(LEAD)).await.unwrap_err());
        assert_eq!(failure.type_name(), Some(type_name), "{status} {code}");
        assert_eq!(failure.is_non_retryable(), !retryable, "{status} {code}");
        let shown = failure.source_error().to_string();
        assert!(shown.contains(message), "{shown}");
    }
    assert!(t.accepted().await.is_empty());
    assert!(sms_markers(&t.control).await.is_empty());
}

async fn a_sender_that_is_not_the_account_s_is_a_fatal_rejection(backend: Backend) {
    let t = spawn_with(backend, &[("BOOKINGS_TWILIO_FROM", "+14155550100")]).await;
    let failure = failure(t.send(text(LEAD)).await.unwrap_err());
    assert_eq!(failure.type_name(), Some("ProviderRejected"));
    assert!(failure.is_non_retryable());
    let shown = failure.source_error().to_string();
    assert!(shown.contains("21606"), "{shown}");
}

async fn a_wrong_auth_token_is_fatal_and_never_shown(backend: Backend) {
    const WRONG: &str = "0000wrong0token0000";
    let t = spawn_with(backend, &[("BOOKINGS_TWILIO_AUTH_TOKEN", WRONG)]).await;
    let failure = failure(t.send(text(LEAD)).await.unwrap_err());
    assert_eq!(failure.type_name(), Some("ProviderAuthRejected"));
    assert!(failure.is_non_retryable());
    let shown = failure.source_error().to_string();
    assert!(shown.contains("20003"), "{shown}");
    assert!(!shown.contains(WRONG), "{shown}");
    if backend == Backend::Stub {
        // The stub echoed it.
        assert!(shown.contains("[REDACTED]"), "{shown}");
        let received = t.stub.0.lock().unwrap().received.clone();
        assert_eq!(
            received[0].basic,
            Some((defaults::TWILIO_ACCOUNT_SID.to_owned(), WRONG.to_owned()))
        );
        assert_eq!(
            received[0].content_type,
            "application/x-www-form-urlencoded"
        );
    }
}

async fn a_messaging_service_is_named_instead_of_a_number(backend: Backend) {
    const SERVICE: &str = "MG00112233445566778899aabbccddeeff";
    let t = spawn_with(
        backend,
        &[("BOOKINGS_TWILIO_MESSAGING_SERVICE_SID", SERVICE)],
    )
    .await;
    let receipt = t.send(text(LEAD)).await.unwrap();
    let [sent] = t.accepted().await.try_into().unwrap();
    assert_eq!(sent.sid, receipt.message_sid);
    assert_eq!(sent.messaging_service_sid.as_deref(), Some(SERVICE));
    // The stand-in picks the service's number once it sends; the request named none.
    if backend == Backend::Stub {
        assert_eq!(sent.from, None);
    }
}

async fn a_text_whose_moment_has_passed_is_not_sent(backend: Backend) {
    let t = spawn_with(backend, &[]).await;
    let mut late = text(LEAD);
    late.send_before = Some(chrono::Utc::now() - chrono::Duration::minutes(1));
    let receipt = t.send(late).await.unwrap();
    assert!(
        receipt.skipped.as_deref().unwrap().contains("had passed"),
        "{receipt:?}"
    );
    assert_eq!(receipt.message_sid, "");
    assert!(t.accepted().await.is_empty());
    assert_eq!(count(&t.control, None, "/hubspot").await, 0);
    assert_eq!(count(&t.control, None, "/twilio").await, 0);
}

async fn an_unreadable_marker_store_fails_retryably_without_texting(backend: Backend) {
    let t = spawn_with(backend, &[]).await;
    break_marker_search(&t.control).await;
    let failure = failure(t.send(text(LEAD)).await.unwrap_err());
    assert!(!failure.is_non_retryable());
    assert!(t.accepted().await.is_empty());
}

async fn without_markers_every_attempt_texts(backend: Backend) {
    let t = spawn_with(backend, &[("BOOKINGS_EMAIL_SENT_MARKERS", "off")]).await;
    for _ in 0..2 {
        t.send(text(LEAD)).await.unwrap();
    }
    assert_eq!(t.accepted().await.len(), 2);
    assert_eq!(count(&t.control, None, "/hubspot").await, 0);
}
