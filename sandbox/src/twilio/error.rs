//! Twilio REST errors: `{"code": N, "message", "more_info":
//! "https://www.twilio.com/docs/errors/N", "status": HTTP}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::body::BodyError;

/// The error body for Twilio error `code`, answered with HTTP `status`.
pub fn body(status: u16, code: u32, message: &str) -> Value {
    json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    })
}

/// The code and message Twilio answers a transient HTTP status with (429, 500, 503).
pub fn transient(status: u16) -> (u32, &'static str) {
    match status {
        429 => (20_429, "Too Many Requests"),
        503 => (20_503, "Service Unavailable"),
        _ => (20_500, "Internal Server Error"),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwilioError {
    pub status: StatusCode,
    pub code: u32,
    pub message: String,
}

impl TwilioError {
    pub fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad_request(code: u32, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// Missing or wrong credentials, or a path account that is not the caller's.
    pub fn authenticate() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 20_003, "Authenticate")
    }

    /// `path` as Twilio names it (without the sandbox's `/twilio` prefix).
    pub fn not_found(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            20_404,
            format!("The requested resource {path} was not found"),
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, 20_004, "Method not allowed")
    }

    pub fn to_required() -> Self {
        Self::bad_request(21_604, "A 'To' phone number is required.")
    }

    pub fn from_required() -> Self {
        Self::bad_request(21_603, "A 'From' phone number is required.")
    }

    pub fn body_required() -> Self {
        Self::bad_request(21_602, "Message body is required.")
    }

    pub fn body_too_long() -> Self {
        Self::bad_request(
            21_617,
            "The concatenated message body exceeds the 1600 character limit.",
        )
    }

    pub fn invalid_to(to: &str) -> Self {
        Self::bad_request(
            21_211,
            format!("The 'To' number {to} is not a valid phone number."),
        )
    }

    pub fn invalid_from(from: &str) -> Self {
        Self::bad_request(
            21_212,
            format!(
                "The 'From' number {from} is not a valid phone number, shortcode, or alphanumeric sender ID."
            ),
        )
    }

    pub fn from_not_owned(from: &str) -> Self {
        Self::bad_request(
            21_606,
            format!(
                "The From phone number {from} is not a valid, SMS-capable inbound phone number or short code for your account."
            ),
        )
    }

    pub fn invalid_service(sid: &str) -> Self {
        Self::bad_request(
            21_705,
            format!("The Messaging Service Sid {sid} is invalid."),
        )
    }

    pub fn invalid_status_callback(url: &str) -> Self {
        Self::bad_request(
            21_609,
            format!("The StatusCallback URL {url} is not a valid URL."),
        )
    }

    pub fn unsubscribed() -> Self {
        Self::bad_request(21_610, "Attempt to send to unsubscribed recipient")
    }

    pub fn not_mobile() -> Self {
        Self::bad_request(21_614, "'To' number is not a valid mobile number")
    }
}

impl From<BodyError> for TwilioError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Path(_) => Self::new(
                StatusCode::NOT_FOUND,
                20_404,
                "The requested resource was not found",
            ),
            // Unreadable form bodies: Twilio reads what it can, so the first missing
            // parameter is what it complains about.
            _ => Self::to_required(),
        }
    }
}

impl IntoResponse for TwilioError {
    fn into_response(self) -> Response {
        let status = self.status.as_u16();
        let mut response =
            (self.status, Json(body(status, self.code, &self.message))).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Twilio API\""),
            );
        }
        response
    }
}
