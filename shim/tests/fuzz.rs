//! Property tests over raw bytes: the signature header parser, the Calendly payload parser and
//! the form parser never panic, and the HTTP layer never answers 5xx for any input (503 is
//! allowed only where a hand-off would be needed and this router has no Temporal).

use axum::{body::Body, http::Request};
use booking_shim::{ShimState, calendly, form, router, signature};
use proptest::prelude::*;
use tower::ServiceExt;

const KEY: &str = "sandbox-calendly-signing-key";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn status_of(request: Request<Body>) -> u16 {
    runtime().block_on(async {
        router(ShimState::default())
            .oneshot(request)
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

fn header_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "t=[0-9]{0,12},v1=[0-9a-f]{0,70}",
        "(t=|v1=|,|[0-9a-f]{1,8}|=| ){0,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_signature_parser_never_panics(header in header_like(), body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let keys = [booking_activities::secret::Secret::new(KEY)];
        let _ = signature::CalendlySignature::parse(&header);
        let _ = signature::verify_calendly(Some(&header), &body, &keys, std::time::Duration::from_secs(180), 1_800_000_000);
    }

    #[test]
    fn the_payload_parsers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = calendly::parse(&body);
        let _ = form::parse(&body, chrono::Utc::now(), "r");
    }

    #[test]
    fn unsigned_or_badly_signed_calendly_requests_are_4xx(
        header in header_like(),
        body in proptest::collection::vec(any::<u8>(), 0..512),
        content_type in prop_oneof![Just("application/json".to_owned()), any::<String>()],
    ) {
        let mut request = Request::post("/webhooks/calendly");
        if let Ok(v) = axum::http::HeaderValue::from_str(&header) {
            request = request.header("calendly-webhook-signature", v);
        }
        if let Ok(v) = axum::http::HeaderValue::from_str(&content_type) {
            request = request.header("content-type", v);
        }
        let status = status_of(request.body(Body::from(body)).unwrap());
        prop_assert!((400..500).contains(&status), "status {status}");
    }

    #[test]
    fn signed_garbage_is_never_a_server_error(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let now = chrono::Utc::now().timestamp();
        let header = format!("t={now},v1={}", signature::calendly_v1(KEY, now, &body));
        let request = Request::post("/webhooks/calendly")
            .header("calendly-webhook-signature", header)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        let status = status_of(request);
        // Accepted as a dead letter needs Temporal, which this router lacks: 503, never 500.
        prop_assert!(status < 500 || status == 503, "status {status}");
    }

    #[test]
    fn any_path_or_form_input_is_never_a_server_error(
        path in "/(q|b|bookings|webhooks)/[A-Za-z0-9._~%-]{0,40}(/confirm|/cancel|/tour-complete|/form)?",
        body in proptest::collection::vec(any::<u8>(), 0..256),
        auth in any::<String>(),
    ) {
        for method in ["GET", "POST"] {
            let mut request = Request::builder().method(method).uri(&path).header("content-type", "application/json");
            if let Ok(v) = axum::http::HeaderValue::from_str(&auth) {
                request = request.header("authorization", v);
            }
            if let Ok(request) = request.body(Body::from(body.clone())) {
                let status = status_of(request);
                prop_assert!(status < 500, "{method} {path}: {status}");
            }
        }
    }
}

/// Twilio's webhooks, signed with the sandbox's auth token (the default state's) for
/// `http://shim.test` (sandbox mode: the `Host` header is the base).
mod twilio {
    use super::*;

    pub const PATHS: [&str; 2] = [
        "/webhooks/twilio/status?booking_id=bk-1&step=s",
        "/webhooks/twilio/inbound",
    ];

    pub fn request(path: &str, body: &[u8], signature: Option<&str>) -> Request<Body> {
        let mut request = Request::post(path)
            .header("host", "shim.test")
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(v) = signature.and_then(|s| axum::http::HeaderValue::from_str(s).ok()) {
            request = request.header("x-twilio-signature", v);
        }
        request.body(Body::from(body.to_vec())).unwrap()
    }

    pub fn sign(path: &str, body: &[u8]) -> String {
        let params: Vec<(String, String)> = url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        booking_proto::twilio_signature::sign(
            booking_sandbox::defaults::TWILIO_AUTH_TOKEN,
            &format!("http://shim.test{path}"),
            &params,
        )
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn unsigned_or_badly_signed_twilio_requests_are_401(
        signature in proptest::option::of(any::<String>()),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        for path in twilio::PATHS {
            let status = status_of(twilio::request(path, &body, signature.as_deref()));
            prop_assert_eq!(status, 401, "{}", path);
        }
    }

    #[test]
    fn signed_twilio_garbage_is_never_a_server_error(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        for path in twilio::PATHS {
            let signature = twilio::sign(path, &body);
            let status = status_of(twilio::request(path, &body, Some(&signature)));
            // Authenticated; the hand-off (or the dead letter of a bad form) needs Temporal,
            // which this router lacks: 503, never another 5xx, never a 401.
            prop_assert_eq!(status, 503, "{}", path);
        }
    }
}

#[test]
fn a_body_over_the_limit_is_413_and_a_non_json_type_415() {
    let big = vec![b' '; 256 * 1024 + 1];
    let request = Request::post("/webhooks/calendly")
        .header("content-type", "application/json")
        .body(Body::from(big))
        .unwrap();
    assert_eq!(status_of(request), 413);
    let request = Request::post("/webhooks/calendly")
        .header("content-type", "text/plain")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(status_of(request), 415);
}

#[test]
fn responses_carry_the_request_id() {
    runtime().block_on(async {
        let response = router(ShimState::default())
            .oneshot(
                Request::get("/healthz")
                    .header("x-request-id", "req-abc")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.headers()["x-request-id"], "req-abc");
        let response = router(ShimState::default())
            .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.headers()["x-request-id"].len(), 36);
    });
}
