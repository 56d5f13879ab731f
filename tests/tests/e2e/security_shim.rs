//! The shim under attack: every way a request can lie about who sent it, how old it is, or how
//! big and how slow its body is, and operator endpoints with missing or wrong credentials.
//!
//! These shims run without Temporal (`serve_shim(.., None)`): authentication comes before the
//! hand-off, so a request that passes it is answered 503 ("not connected"), and one that fails
//! it 401. 503 therefore proves "authenticated", with no dev server needed.
//! `shim_answers.rs` already covers the basic 401s (missing, stale, wrong key, `t=1,v1=zz`),
//! 413 and 415 on a real engine; this file adds what it does not.

use std::time::{Duration, Instant};

use booking_activities::secret::Secret;
use booking_shim::signature;
use booking_tests::{
    SHIM_FORM_TOKEN, SHIM_FORM_WEBHOOK_SECRET, SHIM_OPERATOR_TOKEN, eventually, serve_shim,
    shim_config,
};
use chrono::Utc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "sandbox-calendly-signing-key";
const BODY: &str = r#"{"event":"invitee.created","created_at":"2030-01-01T00:00:00Z","payload":{"uri":"http://127.0.0.1/scheduled_events/E/invitees/I","email":"lead@example.com"}}"#;

fn header_for(key: &str, t: i64, body: &str) -> String {
    format!(
        "t={t},v1={}",
        signature::calendly_v1(key, t, body.as_bytes())
    )
}

