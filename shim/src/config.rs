//! The shim's configuration, read once from the environment into typed values. A bad value
//! stops the process with an error naming the variable; secrets are wrapped so that a config
//! dump in a log never shows them.
//!
//! Secrets fail closed: outside sandbox mode (`BOOKINGS_SANDBOX`, read as the worker reads it)
//! the shim refuses to start unless `SHIM_CALENDLY_SIGNING_KEY`, `SHIM_LINK_SECRET`,
//! `SHIM_OPERATOR_TOKEN`, `SHIM_FORM_TOKEN` or `SHIM_FORM_WEBHOOK_SECRET`,
//! `SHIM_TWILIO_AUTH_TOKEN` and `BOOKINGS_CALENDLY_TOKEN` are all set (each also as
//! `<VAR>_FILE`), and `SHIM_PUBLIC_URL` (not a secret: no `_FILE`), naming every one missing.
//! The form and operator credentials are required too, although an endpoint without one could
//! simply refuse every call: a deployment that forgot one would otherwise look healthy while its
//! form or operators are locked out. In sandbox mode the sandbox's public values stand in (the
//! public URL: the request's `Host`), the link key is random per process, and the form and
//! operator endpoints stay closed unless set.

use std::time::Duration;

use booking_activities::{
    config::{self as providers, AcuityConfig, CalendlyConfig, Mode, SANDBOX_MODE_VAR},
    secret::Secret,
};
use url::Url;

use crate::signature::StandardWebhookKey;

mod secrets;
use secrets::Secrets;

/// Why the configuration could not be read. Fatal: the process cannot start; fix the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

/// The settings the shim shares with the worker are read by the worker's rules.
impl From<providers::ConfigError> for ConfigError {
    fn from(error: providers::ConfigError) -> Self {
        let var = error.var();
        let message = error.to_string();
        let message = match message.strip_prefix(var).and_then(|m| m.strip_prefix(' ')) {
            Some(rest) => rest.to_owned(),
            None => message,
        };
        Self { var, message }
    }
}

