//! Calendly errors: `{"title","message","details"?}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::body::BodyError;

pub fn body(title: &str, message: &str) -> Value {
    json!({ "title": title, "message": message })
}

#[derive(Debug, Clone, PartialEq)]
pub struct CalendlyError {
    pub status: StatusCode,
    pub body: Value,
}

impl CalendlyError {
    pub fn new(status: StatusCode, title: &str, message: &str) -> Self {
        Self {
            status,
            body: body(title, message),
        }
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Resource Not Found",
            "The server could not find the requested resource.",
        )
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Unauthenticated",
            "The access token is invalid",
        )
    }

    /// 400 naming the offending parameter, as Calendly's `details` list does.
    pub fn invalid_argument(parameter: &str, message: &str) -> Self {
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            "Invalid Argument",
            "The supplied parameters are invalid.",
        );
        error.body["details"] = json!([{ "parameter": parameter, "message": message }]);
        error
    }
}

impl From<BodyError> for CalendlyError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Path(_) => Self::not_found(),
            other => Self::new(StatusCode::BAD_REQUEST, "Invalid Argument", &other.detail()),
        }
    }
}

impl IntoResponse for CalendlyError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
