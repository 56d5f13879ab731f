//! HubSpot errors: `{"status":"error","message","correlationId","category"}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::body::{BodyError, correlation_id};

pub fn body(category: &str, message: &str) -> Value {
    json!({
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
        "category": category,
    })
}

pub fn rate_limit_body() -> Value {
    json!({
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": "TEN_SECONDLY_ROLLING",
        "groupName": "sandbox-private-app",
        "category": "RATE_LIMITS",
    })
}

/// One entry of the list HubSpot embeds in a property-validation message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyProblem {
    pub name: String,
    pub error: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HubspotError {
    pub status: StatusCode,
    pub body: Value,
}

impl HubspotError {
    pub fn new(status: StatusCode, category: &str, message: impl AsRef<str>) -> Self {
        Self {
            status,
            body: body(category, message.as_ref()),
        }
    }

    pub fn validation(message: impl AsRef<str>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    /// HubSpot prints invalid properties as a JSON list inside the message text.
    pub fn invalid_properties(problems: &[PropertyProblem]) -> Self {
        let list: Vec<Value> = problems
            .iter()
            .map(|p| {
                json!({
                    "isValid": false,
                    "message": p.message,
                    "error": p.error,
                    "name": p.name,
                    "localizedErrorMessage": p.message,
                })
            })
            .collect();
        let mut error = Self::validation(format!(
            "Property values were not valid: {}",
            Value::Array(list)
        ));
        error.body["errors"] = Value::Array(
            problems
                .iter()
                .map(|p| json!({ "message": p.message, "code": p.error, "context": { "propertyName": [p.name] } }))
                .collect(),
        );
        error
    }

    pub fn conflict(message: impl AsRef<str>) -> Self {
        Self::new(StatusCode::CONFLICT, "CONFLICT", message)
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "OBJECT_NOT_FOUND",
            "resource not found",
        )
    }

    pub fn invalid_auth(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "INVALID_AUTHENTICATION", message)
    }

    pub fn rate_limited() -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            body: rate_limit_body(),
        }
    }
}

impl From<BodyError> for HubspotError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::WrongContentType { got, .. } => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "VALIDATION_ERROR",
                format!(
                    "Content type '{}' is not supported; use application/json.",
                    got.unwrap_or_default()
                ),
            ),
            BodyError::Syntax(detail) | BodyError::Unreadable(detail) => {
                Self::validation(format!("Invalid input JSON: {detail}"))
            }
            BodyError::Shape(detail) => Self::validation(format!("Invalid input JSON: {detail}")),
            BodyError::Path(_) => Self::not_found(),
        }
    }
}

impl IntoResponse for HubspotError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
