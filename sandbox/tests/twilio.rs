//! Twilio Programmable Messaging contract: the Message resource on send and fetch, Basic
//! auth, Twilio's error codes, opt-out by STOP and back in by START, signed status callbacks
//! (order, error codes, retries, the twice and reverse-order faults), injected throttling and
//! the signed inbound-message webhook whose answer comes back.

mod common;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use booking_proto::twilio_signature;
use booking_sandbox::{
    Injection, RunningSandbox, TWILIO_SIGNATURE_HEADER, TwilioCallbackFaults, TwilioCallbackState,
    TwilioInbound, TwilioMessage, TwilioMessageStatus, defaults,
};
use common::{eventually, http, json, start_with};
use serde_json::Value;

const LEAD: &str = "+14155550123";
const TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";

/// One form POST the sandbox made to the receiver.
#[derive(Debug, Clone)]
struct Post {
    /// The full URL requested, query included (what the signature covers).
    url: String,
    params: Vec<(String, String)>,
    signature: Option<String>,
    content_type: Option<String>,
}

impl Post {
    fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.params.iter().map(|(k, _)| k.as_str()).collect();
        names.sort_unstable();
        names
    }

    /// Checks `X-Twilio-Signature` as the shim does, with the URL it was sent to.
    fn verifies(&self, url: &str) -> bool {
        self.signature.as_deref().is_some_and(|signature| {
            twilio_signature::verify(defaults::TWILIO_AUTH_TOKEN, url, &self.params, signature)
        })
    }
}

#[derive(Clone)]
struct Inbox {
    base: String,
    posts: Arc<Mutex<Vec<Post>>>,
    /// Statuses to answer with, in order, by the post's `MessageStatus` (`""`: any post);
    /// 200 with empty TwiML once exhausted.
    statuses: Arc<Mutex<HashMap<String, VecDeque<u16>>>>,
}

/// A stand-in for the shim's Twilio endpoints: records every form POST, on any path.
struct Hook {
    inbox: Inbox,
}

impl Hook {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let inbox = Inbox {
            base: format!("http://{}", listener.local_addr().unwrap()),
            posts: Arc::default(),
            statuses: Arc::default(),
        };
        let app = Router::new().fallback(receive).with_state(inbox.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { inbox }
    }

    fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.inbox.base)
    }

    /// The next posts get these statuses, in order.
    fn answer_with(&self, statuses: &[u16]) {
        self.answer_status_with("", statuses);
    }

    /// The next status callbacks reporting `message_status` get these statuses, in order.
    fn answer_status_with(&self, message_status: &str, statuses: &[u16]) {
        self.inbox
            .statuses
            .lock()
            .unwrap()
            .entry(message_status.to_owned())
            .or_default()
            .extend(statuses);
    }

    fn posts(&self) -> Vec<Post> {
        self.inbox.posts.lock().unwrap().clone()
    }

    async fn wait_for(&self, count: usize) -> Vec<Post> {
        eventually(&format!("{count} posts"), || async {
            let got = self.posts();
            (got.len() >= count).then_some(got)
        })
        .await
    }
}

async fn receive(
    State(inbox): State<Inbox>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let post = Post {
        url: format!("{}{uri}", inbox.base),
        params: url::form_urlencoded::parse(&body).into_owned().collect(),
        signature: text(TWILIO_SIGNATURE_HEADER),
        content_type: text(header::CONTENT_TYPE.as_str()),
    };
    let status = {
        let mut statuses = inbox.statuses.lock().unwrap();
        let key = post.get("MessageStatus").unwrap_or_default().to_owned();
        [key, String::new()]
            .iter()
            .find_map(|k| statuses.get_mut(k).and_then(VecDeque::pop_front))
            .unwrap_or(200)
    };
    inbox.posts.lock().unwrap().push(post);
    let status = StatusCode::from_u16(status).unwrap();
    (status, [(header::CONTENT_TYPE, "text/xml")], TWIML).into_response()
}

