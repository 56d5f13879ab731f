//! The Twilio routes through the real router, without Temporal: a delivery that passes the
//! signature check reaches the hand-off, which answers 503 with `Retry-After` here; one that
//! does not is a 401 that never gets that far.

use axum::{
    body::{Body, to_bytes},
    http::{Request, StatusCode},
    response::IntoResponse,
};
use booking_proto::twilio_signature;
use tower::ServiceExt;

use super::*;
use crate::{config::ShimConfig, router, twilio::SIGNATURE_HEADER};

const TOKEN: &str = "router-test-twilio-auth-token";
const PUBLIC: &str = "https://hooks.example.com";
const STATUS: &str = "/webhooks/twilio/status?booking_id=bk-1&step=tour-reminder-1h";
const STATUS_FORM: &str = "MessageSid=SM0001&MessageStatus=delivered&AccountSid=AC1&To=%2B14155550132&From=%2B15005550006";
const INBOUND_FORM: &str = "MessageSid=SM0002&From=%2B14155550132&To=%2B15005550006&Body=STOP";

fn state(public_url: Option<&'static str>) -> ShimState {
    let config = ShimConfig::for_sandbox(move |name| match name {
        "SHIM_TWILIO_AUTH_TOKEN" => Some(TOKEN.to_owned()),
        "SHIM_PUBLIC_URL" => public_url.map(str::to_owned),
        "SHIM_RETRY_AFTER_SECS" => Some("3".to_owned()),
        _ => None,
    })
    .unwrap();
    ShimState::new(config)
}

/// Twilio's signature, with `token`, of a POST of `form` to `url`.
fn sign_with(token: &str, url: &str, form: &str) -> String {
    twilio_signature::sign(token, url, &TwilioForm::parse(form.as_bytes()).0)
}

fn sign(url: &str, form: &str) -> String {
    sign_with(TOKEN, url, form)
}

fn post(path: &str, form: &str, signature: Option<&str>) -> Request<Body> {
    let mut request = Request::post(path)
        .header(header::HOST, "10.0.0.7:8090")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(signature) = signature {
        request = request.header(SIGNATURE_HEADER, signature);
    }
    request.body(Body::from(form.to_owned())).unwrap()
}

async fn answer(app: &axum::Router, request: Request<Body>) -> (StatusCode, String, Response) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let (parts, body) = response.into_parts();
    let text = String::from_utf8(to_bytes(body, 1 << 20).await.unwrap().to_vec()).unwrap();
    let rebuilt = Response::from_parts(parts, Body::empty());
    (status, text, rebuilt)
}

async fn metrics(app: &axum::Router) -> String {
    let request = Request::get("/metrics").body(Body::empty()).unwrap();
    answer(app, request).await.1
}

