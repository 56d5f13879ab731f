//! Microsoft Graph errors: `{"error":{"code","message","innerError":{"date","request-id",
//! "client-request-id"}}}`, with `request-id`/`client-request-id` headers as Graph sends.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::body::{BodyError, correlation_id};
use crate::time;

/// The OData content type Graph answers with.
pub const ODATA_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

pub fn body(code: &str, message: &str) -> Value {
    let request_id = correlation_id();
    json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": time::seconds(time::now()),
                "request-id": request_id,
                "client-request-id": request_id,
            }
        }
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl GraphError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::bad_request("ErrorInvalidRequest", message)
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::bad_request("ErrorInvalidParameter", message)
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ErrorItemNotFound",
            "The specified object was not found in the store.",
        )
    }

    pub fn token_empty() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty.",
        )
    }

    pub fn token_expired() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token has expired or is not yet valid.",
        )
    }

    pub fn sync_state_not_found() -> Self {
        Self::new(
            StatusCode::GONE,
            "SyncStateNotFound",
            "The sync state generation is not found or has expired. Please do a full sync.",
        )
    }

    pub fn time_zone_not_supported(zone: &str) -> Self {
        Self::bad_request(
            "TimeZoneNotSupportedException",
            format!(
                "A valid TimeZone value must be specified. The following TimeZone value is not supported: '{zone}'."
            ),
        )
    }
}

impl From<BodyError> for GraphError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::Path(_) => Self::not_found(),
            BodyError::WrongContentType { .. } => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UnsupportedMediaType",
                "A supported MIME type could not be found that matches the content type of the response.",
            ),
            other => Self::invalid_request(format!("Invalid request body: {}", other.detail())),
        }
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let body = body(self.code, &self.message);
        let request_id = body["error"]["innerError"]["request-id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ODATA_JSON));
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            headers.insert("request-id", v.clone());
            headers.insert("client-request-id", v);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
                ),
            );
        }
        response
    }
}