/// Everything the shim runs with.
#[derive(Debug, Clone)]
pub struct ShimConfig {
    /// `SHIM_PORT` (8090).
    pub port: u16,
    /// `BOOKINGS_TASK_QUEUE` (`bookings`): where booking and dead-letter workflows run.
    pub task_queue: String,
    /// `SHIM_CALENDLY_SIGNING_KEY` and, while rotating, `SHIM_CALENDLY_SIGNING_KEY_PREVIOUS`.
    /// Required; in sandbox mode the sandbox's key, so a local stack works out of the box.
    pub calendly_signing_keys: Vec<Secret>,
    /// `SHIM_SIGNATURE_TOLERANCE_SECS` (180): how far a signature timestamp may be from now.
    pub signature_tolerance: Duration,
    /// `SHIM_BODY_LIMIT_BYTES` (262144): larger bodies are answered 413 unread.
    pub body_limit: usize,
    /// `SHIM_FORM_TOKEN`: bearer token of `POST /webhooks/form`. This or a webhook secret is
    /// required outside sandbox mode; unset in sandbox mode, bearer calls are refused.
    pub form_token: Option<Secret>,
    /// `SHIM_FORM_WEBHOOK_SECRET` and, while rotating, `SHIM_FORM_WEBHOOK_SECRET_PREVIOUS`:
    /// Standard Webhooks secrets (`whsec_<base64>`, anything else refused at start) of the
    /// form, decoded. Empty: signed calls are refused.
    pub form_webhook_keys: Vec<StandardWebhookKey>,
    /// `SHIM_OPERATOR_TOKEN`: bearer token of operator endpoints. Required outside sandbox
    /// mode; unset in sandbox mode, operator calls are refused.
    pub operator_token: Option<Secret>,
    /// `SHIM_LINK_SECRET`: key of signed links. Required outside sandbox mode; in sandbox mode
    /// random per process when unset (links then die with the process).
    pub link_secret: Secret,
    /// `SHIM_QUESTIONNAIRE_URL`: where `/q/{token}` redirects after recording the visit.
    pub questionnaire_url: Url,
    /// `SHIM_HANDOFF_TIMEOUT_MS` (5000): how long a hand-off to Temporal may take before the
    /// shim answers 503 (the client retries internally until then).
    pub handoff_timeout: Duration,
    /// `SHIM_RETRY_AFTER_SECS` (5): the `Retry-After` of a 503.
    pub retry_after: Duration,
    /// `SHIM_BODY_READ_TIMEOUT_MS` (10000): how long a request's body may take to arrive once
    /// its headers have; a client trickling its body (slow drip) gets 408 and the connection
    /// is closed, so it cannot hold a connection and a task open.
    pub body_read_timeout: Duration,
    /// `SHIM_AVAILABILITY_REFRESH_MS` (2000): how long an open house's seat counter is served
    /// from memory before the ledger is queried again (and the counter's `max-age`).
    pub availability_refresh: Duration,
    /// `SHIM_AVAILABILITY_QUERY_TIMEOUT_MS` (2000): how long one ledger query for a seat
    /// counter may take; past it the view is answered 503 with `Retry-After`.
    pub availability_query_timeout: Duration,
    /// `SHIM_AVAILABILITY_CACHE_ENTRIES` (10000): how many open house ids (known and unknown)
    /// the seat counter cache remembers at most; the oldest are dropped first.
    pub availability_cache_entries: usize,
    /// `SHIM_HEADER_READ_TIMEOUT_MS` (5000): how long a connection may take to send a
    /// request's headers (and how long an idle keep-alive connection stays open); past it the
    /// connection is closed, so slow-header clients cannot hold connections.
    pub header_read_timeout: Duration,
    /// `SHIM_MAX_CONNECTIONS` (1024): open connections at most; further ones wait in the
    /// listen backlog until one closes.
    pub max_connections: usize,
    /// `SHIM_MAX_IN_FLIGHT_REQUESTS` (512): requests being served at most (`/healthz` aside);
    /// further ones are answered 503 with `Retry-After` at once.
    pub max_in_flight_requests: usize,
    /// Calendly API (`BOOKINGS_CALENDLY_URL`, `BOOKINGS_CALENDLY_TOKEN`, as the worker reads
    /// them): the shim follows reschedule chains through it.
    pub calendly: CalendlyConfig,
    /// Acuity Scheduling API (`BOOKINGS_ACUITY_URL`, `BOOKINGS_ACUITY_USER_ID`,
    /// `BOOKINGS_ACUITY_API_KEY`, as the worker reads them): the API key also signs Acuity's
    /// webhooks, and the shim reads each webhook's appointment through the API. `None`
    /// outside sandbox mode when neither is set: Acuity's webhooks are then refused (401).
    pub acuity: Option<AcuityConfig>,
    /// `SHIM_TWILIO_AUTH_TOKEN`: the Twilio account's auth token, which signs every Twilio
    /// webhook. Required outside sandbox mode; in sandbox mode the sandbox's.
    pub twilio_auth_token: Secret,
    /// `SHIM_PUBLIC_URL`: the base URL webhook senders call (e.g. `https://hooks.example.com`).
    /// Twilio signs the URL it requested, which a proxy in front of the shim hides from it.
    /// Required outside sandbox mode; in sandbox mode, when unset, `http://<Host header>`.
    pub public_url: Option<Url>,
}

pub const DEFAULT_PORT: u16 = 8090;
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(180);
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_AVAILABILITY_QUERY_TIMEOUT: Duration = Duration::from_secs(2);
pub const DEFAULT_AVAILABILITY_CACHE_ENTRIES: usize = 10_000;
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
pub const DEFAULT_MAX_IN_FLIGHT_REQUESTS: usize = 512;
/// Caps that would make the server refuse everything, or wrap around as a semaphore size.
const MAX_LIMIT: u64 = 1 << 24;