async fn start() -> RunningSandbox {
    start_with(|c| {
        c.twilio_status_delay = Duration::from_millis(5);
        c.twilio_callback_retry_base = Duration::from_millis(20);
    })
    .await
}

fn messages_url(sandbox: &RunningSandbox) -> String {
    format!(
        "{}/2010-04-01/Accounts/{}/Messages.json",
        sandbox.twilio_url(),
        defaults::TWILIO_ACCOUNT_SID
    )
}

async fn send(sandbox: &RunningSandbox, params: &[(&str, &str)]) -> (u16, Value) {
    json(
        http()
            .post(messages_url(sandbox))
            .basic_auth(
                defaults::TWILIO_ACCOUNT_SID,
                Some(defaults::TWILIO_AUTH_TOKEN),
            )
            .form(params)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn text(sandbox: &RunningSandbox, to: &str, callback: Option<&str>) -> (u16, Value) {
    let mut params = vec![
        ("To", to),
        ("From", defaults::TWILIO_FROM_NUMBER),
        ("Body", "Your tour is at 10:00. Reply C to confirm."),
    ];
    if let Some(url) = callback {
        params.push(("StatusCallback", url));
    }
    send(sandbox, &params).await
}

/// A send's form parameters.
type Form<'a> = Vec<(&'a str, &'a str)>;

fn assert_twilio_error(body: &Value, status: u16, code: u64) {
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(
        body["more_info"],
        format!("https://www.twilio.com/docs/errors/{code}")
    );
    assert!(body["message"].is_string(), "{body}");
}

/// The message once its last status is reached and no callback is pending any more.
async fn settled(sandbox: &RunningSandbox, sid: &str) -> TwilioMessage {
    let client = sandbox.client();
    eventually("the message to settle", || async {
        let message = client.twilio_message(sid).await.ok()?;
        let last = matches!(
            message.status,
            TwilioMessageStatus::Delivered
                | TwilioMessageStatus::Undelivered
                | TwilioMessageStatus::Failed
        );
        let quiet = message
            .callbacks
            .iter()
            .all(|c| c.state != TwilioCallbackState::Pending);
        (last && quiet).then_some(message)
    })
    .await
}

fn statuses(posts: &[Post]) -> Vec<&str> {
    posts
        .iter()
        .map(|p| p.get("MessageStatus").unwrap())
        .collect()
}

#[tokio::test]
async fn a_send_answers_201_with_the_message_resource_and_can_be_fetched() {
    let sandbox = start().await;
    let (status, body) = text(&sandbox, LEAD, None).await;
    assert_eq!(status, 201, "{body}");
    let sid = body["sid"].as_str().unwrap().to_owned();
    assert!(sid.starts_with("SM") && sid.len() == 34, "{sid}");
    assert_eq!(body["account_sid"], defaults::TWILIO_ACCOUNT_SID);
    assert_eq!(body["to"], LEAD);
    assert_eq!(body["from"], defaults::TWILIO_FROM_NUMBER);
    assert_eq!(body["body"], "Your tour is at 10:00. Reply C to confirm.");
    assert_eq!(body["status"], "queued");
    assert_eq!(body["num_segments"], "1");
    assert_eq!(body["direction"], "outbound-api");
    assert_eq!(body["api_version"], "2010-04-01");
    assert_eq!(body["price_unit"], "USD");
    for absent in [
        "date_sent",
        "error_code",
        "error_message",
        "price",
        "messaging_service_sid",
    ] {
        assert!(body[absent].is_null(), "{absent}: {body}");
    }
    let created = body["date_created"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc2822(created).is_ok(),
        "{created}"
    );
    assert!(body["date_updated"].is_string());
    let uri = format!(
        "/2010-04-01/Accounts/{}/Messages/{sid}.json",
        defaults::TWILIO_ACCOUNT_SID
    );
    assert_eq!(body["uri"], uri);
    assert!(
        body["subresource_uris"]["media"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/Messages/{sid}/Media.json"))
    );

    let message = settled(&sandbox, &sid).await;
    assert_eq!(message.status, TwilioMessageStatus::Delivered);
    assert!(
        message.callbacks.is_empty(),
        "no StatusCallback, no callbacks"
    );
    let (status, fetched) = json(
        http()
            .get(format!("{}{uri}", sandbox.twilio_url()))
            .basic_auth(
                defaults::TWILIO_ACCOUNT_SID,
                Some(defaults::TWILIO_AUTH_TOKEN),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(fetched["sid"], sid);
    assert_eq!(fetched["status"], "delivered");
    assert!(fetched["date_sent"].is_string());

    let unknown = uri.replace(&sid, "SM00000000000000000000000000000000");
    let (status, body) = json(
        http()
            .get(format!("{}{unknown}", sandbox.twilio_url()))
            .basic_auth(
                defaults::TWILIO_ACCOUNT_SID,
                Some(defaults::TWILIO_AUTH_TOKEN),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert_twilio_error(&body, 404, 20404);
    assert!(body["message"].as_str().unwrap().contains(&unknown));
}

#[tokio::test]
async fn a_receiver_that_never_answers_does_not_hold_up_the_201() {
    let sandbox = start().await;
    // Connections queue in the backlog and are never accepted: every callback hangs.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback = format!("http://{}/status", silent.local_addr().unwrap());
    let started = Instant::now();
    let (status, body) = text(&sandbox, LEAD, Some(&callback)).await;
    assert_eq!(status, 201);
    assert!(started.elapsed() < Duration::from_secs(2));
    let sid = body["sid"].as_str().unwrap();
    let client = sandbox.client();
    let message = eventually("the queued callback to start", || async {
        let message = client.twilio_message(sid).await.ok()?;
        (!message.callbacks.is_empty()).then_some(message)
    })
    .await;
    assert_eq!(message.callbacks[0].state, TwilioCallbackState::Pending);
    drop(silent);
}

#[tokio::test]
async fn missing_or_wrong_credentials_are_401_code_20003() {
    let sandbox = start().await;
    let form = [
        ("To", LEAD),
        ("From", defaults::TWILIO_FROM_NUMBER),
        ("Body", "hi"),
    ];
    let other_account = messages_url(&sandbox).replace(
        defaults::TWILIO_ACCOUNT_SID,
        "AC00000000000000000000000000000000",
    );
    let requests = [
        http().post(messages_url(&sandbox)).form(&form),
        http()
            .post(messages_url(&sandbox))
            .basic_auth(defaults::TWILIO_ACCOUNT_SID, Some("0".repeat(32)))
            .form(&form),
        http()
            .post(messages_url(&sandbox))
            .bearer_auth(defaults::TWILIO_AUTH_TOKEN)
            .form(&form),
        http()
            .post(&other_account)
            .basic_auth(
                defaults::TWILIO_ACCOUNT_SID,
                Some(defaults::TWILIO_AUTH_TOKEN),
            )
            .form(&form),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
        let (status, body) = json(response).await;
        assert_eq!(status, 401);
        assert_twilio_error(&body, 401, 20003);
        assert_eq!(body["message"], "Authenticate");
    }
    assert!(sandbox.client().twilio_messages().await.unwrap().is_empty());
}

#[tokio::test]
async fn refused_sends_carry_twilios_codes() {
    let sandbox = start().await;
    let from = defaults::TWILIO_FROM_NUMBER;
    let long = "a".repeat(1601);
    let cases: Vec<(Form, u64, &str)> = vec![
        (
            vec![("To", "4155550123"), ("From", from), ("Body", "x")],
            21211,
            "The 'To' number 4155550123 is not a valid phone number.",
        ),
        (
            vec![("To", "+15005550001"), ("From", from), ("Body", "x")],
            21211,
            "The 'To' number +15005550001 is not a valid phone number.",
        ),
        (
            vec![("To", "+15005550004"), ("From", from), ("Body", "x")],
            21610,
            "Attempt to send to unsubscribed recipient",
        ),
        (
            vec![("To", "+15005550009"), ("From", from), ("Body", "x")],
            21614,
            "'To' number is not a valid mobile number",
        ),
        (
            vec![("To", LEAD), ("From", from)],
            21602,
            "Message body is required.",
        ),
        (
            vec![("To", LEAD), ("From", from), ("Body", "")],
            21602,
            "Message body is required.",
        ),
        (
            vec![("To", LEAD), ("From", from), ("Body", &long)],
            21617,
            "",
        ),
        (
            vec![("From", from), ("Body", "x")],
            21604,
            "A 'To' phone number is required.",
        ),
        (vec![("To", LEAD), ("Body", "x")], 21603, ""),
        (
            vec![("To", LEAD), ("From", "+14155550999"), ("Body", "x")],
            21606,
            "",
        ),
        (
            vec![
                ("To", LEAD),
                ("From", from),
                ("Body", "x"),
                ("StatusCallback", "status"),
            ],
            21609,
            "",
        ),
    ];
    for (form, code, message) in cases {
        let (status, body) = send(&sandbox, &form).await;
        assert_eq!(status, 400, "{form:?}: {body}");
        assert_twilio_error(&body, 400, code);
        if !message.is_empty() {
            assert_eq!(body["message"], message);
        }
    }
    // A JSON body is not read at all: `To` is what is missing.
    let (status, body) = json(
        http()
            .post(messages_url(&sandbox))
            .basic_auth(
                defaults::TWILIO_ACCOUNT_SID,
                Some(defaults::TWILIO_AUTH_TOKEN),
            )
            .json(&serde_json::json!({"To": LEAD, "From": from, "Body": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert_twilio_error(&body, 400, 21604);
    assert!(sandbox.client().twilio_messages().await.unwrap().is_empty());
}

#[tokio::test]
async fn stop_opts_the_lead_out_and_start_opts_back_in() {
    let sandbox = start().await;
    let hook = Hook::start().await;
    let client = sandbox.client();
    client
        .set_twilio_inbound_webhook(&hook.url("/webhooks/twilio/inbound"))
        .await
        .unwrap();

    let reply = client.twilio_inbound(LEAD, " stop ").await.unwrap();
    assert_eq!(reply.keyword.as_deref(), Some("STOP"));
    assert!(reply.sender_opted_out);
    let opt_outs = client.twilio_opt_outs().await.unwrap();
    assert_eq!(opt_outs.len(), 1);
    assert_eq!(
        (opt_outs[0].number.as_str(), opt_outs[0].keyword.as_str()),
        (LEAD, "STOP")
    );
    // The webhook still gets the reply, as Twilio forwards it.
    assert_eq!(hook.wait_for(1).await[0].get("Body"), Some(" stop "));

    let (status, body) = text(&sandbox, LEAD, None).await;
    assert_eq!(status, 400);
    assert_twilio_error(&body, 400, 21610);
    assert_eq!(
        text(&sandbox, "+14155550124", None).await.0,
        201,
        "others still get texts"
    );

    let reply = client.twilio_inbound(LEAD, "Start").await.unwrap();
    assert!(!reply.sender_opted_out);
    assert!(client.twilio_opt_outs().await.unwrap().is_empty());
    assert_eq!(text(&sandbox, LEAD, None).await.0, 201);

    // Every opt-out keyword counts; other words do not.
    for word in ["STOPALL", "unsubscribe", "Cancel", "END", "quit"] {
        assert!(
            client
                .twilio_inbound(LEAD, word)
                .await
                .unwrap()
                .sender_opted_out,
            "{word}"
        );
        client.twilio_inbound(LEAD, "UNSTOP").await.unwrap();
    }
    let reply = client
        .twilio_inbound(LEAD, "please stop calling")
        .await
        .unwrap();
    assert_eq!((reply.keyword, reply.sender_opted_out), (None, false));
}

#[tokio::test]
async fn status_callbacks_go_queued_sent_delivered_signed_over_the_full_url() {
    let sandbox = start().await;
    let hook = Hook::start().await;
    let callback = hook.url("/webhooks/twilio/status?booking_id=bk-1&step=tour-reminder-1h");
    let (status, body) = text(&sandbox, LEAD, Some(&callback)).await;
    assert_eq!(status, 201);
    let sid = body["sid"].as_str().unwrap();

    let posts = hook.wait_for(3).await;
    assert_eq!(statuses(&posts), vec!["queued", "sent", "delivered"]);
    for post in &posts {
        assert_eq!(post.url, callback);
        assert!(post.verifies(&callback), "{post:?}");
        assert!(
            !post.verifies(&hook.url("/webhooks/twilio/status")),
            "query is signed"
        );
        assert_eq!(
            post.content_type.as_deref(),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(
            post.names(),
            vec![
                "AccountSid",
                "ApiVersion",
                "From",
                "MessageSid",
                "MessageStatus",
                "SmsSid",
                "SmsStatus",
                "To"
            ]
        );
        assert_eq!(post.get("MessageSid"), Some(sid));
        assert_eq!(post.get("SmsSid"), Some(sid));
        assert_eq!(post.get("AccountSid"), Some(defaults::TWILIO_ACCOUNT_SID));
        assert_eq!(post.get("From"), Some(defaults::TWILIO_FROM_NUMBER));
        assert_eq!(post.get("To"), Some(LEAD));
        assert_eq!(post.get("ApiVersion"), Some("2010-04-01"));
        assert_eq!(post.get("SmsStatus"), post.get("MessageStatus"));
    }

    let message = settled(&sandbox, sid).await;
    assert_eq!(message.status_callback.as_deref(), Some(callback.as_str()));
    assert_eq!(message.callbacks.len(), 3);
    for callback in &message.callbacks {
        assert_eq!(callback.state, TwilioCallbackState::Delivered);
        assert_eq!(callback.attempts.len(), 1);
        assert_eq!(callback.attempts[0].status, Some(200));
        assert_eq!(callback.attempts[0].body.as_deref(), Some(TWIML));
    }
}

#[tokio::test]
async fn magic_numbers_end_undelivered_30003_or_failed_30006() {
    let sandbox = start().await;
    let hook = Hook::start().await;
    let callback = hook.url("/status");
    let (_, body) = text(&sandbox, "+15005550010", Some(&callback)).await;
    let undelivered = body["sid"].as_str().unwrap().to_owned();
    let message = settled(&sandbox, &undelivered).await;
    assert_eq!(message.status, TwilioMessageStatus::Undelivered);
    assert_eq!(message.error_code, Some(30003));

    let (_, body) = text(&sandbox, "+15005550011", Some(&callback)).await;
    let failed = body["sid"].as_str().unwrap().to_owned();
    let message = settled(&sandbox, &failed).await;
    assert_eq!(message.status, TwilioMessageStatus::Failed);

    let posts = hook.wait_for(5).await;
    let of = |sid: &str| -> Vec<Post> {
        posts
            .iter()
            .filter(|p| p.get("MessageSid") == Some(sid))
            .cloned()
            .collect()
    };
    let first = of(&undelivered);
    assert_eq!(statuses(&first), vec!["queued", "sent", "undelivered"]);
    assert_eq!(first[1].get("ErrorCode"), None);
    assert_eq!(first[2].get("ErrorCode"), Some("30003"));
    assert!(first[2].verifies(&callback));
    let second = of(&failed);
    assert_eq!(statuses(&second), vec!["queued", "failed"]);
    assert_eq!(second[1].get("ErrorCode"), Some("30006"));
    assert!(second[1].verifies(&callback));
}

#[tokio::test]
async fn callback_faults_send_twice_and_in_reverse_order() {
    let sandbox = start().await;
    let hook = Hook::start().await;
    let client = sandbox.client();
    let cases = [
        (
            true,
            false,
            vec!["queued", "queued", "sent", "sent", "delivered", "delivered"],
        ),
        (false, true, vec!["delivered", "sent", "queued"]),
        (
            true,
            true,
            vec!["delivered", "delivered", "sent", "sent", "queued", "queued"],
        ),
    ];
    for (twice, reverse_order, expected) in cases {
        let faults = TwilioCallbackFaults {
            twice,
            reverse_order,
        };
        client.twilio_callback_faults(&faults).await.unwrap();
        assert_eq!(
            client.twilio_callback_fault_settings().await.unwrap(),
            faults
        );
        let callback = hook.url(&format!("/status?case={twice}-{reverse_order}"));
        let (_, body) = text(&sandbox, LEAD, Some(&callback)).await;
        let sid = body["sid"].as_str().unwrap();
        let message = settled(&sandbox, sid).await;
        assert_eq!(message.callback_faults, faults);
        let posts: Vec<Post> = hook
            .posts()
            .into_iter()
            .filter(|p| p.get("MessageSid") == Some(sid))
            .collect();
        assert_eq!(statuses(&posts), expected, "{faults:?}");
        assert!(posts.iter().all(|p| p.verifies(&callback)));
        let copies: Vec<u32> = message.callbacks.iter().map(|c| c.copy).collect();
        assert_eq!(
            copies.iter().filter(|c| **c == 1).count(),
            if twice { 3 } else { 0 }
        );
    }
    // Clearing the faults (or DELETE /faults) brings plain delivery back.
    client.clear_faults().await.unwrap();
    assert_eq!(
        client.twilio_callback_fault_settings().await.unwrap(),
        TwilioCallbackFaults::default()
    );
}

#[tokio::test]
async fn failed_callbacks_are_retried_and_every_attempt_recorded() {
    let sandbox = start_with(|c| {
        c.twilio_status_delay = Duration::ZERO;
        c.twilio_callback_retry_base = Duration::from_millis(10);
        c.twilio_callback_attempts = 3;
    })
    .await;
    let hook = Hook::start().await;
    hook.answer_status_with("queued", &[500, 503]);
    let (_, body) = text(&sandbox, LEAD, Some(&hook.url("/status"))).await;
    let message = settled(&sandbox, body["sid"].as_str().unwrap()).await;
    let queued = &message.callbacks[0];
    assert_eq!(queued.message_status, TwilioMessageStatus::Queued);
    let answers: Vec<Option<u16>> = queued.attempts.iter().map(|a| a.status).collect();
    assert_eq!(answers, vec![Some(500), Some(503), Some(200)]);
    assert_eq!(queued.state, TwilioCallbackState::Delivered);
    for later in &message.callbacks[1..] {
        assert_eq!(later.attempts.len(), 1, "{later:?}");
    }
    assert!(
        queued
            .attempts
            .iter()
            .all(|a| a.body.as_deref() == Some(TWIML))
    );

    // Nobody listening: every attempt fails, then the callback is given up.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/status", listener.local_addr().unwrap())
    };
    let (_, body) = text(&sandbox, LEAD, Some(&closed)).await;
    let message = settled(&sandbox, body["sid"].as_str().unwrap()).await;
    for callback in &message.callbacks {
        assert_eq!(callback.state, TwilioCallbackState::Failed);
        assert_eq!(callback.attempts.len(), 3);
        assert!(
            callback
                .attempts
                .iter()
                .all(|a| a.status.is_none() && a.error.is_some())
        );
    }
}

#[tokio::test]
async fn injected_throttling_and_server_errors_have_twilios_shape() {
    let sandbox = start().await;
    let client = sandbox.client();
    client
        .inject(&Injection::twilio_throttled(1))
        .await
        .unwrap();
    let response = http()
        .post(messages_url(&sandbox))
        .basic_auth(
            defaults::TWILIO_ACCOUNT_SID,
            Some(defaults::TWILIO_AUTH_TOKEN),
        )
        .form(&[
            ("To", LEAD),
            ("From", defaults::TWILIO_FROM_NUMBER),
            ("Body", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("retry-after").is_none());
    let (status, body) = json(response).await;
    assert_eq!(status, 429);
    assert_twilio_error(&body, 429, 20429);
    assert_eq!(body["message"], "Too Many Requests");

    client
        .inject(&Injection::twilio_error(503, 2))
        .await
        .unwrap();
    for _ in 0..2 {
        let (status, body) = text(&sandbox, LEAD, None).await;
        assert_eq!(status, 503);
        assert_twilio_error(&body, 503, 20503);
    }
    client
        .inject(&Injection::twilio_error(500, 1))
        .await
        .unwrap();
    let (status, body) = text(&sandbox, LEAD, None).await;
    assert_eq!(status, 500);
    assert_twilio_error(&body, 500, 20500);

    assert_eq!(text(&sandbox, LEAD, None).await.0, 201);
    assert_eq!(client.twilio_messages().await.unwrap().len(), 1);
}

#[tokio::test]
async fn inbound_replies_are_signed_and_the_webhook_answer_comes_back() {
    let sandbox = start().await;
    let hook = Hook::start().await;
    let client = sandbox.client();
    let reply = client.twilio_inbound(LEAD, "C").await.unwrap();
    assert_eq!(
        (reply.url.as_deref(), reply.answers.len()),
        (None, 0),
        "no webhook yet"
    );

    let webhook = hook.url("/webhooks/twilio/inbound?source=sandbox");
    client.set_twilio_inbound_webhook(&webhook).await.unwrap();
    assert_eq!(
        client.twilio_inbound_webhook().await.unwrap(),
        Some(webhook.clone())
    );
    let mut inbound = TwilioInbound::new(LEAD, "C");
    inbound.message_sid = Some("SM0123456789abcdef0123456789abcdef".into());
    inbound.twice = true;
    let reply = client.twilio_inbound_with(&inbound).await.unwrap();
    assert_eq!(reply.message_sid, "SM0123456789abcdef0123456789abcdef");
    assert_eq!(reply.answers.len(), 2);
    for answer in &reply.answers {
        assert_eq!(answer.status, Some(200));
        assert_eq!(answer.body.as_deref(), Some(TWIML));
        assert_eq!(answer.content_type.as_deref(), Some("text/xml"));
    }

    let posts = hook.wait_for(2).await;
    for post in &posts {
        assert!(post.verifies(&webhook), "{post:?}");
        assert_eq!(
            post.names(),
            vec![
                "AccountSid",
                "ApiVersion",
                "Body",
                "From",
                "MessageSid",
                "NumMedia",
                "NumSegments",
                "SmsMessageSid",
                "SmsSid",
                "SmsStatus",
                "To"
            ]
        );
        for sid_param in ["MessageSid", "SmsSid", "SmsMessageSid"] {
            assert_eq!(post.get(sid_param), Some(reply.message_sid.as_str()));
        }
        assert_eq!(post.get("From"), Some(LEAD));
        assert_eq!(post.get("To"), Some(defaults::TWILIO_FROM_NUMBER));
        assert_eq!(post.get("Body"), Some("C"));
        assert_eq!(post.get("NumMedia"), Some("0"));
        assert_eq!(post.get("NumSegments"), Some("1"));
        assert_eq!(post.get("SmsStatus"), Some("received"));
        assert_eq!(post.get("AccountSid"), Some(defaults::TWILIO_ACCOUNT_SID));
    }

    // The webhook's failure is what comes back; a fresh sid is made when none is given.
    hook.answer_with(&[500]);
    let reply = client.twilio_inbound(LEAD, "X").await.unwrap();
    assert_eq!(reply.answers[0].status, Some(500));
    assert!(reply.message_sid.starts_with("SM") && reply.message_sid.len() == 34);
    assert_eq!(client.twilio_inbound_messages().await.unwrap().len(), 3);

    // A reset forgets replies but keeps the webhook, like the Calendly subscription.
    client.reset().await.unwrap();
    assert!(client.twilio_inbound_messages().await.unwrap().is_empty());
    assert_eq!(
        client.twilio_inbound_webhook().await.unwrap(),
        Some(webhook)
    );
}

#[tokio::test]
async fn a_messaging_service_send_is_accepted_then_sent_from_the_number() {
    let sandbox = start().await;
    let hook = Hook::start().await;
    let service = "MG0123456789abcdef0123456789abcdef";
    let callback = hook.url("/status");
    let (status, body) = send(
        &sandbox,
        &[
            ("To", LEAD),
            ("MessagingServiceSid", service),
            ("Body", "hi"),
            ("StatusCallback", &callback),
        ],
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "accepted");
    assert!(body["from"].is_null());
    assert_eq!(body["messaging_service_sid"], service);
    let posts = hook.wait_for(3).await;
    assert_eq!(posts[0].get("From"), Some(defaults::TWILIO_FROM_NUMBER));
    assert_eq!(posts[0].get("MessagingServiceSid"), Some(service));
    assert!(posts.iter().all(|p| p.verifies(&callback)));
    let state = sandbox.client().state().await.unwrap();
    assert_eq!(
        state["twilio"]["messages"][0]["messaging_service_sid"],
        service
    );
}

#[tokio::test]
async fn chaos_mode_answers_twilio_shaped_errors_without_retry_after() {
    let sandbox = start().await;
    let client = sandbox.client();
    let chaos = |server_error_rate, rate_limit_rate| booking_sandbox::ChaosConfig {
        server_error_rate,
        rate_limit_rate,
        path_prefix: Some("/twilio/".into()),
        seed: Some(7),
        ..booking_sandbox::ChaosConfig::default()
    };
    client.set_chaos(&chaos(0.0, 1.0)).await.unwrap();
    let response = http()
        .post(messages_url(&sandbox))
        .basic_auth(
            defaults::TWILIO_ACCOUNT_SID,
            Some(defaults::TWILIO_AUTH_TOKEN),
        )
        .form(&[
            ("To", LEAD),
            ("From", defaults::TWILIO_FROM_NUMBER),
            ("Body", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("retry-after").is_none());
    let (status, body) = json(response).await;
    assert_eq!(status, 429);
    assert_twilio_error(&body, 429, 20429);

    client.set_chaos(&chaos(1.0, 0.0)).await.unwrap();
    let (status, body) = text(&sandbox, LEAD, None).await;
    assert!(status == 500 || status == 503, "{status}");
    assert_twilio_error(&body, status, if status == 500 { 20500 } else { 20503 });
    client.clear_chaos().await.unwrap();
    assert_eq!(text(&sandbox, LEAD, None).await.0, 201);
}

#[tokio::test]
async fn messages_and_opt_outs_survive_a_restart_and_go_with_a_reset() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sandbox.json");
    let first = start_with(|c| {
        c.snapshot_path = Some(path.clone());
        c.twilio_status_delay = Duration::ZERO;
    })
    .await;
    let (_, body) = text(&first, LEAD, None).await;
    let sid = body["sid"].as_str().unwrap().to_owned();
    settled(&first, &sid).await;
    first
        .client()
        .twilio_inbound("+14155550124", "STOP")
        .await
        .unwrap();
    first.shutdown().await;

    let second = start_with(|c| c.snapshot_path = Some(path.clone())).await;
    let client = second.client();
    let message = client.twilio_message(&sid).await.unwrap();
    assert_eq!(message.status, TwilioMessageStatus::Delivered);
    assert_eq!(
        client.twilio_opt_outs().await.unwrap()[0].number,
        "+14155550124"
    );
    assert_eq!(text(&second, "+14155550124", None).await.1["code"], 21610);

    client.reset().await.unwrap();
    assert!(client.twilio_messages().await.unwrap().is_empty());
    assert!(client.twilio_opt_outs().await.unwrap().is_empty());
    assert_eq!(text(&second, "+14155550124", None).await.0, 201);
}
