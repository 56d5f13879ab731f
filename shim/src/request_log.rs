//! The request's span: its id, method and route, in every log line the request produces.
//!
//! The route is the matched route *template* (`/q/{token}`), never the raw path: paths carry
//! signed link tokens (`/q/{token}`, `/b/{token}/confirm`), which are bearer credentials for
//! as long as they are valid, and logs are read by more people and kept longer than links are.
//! The span opens before routing, so the route is recorded into it once the router has matched
//! ([`record_route`]); a request no route matched (or refused before routing) logs `unmatched`.

use axum::{
    extract::{MatchedPath, Request},
    http::HeaderValue,
    middleware::Next,
    response::Response,
};
use tracing::Instrument;

/// The request id of the request being served.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// What a request logs as its route when no route matched it.
pub const UNMATCHED: &str = "unmatched";

/// Marks a response whose request a route matched (its template is in the span already).
#[derive(Debug, Clone, Copy)]
struct Routed;

/// Keeps a sane `X-Request-Id` (1..=128 visible ASCII characters, trimmed) and drops any
/// other, so that tower-http's `SetRequestIdLayer` (which keeps whatever it finds) makes a
/// fresh one in its place. Runs before it.
pub async fn accept_request_id(mut request: Request) -> Request {
    let sane = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .and_then(|v| HeaderValue::from_str(v).ok());
    match sane {
        Some(id) => request.headers_mut().insert(REQUEST_ID_HEADER, id),
        None => request.headers_mut().remove(REQUEST_ID_HEADER),
    };
    request
}