#[tokio::test]
async fn a_valid_signature_reaches_the_handoff_and_anything_else_is_401() {
    let app = router(state(Some(PUBLIC)));
    for (path, form) in [
        (STATUS, STATUS_FORM),
        ("/webhooks/twilio/inbound", INBOUND_FORM),
    ] {
        let url = format!("{PUBLIC}{path}");
        // Valid: authenticated, then refused for want of Temporal (Twilio retries).
        let (status, _, response) = answer(&app, post(path, form, Some(&sign(&url, form)))).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(response.headers()["retry-after"], "3", "{path}");

        let forged = sign_with("some-other-token", &url, form);
        let tampered = form.replace("SM000", "SM999");
        let refused: [(&str, Option<String>, &str); 6] = [
            ("forged", Some(forged), form),
            ("missing", None, form),
            ("blank", Some(" ".into()), form),
            ("not base64", Some("not a signature".into()), form),
            // Signed for another form: Body or status changed in flight.
            ("tampered form", Some(sign(&url, form)), &tampered),
            // Signed for the Host the shim sees, not the public URL Twilio called.
            (
                "wrong URL",
                Some(sign(&format!("http://10.0.0.7:8090{path}"), form)),
                form,
            ),
        ];
        for (case, signature, body) in refused {
            let (status, body, response) =
                answer(&app, post(path, body, signature.as_deref())).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {case}");
            assert_eq!(body, r#"{"error":"unauthorized"}"#, "{path}: {case}");
            assert!(!response.headers().contains_key("retry-after"));
        }
    }
    let text = metrics(&app).await;
    for line in [
        r#"shim_deliveries_total{outcome="unauthorized",route="/webhooks/twilio/status"} 6"#,
        r#"shim_deliveries_total{outcome="unavailable",route="/webhooks/twilio/status"} 1"#,
        r#"shim_deliveries_total{outcome="unauthorized",route="/webhooks/twilio/inbound"} 6"#,
        r#"shim_requests_total{route="/webhooks/twilio/inbound",status="401"} 6"#,
        r#"shim_requests_total{route="/webhooks/twilio/status",status="503"} 1"#,
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
}

#[tokio::test]
async fn the_signed_url_includes_the_query_as_sent() {
    let app = router(state(Some(PUBLIC)));
    let other = "/webhooks/twilio/status?booking_id=bk-2&step=tour-reminder-1h";
    let signed_for_other = sign(&format!("{PUBLIC}{other}"), STATUS_FORM);
    let (status, ..) = answer(&app, post(STATUS, STATUS_FORM, Some(&signed_for_other))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The same query, re-encoded, is not what Twilio signed either.
    let reencoded = "/webhooks/twilio/status?step=tour-reminder-1h&booking_id=bk-1";
    let signed = sign(&format!("{PUBLIC}{STATUS}"), STATUS_FORM);
    let (status, ..) = answer(&app, post(reencoded, STATUS_FORM, Some(&signed))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn in_sandbox_mode_without_a_public_url_the_host_header_is_the_base() {
    let app = router(state(None));
    let path = "/webhooks/twilio/inbound";
    let by_host = sign(&format!("http://10.0.0.7:8090{path}"), INBOUND_FORM);
    let (status, ..) = answer(&app, post(path, INBOUND_FORM, Some(&by_host))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let by_public = sign(&format!("{PUBLIC}{path}"), INBOUND_FORM);
    let (status, ..) = answer(&app, post(path, INBOUND_FORM, Some(&by_public))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_signed_delivery_with_bad_fields_waits_for_its_dead_letter() {
    // Kept as a dead letter before the 400: without Temporal to keep it, Twilio is asked to
    // retry rather than told the delivery was looked at.
    let app = router(state(Some(PUBLIC)));
    let path = "/webhooks/twilio/status?booking_id=bad%20id";
    let form = "MessageStatus=sent";
    let signature = sign(&format!("{PUBLIC}{path}"), form);
    let (status, ..) = answer(&app, post(path, form, Some(&signature))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn field_errors_are_answered_400_naming_each() {
    let errors = StatusReport::parse(
        Some("booking_id=bad%20id&step=s"),
        &TwilioForm::parse(b"MessageStatus=sent"),
    )
    .unwrap_err();
    let response = ApiError::Invalid(errors).into_response();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = to_bytes(response.into_body(), 1 << 16).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["booking_id", "MessageSid"]);
}

#[tokio::test]
async fn a_reply_is_answered_with_empty_twiml_as_text_xml() {
    let response = twiml();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/xml");
    let body = to_bytes(response.into_body(), 1 << 16).await.unwrap();
    assert_eq!(
        &body[..],
        br#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#
    );
    let booking = BookingId::parse("bk-1").unwrap();
    let report = reported(&booking, Outcome::BookingNotFound);
    assert_eq!(report.status(), StatusCode::OK);
    let body = to_bytes(report.into_body(), 1 << 16).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["outcome"], "booking_not_found");
    assert_eq!(body["status"], "ignored");
}

#[test]
fn both_routes_are_in_the_api_contract() {
    let document = serde_json::to_value(crate::openapi::document()).unwrap();
    for route in [STATUS_ROUTE, INBOUND_ROUTE] {
        let post = &document["paths"][route]["post"];
        assert!(post.is_object(), "{route}");
        assert!(post["responses"]["401"].is_object(), "{route}");
        assert!(post["responses"]["503"].is_object(), "{route}");
    }
}