async fn post_calendly(url: &str, body: &str, signature: Option<&str>) -> u16 {
    let mut request = reqwest::Client::new()
        .post(format!("{url}/webhooks/calendly"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(sig) = signature {
        request = request.header("calendly-webhook-signature", sig);
    }
    request
        .send()
        .await
        .expect("the shim answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn calendly_signatures_refuse_tampering_foreign_keys_and_malformed_headers() {
    let shim = serve_shim(shim_config("q", "http://127.0.0.1:9", &[]), None).await;
    let now = Utc::now().timestamp();
    let valid = header_for(KEY, now, BODY);
    assert_eq!(
        post_calendly(&shim.url, BODY, Some(&valid)).await,
        503,
        "a correct signature passes authentication (then Temporal is missing)"
    );

    // The body changed after signing: one byte, or a field added.
    let tampered = BODY.replace("lead@example.com", "lead@example.org");
    assert_eq!(post_calendly(&shim.url, &tampered, Some(&valid)).await, 401);
    let padded = format!("{BODY} ");
    assert_eq!(post_calendly(&shim.url, &padded, Some(&valid)).await, 401);
    // The timestamp changed after signing (to look fresh).
    let v1 = valid.split_once(",v1=").unwrap().1;
    let moved = format!("t={},v1={v1}", now + 1);
    assert_eq!(post_calendly(&shim.url, BODY, Some(&moved)).await, 401);
    // Another key, an empty key, the signature of the body alone (no "t."), and a signature
    // from the future beyond the tolerance.
    let hmac_body_only = {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
        mac.update(BODY.as_bytes());
        format!("t={now},v1={}", hex::encode(mac.finalize().into_bytes()))
    };
    for forged in [
        header_for("another-key", now, BODY),
        header_for("", now, BODY),
        hmac_body_only,
        header_for(KEY, now + 3600, BODY),
    ] {
        assert_eq!(
            post_calendly(&shim.url, BODY, Some(&forged)).await,
            401,
            "{forged}"
        );
    }
    // Malformed headers, each refused with 401 and never a 5xx.
    let hex64 = "ab".repeat(32);
    for malformed in [
        String::new(),
        " ".into(),
        "t=".into(),
        "v1=".into(),
        format!("v1={hex64}"),
        format!("t={now}"),
        format!("t=abc,v1={hex64}"),
        format!("t=-{now},v1={hex64}"),
        format!("t={now},v1=zz"),
        format!("t={now},v1=abcd"),
        format!("t={now},t={now},{}", valid.split_once(',').unwrap().1),
        format!("t={now};v1={hex64}"),
        format!("t=99999999999999999999,v1={hex64}"),
        "x".repeat(8 * 1024),
    ] {
        assert_eq!(
            post_calendly(&shim.url, BODY, Some(&malformed)).await,
            401,
            "{malformed:.80}"
        );
    }
    assert_eq!(post_calendly(&shim.url, BODY, None).await, 401);
}

#[tokio::test]
async fn a_replayed_delivery_is_refused_once_older_than_the_tolerance() {
    let shim = serve_shim(
        shim_config(
            "q",
            "http://127.0.0.1:9",
            &[("SHIM_SIGNATURE_TOLERANCE_SECS", "1")],
        ),
        None,
    )
    .await;
    // A delivery captured on the wire: the exact bytes and signature header.
    let captured = header_for(KEY, Utc::now().timestamp(), BODY);
    assert_eq!(post_calendly(&shim.url, BODY, Some(&captured)).await, 503);
    // Replayed verbatim later: refused once it is older than the tolerance (within it, a
    // replay is only a redelivery, which the booking's event ids make harmless).
    let began = Instant::now();
    eventually(
        "the replay to be refused",
        Duration::from_secs(10),
        || async { (post_calendly(&shim.url, BODY, Some(&captured)).await == 401).then_some(()) },
    )
    .await;
    assert!(began.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn form_signatures_and_tokens_are_checked() {
    let shim = serve_shim(shim_config("q", "http://127.0.0.1:9", &[]), None).await;
    let http = reqwest::Client::new();
    let body = br#"{"submission_id":"s-1"}"#.to_vec();
    let secret = Secret::new(SHIM_FORM_WEBHOOK_SECRET);
    let send = |id: &'static str, ts: i64, sig: String, body: Vec<u8>| {
        let http = http.clone();
        let url = format!("{}/webhooks/form", shim.url);
        async move {
            http.post(url)
                .header("content-type", "application/json")
                .header("webhook-id", id)
                .header("webhook-timestamp", ts.to_string())
                .header("webhook-signature", sig)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let now = Utc::now().timestamp();
    let good = signature::standard_webhook_signature(&secret, "msg_1", now, &body);
    assert_ne!(send("msg_1", now, good.clone(), body.clone()).await, 401);
    // Another message id, a tampered body, a stale timestamp, a foreign secret.
    assert_eq!(send("msg_2", now, good.clone(), body.clone()).await, 401);
    assert_eq!(
        send(
            "msg_1",
            now,
            good.clone(),
            br#"{"submission_id":"s-2"}"#.to_vec()
        )
        .await,
        401
    );
    let stale = now - 3600;
    let stale_sig = signature::standard_webhook_signature(&secret, "msg_1", stale, &body);
    assert_eq!(send("msg_1", stale, stale_sig, body.clone()).await, 401);
    let foreign = signature::standard_webhook_signature(
        &Secret::new("whsec_b3RoZXItc2VjcmV0"),
        "msg_1",
        now,
        &body,
    );
    assert_eq!(send("msg_1", now, foreign, body.clone()).await, 401);
    assert_eq!(send("msg_1", now, "v1,%%%".into(), body.clone()).await, 401);
    // Bearer: wrong, almost right, and the right token in the wrong scheme.
    for auth in [
        "Bearer wrong".to_owned(),
        format!("Bearer {SHIM_FORM_TOKEN}x"),
        format!("Bearer {}", &SHIM_FORM_TOKEN[..SHIM_FORM_TOKEN.len() - 1]),
        format!("Basic {SHIM_FORM_TOKEN}"),
        SHIM_FORM_TOKEN.to_owned(),
        format!("Bearer {SHIM_OPERATOR_TOKEN}"),
    ] {
        let status = http
            .post(format!("{}/webhooks/form", shim.url))
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 401, "{auth}");
    }
}

#[tokio::test]
async fn operator_endpoints_refuse_missing_wrong_and_foreign_credentials() {
    let shim = serve_shim(shim_config("q", "http://127.0.0.1:9", &[]), None).await;
    let http = reqwest::Client::new();
    let url = format!("{}/bookings/bk-1/tour-complete", shim.url);
    let status = |auth: Option<String>| {
        let mut request = http.post(&url);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(None).await, 401);
    for auth in [
        "Bearer ".to_owned(),
        "Bearer wrong".into(),
        format!("Bearer {SHIM_OPERATOR_TOKEN}-"),
        format!("Bearer {}", SHIM_OPERATOR_TOKEN.to_uppercase()),
        format!("bearer{SHIM_OPERATOR_TOKEN}"),
        format!("Basic {SHIM_OPERATOR_TOKEN}"),
        format!("Bearer {SHIM_FORM_TOKEN}"),
    ] {
        assert_eq!(status(Some(auth.clone())).await, 401, "{auth}");
    }
    assert_eq!(
        status(Some(format!("Bearer {SHIM_OPERATOR_TOKEN}"))).await,
        503,
        "the right token passes (then Temporal is missing)"
    );

    // No operator token configured: the endpoint is closed to everyone.
    let closed = serve_shim(
        shim_config(
            "q",
            "http://127.0.0.1:9",
            &[("SHIM_OPERATOR_TOKEN", ""), ("SHIM_FORM_TOKEN", "")],
        ),
        None,
    )
    .await;
    for auth in ["Bearer ", "Bearer anything"] {
        let answer = http
            .post(format!("{}/bookings/bk-1/tour-complete", closed.url))
            .header("authorization", auth)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(answer, 401, "{auth}");
    }
}

/// Sends `head` on a raw connection and returns the connection (for bodies sent by hand).
async fn raw(url: &str, head: String) -> tokio::net::TcpStream {
    let addr = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// Reads until the server closes the connection or `limit` passes.
async fn read_answer(stream: &mut tokio::net::TcpStream, limit: Duration) -> (String, bool) {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&answer).into(), true),
            Ok(Ok(n)) => answer.extend_from_slice(&buffer[..n]),
            Err(_) => return (String::from_utf8_lossy(&answer).into(), false),
        }
    }
}

#[tokio::test]
async fn a_slow_drip_body_is_cut_off_with_408_and_the_connection_closed() {
    let shim = serve_shim(
        shim_config(
            "q",
            "http://127.0.0.1:9",
            &[("SHIM_BODY_READ_TIMEOUT_MS", "400")],
        ),
        None,
    )
    .await;
    let began = Instant::now();
    let stream = raw(
        &shim.url,
        "POST /webhooks/calendly HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: 4000\r\n\r\n{"
            .into(),
    )
    .await;
    let (mut reader, mut writer) = stream.into_split();
    // The attacker: one byte every 50 ms, for at most 10 s (4000 bytes would take 200 s).
    let drip = tokio::spawn(async move {
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if writer.write_all(b" ").await.is_err() {
                return;
            }
        }
    });
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    let mut closed = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    while let Ok(read) = tokio::time::timeout_at(deadline, reader.read(&mut buffer)).await {
        match read {
            Ok(0) | Err(_) => {
                closed = true;
                break;
            }
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
    }
    drip.abort();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(closed, "the shim closes the connection");
    assert!(
        began.elapsed() < Duration::from_secs(4),
        "cut off near the 400 ms timeout, not after {:?}",
        began.elapsed()
    );

    // A body that arrives in time is served as before.
    let now = Utc::now().timestamp();
    assert_eq!(
        post_calendly(&shim.url, BODY, Some(&header_for(KEY, now, BODY))).await,
        503
    );
}

#[tokio::test]
async fn oversized_bodies_are_413_whether_declared_or_streamed() {
    let shim = serve_shim(
        shim_config(
            "q",
            "http://127.0.0.1:9",
            &[("SHIM_BODY_LIMIT_BYTES", "1024")],
        ),
        None,
    )
    .await;
    // Declared too long: answered at once, without reading (or waiting for) the body.
    let mut declared = raw(
        &shim.url,
        "POST /webhooks/form HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: 100000000\r\n\r\n"
            .into(),
    )
    .await;
    let (answer, _) = read_answer(&mut declared, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");

    // Chunked, with no length to check up front: cut off once over the limit.
    let mut chunked = raw(
        &shim.url,
        "POST /webhooks/calendly HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         transfer-encoding: chunked\r\n\r\n"
            .into(),
    )
    .await;
    let chunk = "x".repeat(512);
    for _ in 0..4 {
        let _ = chunked
            .write_all(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes())
            .await;
    }
    let _ = chunked.write_all(b"0\r\n\r\n").await;
    let (answer, _) = read_answer(&mut chunked, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
}