/// The request id tower-http's `SetRequestIdLayer` settled on (never empty behind it).
fn request_id(request: &Request) -> String {
    request
        .extensions()
        .get::<tower_http::request_id::RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Opens the request's span with its id (settled by the request id layers outside it, which
/// also echo it in the response), and makes the id available to handlers as [`RequestId`].
pub async fn request_span(mut request: Request, next: Next) -> Response {
    let id = request_id(&request);
    request.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        route = tracing::field::Empty,
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    if response.extensions_mut().remove::<Routed>().is_none() {
        span.record("route", tracing::field::display(UNMATCHED));
    }
    span.in_scope(|| tracing::info!(status = response.status().as_u16(), "answered"));
    response
}

/// Records the matched route template into the request's span, before the handler logs
/// anything. A route layer: it runs only for requests a route matched.
pub async fn record_route(request: Request, next: Next) -> Response {
    if let Some(route) = request.extensions().get::<MatchedPath>() {
        tracing::Span::current().record("route", tracing::field::display(route.as_str()));
    }
    let mut response = next.run(request).await;
    response.extensions_mut().insert(Routed);
    response
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::{body::Body, http::StatusCode};
    use booking_proto::domain::BookingId;
    use tower::ServiceExt;

    use crate::{ShimState, config::ShimConfig, links, router};

    const LINK_SECRET: &str = "request-log-test-secret";

    /// Everything the shim logs while `f` runs, as the production formatter writes it.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    fn state() -> ShimState {
        ShimState::new(
            ShimConfig::for_sandbox(|name| {
                (name == "SHIM_LINK_SECRET").then(|| LINK_SECRET.to_owned())
            })
            .unwrap(),
        )
    }

    std::thread_local! {
        /// Where this test thread's log lines go while it captures.
        static CAPTURE: std::cell::RefCell<Option<Captured>> = const { std::cell::RefCell::new(None) };
    }

    /// Writes a line into the capture of the thread that logs it, if it is capturing.
    struct ThreadCapture;

    impl std::io::Write for ThreadCapture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            CAPTURE.with(|c| {
                if let Some(captured) = c.borrow_mut().as_mut() {
                    let _ = captured.write(buf);
                }
            });
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// One global subscriber for the whole test binary. A scoped one (`set_default`) is not
    /// enough: tracing caches per call site whether any subscriber wants it, and a call site
    /// first reached by a test on another thread, with no subscriber there, can stay silent
    /// for the thread that captures.
    fn install_global_capture() {
        static INSTALLED: std::sync::Once = std::sync::Once::new();
        INSTALLED.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(|| ThreadCapture)
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other test installs a global subscriber");
        });
    }

    /// Serves `requests` through the real router (on this thread, the test's current-thread
    /// runtime) and returns every line logged meanwhile, as the production formatter writes
    /// it, and the statuses.
    async fn logged(requests: Vec<(&str, String)>) -> (String, Vec<StatusCode>) {
        let requests = requests
            .into_iter()
            .map(|(method, uri)| {
                axum::http::Request::builder()
                    .method(method)
                    .uri(uri)
                    .body(Body::empty())
                    .unwrap()
            })
            .collect();
        logged_requests(requests).await
    }

    async fn logged_requests(
        requests: Vec<axum::http::Request<Body>>,
    ) -> (String, Vec<StatusCode>) {
        install_global_capture();
        let captured = Captured::default();
        CAPTURE.with(|c| *c.borrow_mut() = Some(captured.clone()));
        let app = router(state());
        let mut statuses = Vec::new();
        for request in requests {
            statuses.push(app.clone().oneshot(request).await.unwrap().status());
        }
        CAPTURE.with(|c| *c.borrow_mut() = None);
        (captured.text(), statuses)
    }

    fn token(purpose: links::Purpose) -> String {
        let booking = BookingId::parse("bk-request-log-test").unwrap();
        let expiry = chrono::Utc::now().timestamp() + 3600;
        links::sign(
            &booking_activities::secret::Secret::new(LINK_SECRET.to_owned()),
            &booking,
            purpose,
            expiry,
        )
    }

    #[tokio::test]
    async fn link_tokens_never_reach_the_log_but_route_templates_do() {
        let valid = token(links::Purpose::Questionnaire);
        let confirm = token(links::Purpose::Confirm);
        let forged = format!("{valid}x");
        let (log, statuses) = logged(vec![
            // Valid: verified, then refused for want of Temporal (503, logged as a warning).
            ("GET", format!("/q/{valid}")),
            // Forged: refused as a bad link (404, the refusal logged).
            ("GET", format!("/q/{forged}")),
            ("GET", format!("/b/{confirm}/confirm")),
            ("POST", format!("/b/{confirm}/cancel")),
        ])
        .await;
        // The valid questionnaire link is answered however its hand-off fares; the others
        // are refused or shown without Temporal.
        assert_eq!(
            statuses[1..],
            [StatusCode::NOT_FOUND, StatusCode::OK, StatusCode::NOT_FOUND]
        );
        for secret in [&valid, &forged, &confirm] {
            // The signature half alone is the credential: no piece of it may be logged.
            let signature = secret.rsplit('.').next().unwrap();
            assert!(!log.contains(signature), "a link token was logged:\n{log}");
            let claims = secret.split('.').next().unwrap();
            assert!(!log.contains(claims), "a link token was logged:\n{log}");
        }
        assert!(log.contains("route=/q/{token}"), "{log}");
        assert!(log.contains("route=/b/{token}/confirm"), "{log}");
        assert!(log.contains("route=/b/{token}/cancel"), "{log}");
        assert!(log.contains("link refused"), "{log}");
    }

    #[tokio::test]
    async fn twilio_routes_log_their_template_and_no_phone_number() {
        let path = "/webhooks/twilio/inbound";
        let requests = [
            "MessageSid=SM1&From=%2B14155550132&Body=STOP",
            // Not E.164: a field error, which must not quote it whole either.
            "MessageSid=SM2&From=4155550132&Body=STOP",
        ]
        .into_iter()
        .map(|form| {
            let params: Vec<(String, String)> = url::form_urlencoded::parse(form.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let signature = booking_proto::twilio_signature::sign(
                state().config().twilio_auth_token.expose(),
                &format!("http://shim.test{path}"),
                &params,
            );
            axum::http::Request::post(path)
                .header("host", "shim.test")
                .header(crate::twilio::SIGNATURE_HEADER, signature)
                .body(Body::from(form))
                .unwrap()
        })
        .collect();
        let (log, statuses) = logged_requests(requests).await;
        // Authenticated, then refused for want of Temporal.
        assert_eq!(statuses, [StatusCode::SERVICE_UNAVAILABLE; 2]);
        assert!(log.contains("route=/webhooks/twilio/inbound"), "{log}");
        assert!(
            !log.contains("4155550132"),
            "a phone number was logged:\n{log}"
        );
    }

    #[tokio::test]
    async fn unmatched_requests_log_unmatched_not_their_path() {
        let (log, statuses) = logged(vec![(
            "GET",
            "/no/such/route/secret-looking-segment".to_owned(),
        )])
        .await;
        assert_eq!(statuses, [StatusCode::NOT_FOUND]);
        assert!(!log.contains("secret-looking-segment"), "{log}");
        assert!(log.contains("route=unmatched"), "{log}");
    }

    #[tokio::test]
    async fn a_sane_request_id_is_echoed_trimmed_and_any_other_is_replaced() {
        let app = router(state());
        let answer = |id: Option<&'static str>| {
            let app = app.clone();
            async move {
                let mut request = axum::http::Request::builder().uri("/healthz");
                if let Some(id) = id {
                    request = request.header(crate::REQUEST_ID_HEADER, id);
                }
                let response = app
                    .oneshot(request.body(Body::empty()).unwrap())
                    .await
                    .unwrap();
                response.headers()[crate::REQUEST_ID_HEADER]
                    .to_str()
                    .unwrap()
                    .to_owned()
            }
        };
        assert_eq!(answer(Some("  req-1  ")).await, "req-1");
        let long = "x".repeat(129);
        for insane in [
            None,
            Some("   "),
            Some("has space"),
            Some(long.leak() as &str),
        ] {
            let made = answer(insane).await;
            assert!(uuid::Uuid::parse_str(&made).is_ok(), "{insane:?} -> {made}");
        }
    }
}
