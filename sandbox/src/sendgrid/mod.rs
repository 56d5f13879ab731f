//! SendGrid v3 `mail/send` stand-in, served under `/sendgrid`
//! (real base `https://api.sendgrid.com`).

pub mod error;
pub mod model;
mod validate;

use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::body::{JsonBody, bearer};
use crate::state::Shared;
use crate::time;
use error::SendgridError;
use model::SentEmail;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SendgridState {
    /// Every accepted message, oldest first.
    pub emails: Vec<SentEmail>,
}

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/v3/mail/send", post(mail_send))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn not_found() -> SendgridError {
    SendgridError::general(StatusCode::NOT_FOUND, "resource not found")
}

async fn method_not_allowed() -> SendgridError {
    SendgridError::general(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}

/// Authorization, then the rate limit: both come before the body is looked at.
fn admit(state: &Shared, headers: &HeaderMap) -> Result<(), SendgridError> {
    match bearer(headers) {
        None => {
            return Err(SendgridError::general(
                StatusCode::UNAUTHORIZED,
                "authorization required",
            ));
        }
        Some(key) if key != state.config.sendgrid_api_key => {
            return Err(SendgridError::general(
                StatusCode::UNAUTHORIZED,
                "The provided authorization grant is invalid, expired, or revoked",
            ));
        }
        Some(_) => {}
    }
    let limit = state.config.sendgrid_limit_per_second;
    let window = state.runtime(|rt| rt.sendgrid_window.hit(Instant::now(), limit));
    if !window.allowed {
        let mut error = SendgridError::general(StatusCode::TOO_MANY_REQUESTS, "too many requests");
        let reset =
            time::now().timestamp() + i64::try_from(window.reset_in.as_secs()).unwrap_or(0) + 1;
        error.headers = vec![
            ("x-ratelimit-limit", limit.to_string()),
            ("x-ratelimit-remaining", "0".to_owned()),
            ("x-ratelimit-reset", reset.to_string()),
        ];
        return Err(error);
    }
    Ok(())
}

async fn mail_send(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Result<JsonBody<Value, SendgridError>, SendgridError>,
) -> Result<Response, SendgridError> {
    admit(&state, &headers)?;
    let JsonBody(body, _) = body?;
    // 22 url-safe characters, the shape of SendGrid's message ids.
    let message_id = data_encoding::BASE64URL_NOPAD.encode(uuid::Uuid::new_v4().as_bytes());
    let email = validate::validate(&body, message_id.clone(), time::now())
        .map_err(|errors| SendgridError::new(StatusCode::BAD_REQUEST, errors))?;
    tracing::debug!(%message_id, to = ?email.to_emails(), "sendgrid accepted mail");
    state.change(|p| p.sendgrid.emails.push(email));
    let mut response = StatusCode::ACCEPTED.into_response();
    if let Ok(v) = HeaderValue::try_from(message_id) {
        response.headers_mut().insert("X-Message-Id", v);
    }
    Ok(response)
}
