//! Google API errors: `{"error":{"code","message","errors":[{"domain","reason","message"}]}}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::body::BodyError;

/// Reasons Google files under `usageLimits` rather than `global`.
const USAGE_LIMIT_REASONS: &[&str] = &[
    "rateLimitExceeded",
    "userRateLimitExceeded",
    "quotaExceeded",
    "dailyLimitExceeded",
];

pub fn body(code: u16, reason: &str, message: &str) -> Value {
    let domain = if USAGE_LIMIT_REASONS.contains(&reason) {
        "usageLimits"
    } else {
        "global"
    };
    json!({
        "error": {
            "code": code,
            "message": message,
            "errors": [{ "domain": domain, "reason": reason, "message": message }],
        }
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleError {
    pub status: StatusCode,
    pub reason: &'static str,
    pub message: String,
}

impl GoogleError {
    pub fn new(status: StatusCode, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            reason,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", message)
    }

    pub fn required(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "required", message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "badRequest", message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "notFound", "Not Found")
    }

    pub fn deleted() -> Self {
        Self::new(StatusCode::GONE, "deleted", "Resource has been deleted")
    }

    pub fn duplicate() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "duplicate",
            "The requested identifier already exists.",
        )
    }

    pub fn full_sync_required() -> Self {
        Self::new(
            StatusCode::GONE,
            "fullSyncRequired",
            "Sync token is no longer valid, a full sync is required.",
        )
    }

    pub fn time_range_empty() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "timeRangeEmpty",
            "The specified time range is empty.",
        )
    }

    pub fn auth_error() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "authError", "Invalid Credentials")
    }

    pub fn login_required() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "required",
            "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        )
    }
}

impl From<BodyError> for GoogleError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Syntax(_) | BodyError::Unreadable(_) => {
                Self::bad_request("Parse Error").with_reason("parseError")
            }
            BodyError::Shape(detail) => Self::invalid(format!("Invalid value: {detail}")),
            BodyError::WrongContentType { .. } => {
                Self::bad_request("Parse Error").with_reason("parseError")
            }
            BodyError::Path(_) => Self::not_found(),
        }
    }
}

impl GoogleError {
    fn with_reason(mut self, reason: &'static str) -> Self {
        self.reason = reason;
        self
    }
}

impl IntoResponse for GoogleError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(body(self.status.as_u16(), self.reason, &self.message)),
        )
            .into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=UTF-8"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"",
                ),
            );
        }
        response
    }
}
