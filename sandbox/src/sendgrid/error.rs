//! SendGrid errors: `{"errors":[{"message","field","help"}]}`.

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use crate::body::BodyError;

pub fn body(message: &str, field: Option<&str>) -> Value {
    json!({ "errors": [{ "message": message, "field": field, "help": Value::Null }] })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub message: String,
    pub field: Option<String>,
    pub help: Option<String>,
}

impl FieldError {
    pub fn new(message: impl Into<String>, field: impl Into<String>, help_anchor: &str) -> Self {
        Self {
            message: message.into(),
            field: Some(field.into()),
            help: Some(format!(
                "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.{help_anchor}"
            )),
        }
    }

    fn general(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            field: None,
            help: None,
        }
    }
}

#[derive(Debug)]
pub struct SendgridError {
    pub status: StatusCode,
    pub errors: Vec<FieldError>,
    /// Extra response headers (rate-limit information on a 429).
    pub headers: Vec<(&'static str, String)>,
}

impl SendgridError {
    pub fn new(status: StatusCode, errors: Vec<FieldError>) -> Self {
        Self {
            status,
            errors,
            headers: Vec::new(),
        }
    }

    pub fn general(status: StatusCode, message: impl Into<String>) -> Self {
        Self::new(status, vec![FieldError::general(message)])
    }
}

impl From<BodyError> for SendgridError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::WrongContentType { .. } => Self::general(
                StatusCode::BAD_REQUEST,
                "Content-Type should be application/json.",
            ),
            _ => Self::general(StatusCode::BAD_REQUEST, "Bad Request"),
        }
    }
}

impl IntoResponse for SendgridError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({ "errors": self.errors }))).into_response();
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::try_from(value) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(name), value);
            }
        }
        response
    }
}
