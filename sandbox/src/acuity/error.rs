//! Acuity errors: `{"status_code": N, "message", "error"}`, the shape of every failure of
//! Acuity's API v1 (the `error` is a snake_case code, the `message` is for people).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::body::BodyError;

/// The error body for HTTP `status`.
pub fn body(status: u16, message: &str, error: &str) -> Value {
    json!({ "status_code": status, "message": message, "error": error })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcuityError {
    pub status: StatusCode,
    pub message: String,
    pub error: &'static str,
}

impl AcuityError {
    pub fn new(status: StatusCode, message: impl Into<String>, error: &'static str) -> Self {
        Self {
            status,
            message: message.into(),
            error,
        }
    }

    /// No or wrong Basic credentials (user id and API key).
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", "unauthorized")
    }

    pub fn appointment_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "The appointment requested does not exist.",
            "not_found",
        )
    }

    /// An unknown path of the API.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not Found", "not_found")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed",
            "method_not_allowed",
        )
    }

    /// 400 naming the query parameter whose value could not be used.
    pub fn invalid_parameter(parameter: &str, problem: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!("Invalid value for {parameter}: {problem}"),
            "bad_request",
        )
    }
}

impl From<BodyError> for AcuityError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Path(_) => Self::appointment_not_found(),
            _ => Self::new(
                StatusCode::BAD_REQUEST,
                "Expected a JSON object.",
                "bad_request",
            ),
        }
    }
}

impl IntoResponse for AcuityError {
    fn into_response(self) -> Response {
        let status = self.status.as_u16();
        let mut response =
            (self.status, Json(body(status, &self.message, self.error))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Acuity Scheduling API\""),
            );
        }
        response
    }
}
