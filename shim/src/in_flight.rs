//! The cap on requests served at once (`SHIM_MAX_IN_FLIGHT_REQUESTS`).
//!
//! Past the cap a request is answered 503 with `Retry-After` at once, before its body is read:
//! queueing it would only make every request slower and hold its connection and memory longer,
//! while a 503 tells webhook senders (who retry) and load balancers (who try another shim)
//! exactly what to do. `/healthz` is exempt: it costs nothing, and a liveness probe that fails
//! under load would get a busy but healthy shim restarted.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio::sync::Semaphore;

use crate::{ApiError, error::RetryAfter};

/// Paths served whatever the load.
pub(crate) const EXEMPT: &[&str] = &["/healthz"];

/// Slots for requests being served, shared by every connection of one server.
#[derive(Clone, Debug)]
pub struct InFlight {
    slots: Arc<Semaphore>,
    retry_after: RetryAfter,
}

impl InFlight {
    /// At most `max` requests at once; past that, 503 with `retry_after`.
    pub fn new(max: usize, retry_after: RetryAfter) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max.clamp(1, Semaphore::MAX_PERMITS))),
            retry_after,
        }
    }

    /// Free slots right now.
    pub fn available(&self) -> usize {
        self.slots.available_permits()
    }
}

/// Holds a slot for the whole request (body read and handler included) or answers 503.
/// Sits outside the body reader so that a slow body counts against the cap.
pub async fn limit(State(in_flight): State<InFlight>, request: Request, next: Next) -> Response {
    if EXEMPT.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let Ok(_slot) = in_flight.slots.clone().try_acquire_owned() else {
        let mut refused = ApiError::Overloaded.into_response();
        in_flight.retry_after.apply(&mut refused);
        return refused;
    };
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::{Router, body::Body, http::StatusCode, middleware, routing::get};
    use tokio::sync::Notify;
    use tower::ServiceExt;

    use super::*;

    fn get_request(path: &str) -> Request {
        axum::http::Request::builder()
            .uri(path)
            .body(Body::empty())
            .unwrap()
    }

    #[tokio::test]
    async fn past_the_cap_requests_get_503_with_retry_after_and_healthz_still_answers() {
        let release = Arc::new(Notify::new());
        let entered = Arc::new(Notify::new());
        let in_flight = InFlight::new(1, RetryAfter::new(Duration::from_secs(5)));
        let app = Router::new()
            .route(
                "/slow",
                get({
                    let release = release.clone();
                    let entered = entered.clone();
                    move || async move {
                        entered.notify_one();
                        release.notified().await;
                        "done"
                    }
                }),
            )
            .route("/healthz", get(|| async { "ok" }))
            .layer(middleware::from_fn_with_state(in_flight.clone(), limit));

        let slow = tokio::spawn(app.clone().oneshot(get_request("/slow")));
        tokio::time::timeout(Duration::from_secs(5), entered.notified())
            .await
            .expect("the first request is being served");
        assert_eq!(in_flight.available(), 0);

        let refused = app.clone().oneshot(get_request("/slow")).await.unwrap();
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(refused.headers().contains_key("retry-after"));
        let health = app.clone().oneshot(get_request("/healthz")).await.unwrap();
        assert_eq!(health.status(), StatusCode::OK);

        release.notify_one();
        assert_eq!(slow.await.unwrap().unwrap().status(), StatusCode::OK);
        assert_eq!(in_flight.available(), 1, "the slot is given back");
    }
}
