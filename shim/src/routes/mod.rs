//! The shim's HTTP handlers, one module per audience: probes and metrics, the booking form,
//! Calendly, the lead's links, operators, and the landing page's seat counter.

pub mod availability;
pub mod calendly;
pub mod form;
pub mod links;
pub mod operator;
pub mod probes;

use axum::http::{HeaderMap, header};

use crate::{ApiError, RequestId};

/// The request id [`crate::request_log::request_span`] settled on.
fn request_id_of(request: &axum::http::Extensions) -> String {
    request
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default()
}

/// `application/json` (with or without parameters), or `application/*+json`.
fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let ok = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| {
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType)
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
