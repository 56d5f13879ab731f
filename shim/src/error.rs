//! [`ApiError`]: every way a request can fail, each mapped to one status and body.
//!
//! A 503 asks its sender to retry; its `Retry-After` is the configured `SHIM_RETRY_AFTER_SECS`,
//! which lives in the app state ([`RetryAfter`]), so the error marks the response
//! ([`RetryLater`]) and [`crate::middleware::retry_after`] gives it the header.

use std::time::Duration;

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use booking_proto::domain::FieldError;

use crate::{
    answers::{ErrorBody, ValidationErrors},
    handoff::HandoffError,
    signature::SignatureError,
};

/// Every way a request can fail, mapped to one status each.
#[derive(Debug)]
pub enum ApiError {
    /// Fatal: authentication failed (401). The reason is logged, never answered.
    Unauthorized(SignatureError),
    /// Fatal: our own form's input is invalid (400, every field error listed).
    Invalid(Vec<FieldError>),
    /// Fatal: the body is not JSON (415).
    UnsupportedMediaType,
    /// Fatal: the link is invalid or expired, or the booking does not exist (404).
    NotFound,
    /// Fatal: the booking refused the change (409, with its reason).
    Refused(String),
    /// Retryable: Temporal or the Calendly API is unreachable (503 with `Retry-After`).
    Unavailable(String),
    /// Retryable: the shim is serving `SHIM_MAX_IN_FLIGHT_REQUESTS` already (503 with
    /// `Retry-After`; not logged per request, the request's "answered" line says 503).
    Overloaded,
}

impl From<HandoffError> for ApiError {
    fn from(e: HandoffError) -> Self {
        match e {
            HandoffError::Unavailable(m) => ApiError::Unavailable(m),
            HandoffError::NotFound => ApiError::NotFound,
            HandoffError::Closed => ApiError::Refused("the booking is closed".into()),
            HandoffError::Refused(m) => ApiError::Refused(m),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Unauthorized(reason) => {
                tracing::warn!(%reason, "authentication failed");
                (
                    StatusCode::UNAUTHORIZED,
                    Json(ErrorBody::new("unauthorized")),
                )
                    .into_response()
            }
            ApiError::Invalid(errors) => {
                tracing::info!(count = errors.len(), "invalid input");
                let errors = errors.iter().map(Into::into).collect();
                (StatusCode::BAD_REQUEST, Json(ValidationErrors { errors })).into_response()
            }
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Json(ErrorBody::new("the body must be application/json")),
            )
                .into_response(),
            ApiError::NotFound => {
                (StatusCode::NOT_FOUND, Json(ErrorBody::new("not found"))).into_response()
            }
            ApiError::Refused(reason) => {
                (StatusCode::CONFLICT, Json(ErrorBody::new(reason))).into_response()
            }
            ApiError::Unavailable(reason) => {
                tracing::warn!(%reason, "hand-off not possible now; asking the sender to retry");
                retry_later()
            }
            ApiError::Overloaded => retry_later(),
        }
    }
}

/// Marks a 503 that asks its sender to retry: [`RetryAfter::apply`] turns it into the
/// configured `Retry-After` header.
#[derive(Debug, Clone, Copy)]
pub struct RetryLater;

/// 503, marked for the configured `Retry-After`.
fn retry_later() -> Response {
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(ErrorBody::new("temporarily unavailable, retry later")),
    )
        .into_response();
    response.extensions_mut().insert(RetryLater);
    response
}

/// The `Retry-After` of every 503 (`SHIM_RETRY_AFTER_SECS`, at least one second).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter {
    secs: u64,
}

impl RetryAfter {
    pub fn new(after: Duration) -> Self {
        Self {
            secs: after.as_secs().max(1),
        }
    }

    /// Gives `response` this `Retry-After` if it is marked [`RetryLater`].
    pub fn apply(self, response: &mut Response) {
        if response.extensions_mut().remove::<RetryLater>().is_some() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(self.secs));
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::Request};
    use tower::ServiceExt;

    use crate::{ShimState, config::ShimConfig, router};

    #[tokio::test]
    async fn a_503_carries_the_configured_retry_after_and_readiness_none() {
        let config = ShimConfig::for_sandbox(|name| {
            (name == "SHIM_RETRY_AFTER_SECS").then(|| "7".to_owned())
        })
        .unwrap();
        let app = router(ShimState::new(config));
        let get = |uri: &'static str| {
            let app = app.clone();
            async move {
                let request = Request::builder().uri(uri).body(Body::empty()).unwrap();
                app.oneshot(request).await.unwrap()
            }
        };
        // Not connected to Temporal: the seat counter asks to be retried.
        let unavailable = get("/open-houses/oh-1/availability").await;
        assert_eq!(unavailable.status(), 503);
        assert_eq!(unavailable.headers()["retry-after"], "7");
        let not_ready = get("/readyz").await;
        assert_eq!(not_ready.status(), 503);
        assert!(!not_ready.headers().contains_key("retry-after"));
    }
}