impl ShimConfig {
    /// Reads the process environment (warning once in sandbox mode).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_settings(&|name: &str| std::env::var(name).ok())
    }

    /// Reads the process's settings (its flags and environment, see [`crate::cli`]), warning
    /// once in sandbox mode.
    pub fn from_settings(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Mode::from_lookup(lookup)?.warn_once_if_sandbox();
        Self::from_lookup(lookup)
    }

    /// Sandbox mode whatever `lookup` says about `BOOKINGS_SANDBOX`: the sandbox's values stand
    /// in for the secrets `lookup` leaves unset (tests, harnesses, [`crate::ShimState`]'s
    /// `Default`).
    pub fn for_sandbox(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::from_lookup(move |name| {
            if name == SANDBOX_MODE_VAR {
                Some("1".to_owned())
            } else {
                lookup(name)
            }
        })
    }

    /// Reads through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |var: &str| lookup(var).filter(|v| !v.trim().is_empty());
        let number = |var: &'static str, default: u64| -> Result<u64, ConfigError> {
            match get(var) {
                None => Ok(default),
                Some(raw) => raw.trim().parse().map_err(|_| ConfigError {
                    var,
                    message: format!("{raw:?} is not a whole number"),
                }),
            }
        };
        // A positive whole number no larger than `MAX_LIMIT`: zero would refuse everything.
        let positive = |var: &'static str, default: u64| -> Result<u64, ConfigError> {
            let value = number(var, default)?;
            if value == 0 || value > MAX_LIMIT {
                return Err(ConfigError {
                    var,
                    message: format!("must be between 1 and {MAX_LIMIT}"),
                });
            }
            Ok(value)
        };
        let port = u16::try_from(number("SHIM_PORT", u64::from(DEFAULT_PORT))?).map_err(|_| {
            ConfigError {
                var: "SHIM_PORT",
                message: "must be a port number (0..=65535)".into(),
            }
        })?;
        let secrets = Secrets::read(&get)?;
        let body_limit =
            usize::try_from(number("SHIM_BODY_LIMIT_BYTES", DEFAULT_BODY_LIMIT as u64)?).map_err(
                |_| ConfigError {
                    var: "SHIM_BODY_LIMIT_BYTES",
                    message: "is too large".into(),
                },
            )?;
        if body_limit == 0 {
            return Err(ConfigError {
                var: "SHIM_BODY_LIMIT_BYTES",
                message: "must be at least 1".into(),
            });
        }
        let body_read_timeout = Duration::from_millis(number(
            "SHIM_BODY_READ_TIMEOUT_MS",
            DEFAULT_BODY_READ_TIMEOUT.as_millis() as u64,
        )?);
        if body_read_timeout.is_zero() {
            return Err(ConfigError {
                var: "SHIM_BODY_READ_TIMEOUT_MS",
                message: "must be at least 1".into(),
            });
        }
        let public_url = get("SHIM_PUBLIC_URL")
            .map(|raw| {
                Url::parse(raw.trim_end_matches('/'))
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
                    .ok_or_else(|| ConfigError {
                        var: "SHIM_PUBLIC_URL",
                        message: format!("{raw:?} is not an absolute http(s) URL"),
                    })
            })
            .transpose()?;
        let questionnaire_url = match get("SHIM_QUESTIONNAIRE_URL") {
            None => Url::parse("https://example.com/questionnaire").expect("a valid URL"),
            Some(raw) => Url::parse(&raw).map_err(|e| ConfigError {
                var: "SHIM_QUESTIONNAIRE_URL",
                message: format!("{raw:?} is not a URL: {e}"),
            })?,
        };
        Ok(Self {
            port,
            task_queue: get("BOOKINGS_TASK_QUEUE").unwrap_or_else(|| "bookings".into()),
            calendly_signing_keys: secrets.calendly_signing_keys,
            signature_tolerance: Duration::from_secs(number(
                "SHIM_SIGNATURE_TOLERANCE_SECS",
                DEFAULT_TOLERANCE.as_secs(),
            )?),
            body_limit,
            form_token: secrets.form_token,
            form_webhook_keys: secrets.form_webhook_keys,
            operator_token: secrets.operator_token,
            link_secret: secrets.link_secret,
            questionnaire_url,
            handoff_timeout: Duration::from_millis(number("SHIM_HANDOFF_TIMEOUT_MS", 5000)?),
            retry_after: Duration::from_secs(number("SHIM_RETRY_AFTER_SECS", 5)?),
            body_read_timeout,
            availability_refresh: Duration::from_millis(number(
                "SHIM_AVAILABILITY_REFRESH_MS",
                2000,
            )?),
            availability_query_timeout: Duration::from_millis(positive(
                "SHIM_AVAILABILITY_QUERY_TIMEOUT_MS",
                DEFAULT_AVAILABILITY_QUERY_TIMEOUT.as_millis() as u64,
            )?),
            availability_cache_entries: positive(
                "SHIM_AVAILABILITY_CACHE_ENTRIES",
                DEFAULT_AVAILABILITY_CACHE_ENTRIES as u64,
            )? as usize,
            header_read_timeout: Duration::from_millis(positive(
                "SHIM_HEADER_READ_TIMEOUT_MS",
                DEFAULT_HEADER_READ_TIMEOUT.as_millis() as u64,
            )?),
            max_connections: positive("SHIM_MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS as u64)?
                as usize,
            max_in_flight_requests: positive(
                "SHIM_MAX_IN_FLIGHT_REQUESTS",
                DEFAULT_MAX_IN_FLIGHT_REQUESTS as u64,
            )? as usize,
            calendly: secrets.calendly,
            acuity: secrets.acuity,
            twilio_auth_token: secrets.twilio_auth_token,
            public_url,
        })
    }
}

#[cfg(test)]
mod tests;
