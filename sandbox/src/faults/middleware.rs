//! The outermost layer of every provider route: applies fault rules and writes the request log.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::Notify;

use super::{Action, Injection};
use crate::request_log::{RequestOutcome, RequestRecord};
use crate::state::Shared;
use crate::time;

/// Put on every request by the connection loop: notifying it closes the connection the
/// request arrived on, without a response.
#[derive(Clone)]
pub struct ConnectionKill(pub Arc<Notify>);

pub async fn layer(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if path.starts_with("/_sandbox") {
        return next.run(req).await;
    }
    let started = Instant::now();
    let at = time::now();
    let method = req.method().as_str().to_owned();
    let query = req.uri().query().map(str::to_owned);

    let (delay, action) = state.runtime(|rt| rt.faults.plan(&method, &path, &mut rt.rng));
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    let log = |status: Option<u16>, outcome: RequestOutcome| {
        tracing::debug!(%method, %path, ?status, ?outcome, "provider request");
        let record = RequestRecord {
            seq: 0,
            at,
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            status,
            outcome,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        state.runtime(|rt| rt.requests.push(record));
    };

    let (response, outcome) = match action {
        Action::Pass => (next.run(req).await, RequestOutcome::Handled),
        Action::Inject(injection) => (injection.to_response(), RequestOutcome::Injected),
        Action::ChaosServerError(status) => (
            server_error(&path, status).to_response(),
            RequestOutcome::Chaos,
        ),
        Action::ChaosRateLimited(retry_after) => (
            rate_limited(&path, retry_after).to_response(),
            RequestOutcome::Chaos,
        ),
        Action::Drop => {
            log(None, RequestOutcome::Dropped);
            tracing::debug!(%method, %path, "dropping connection by fault rule");
            match req.extensions().get::<ConnectionKill>() {
                Some(kill) => {
                    kill.0.notify_one();
                    // The connection task drops this future together with the connection.
                    return std::future::pending::<Response>().await;
                }
                // Served without a connection of ours (a router called in-process): the
                // closest thing to "no answer" is a gateway error.
                None => return Injection::new("", "", 502).to_response(),
            }
        }
    };
    log(Some(response.status().as_u16()), outcome);
    response
}

/// A transient server error in the shape of the provider owning `path`.
fn server_error(path: &str, status: u16) -> Injection {
    if path.starts_with("/microsoft/login") {
        Injection::microsoft_login_error(
            status,
            "temporarily_unavailable",
            50_196,
            "The server is temporarily unavailable.",
        )
    } else if path.starts_with("/microsoft/") {
        let (code, message) = if status == 503 {
            ("serviceNotAvailable", "Service Unavailable")
        } else {
            ("generalException", "An unexpected error occurred.")
        };
        Injection::graph_error("", "", status, code, message).retry_after(1)
    } else if path.starts_with("/google/oauth2") {
        Injection::oauth_error(status, "internal_failure", "Backend Error")
    } else if path.starts_with("/google/") {
        let (reason, message) = if status == 503 {
            ("backendError", "Backend Error")
        } else {
            ("internalError", "Internal Error")
        };
        Injection::google_error("", "", status, reason, message)
    } else if path.starts_with("/hubspot/") {
        Injection::hubspot_error(
            "",
            "",
            status,
            "INTERNAL_ERROR",
            "An internal error occurred.",
        )
    } else if path.starts_with("/sendgrid/") {
        Injection::sendgrid_error(status, "Internal server error")
    } else if path.starts_with("/twilio/") {
        let (code, message) = crate::twilio::error::transient(status);
        Injection::twilio_api_error("", "", status, code, message)
    } else {
        Injection::calendly_error(
            "",
            "",
            status,
            "Internal Server Error",
            "The server encountered an unexpected condition.",
        )
    }
}

/// A 429 in the shape of the provider owning `path`, with `Retry-After` (except Twilio's,
/// which never sends one).
fn rate_limited(path: &str, retry_after: u64) -> Injection {
    if path.starts_with("/twilio/") {
        let (code, message) = crate::twilio::error::transient(429);
        return Injection::twilio_api_error("", "", 429, code, message);
    }
    let reset = (time::now().timestamp() + i64::try_from(retry_after).unwrap_or(0)).to_string();
    let injection = if path.starts_with("/microsoft/login") {
        Injection::microsoft_login_error(
            429,
            "temporarily_unavailable",
            50_196,
            "The server encountered a client request loop. Please try your request again after some time.",
        )
    } else if path.starts_with("/microsoft/") {
        Injection::graph_throttled("", "", retry_after)
    } else if path.starts_with("/google/oauth2") {
        Injection::oauth_error(429, "rate_limit_exceeded", "Rate limit exceeded")
    } else if path.starts_with("/google/") {
        Injection::google_error("", "", 429, "rateLimitExceeded", "Rate Limit Exceeded")
    } else if path.starts_with("/hubspot/") {
        Injection::hubspot_rate_limited("", "")
    } else if path.starts_with("/sendgrid/") {
        Injection::sendgrid_error(429, "too many requests")
            .header("X-RateLimit-Limit", "600")
            .header("X-RateLimit-Remaining", "0")
            .header("X-RateLimit-Reset", reset)
    } else {
        Injection::calendly_error(
            "",
            "",
            429,
            "Too Many Requests",
            "You have exceeded the rate limit.",
        )
        .header("X-RateLimit-Limit", "1000")
        .header("X-RateLimit-Remaining", "0")
        .header("X-RateLimit-Reset", retry_after.to_string())
    };
    injection.retry_after(retry_after)
}
