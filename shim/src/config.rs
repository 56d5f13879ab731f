//! The shim's configuration, read once from the environment into typed values. A bad value
//! stops the process with an error naming the variable; secrets are wrapped so that a config
//! dump in a log never shows them.

use std::time::Duration;

use booking_activities::{config::CalendlyConfig, secret::Secret};
use url::Url;

/// Why the configuration could not be read. Fatal: the process cannot start; fix the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

/// Everything the shim runs with.
#[derive(Debug, Clone)]
pub struct ShimConfig {
    /// `SHIM_PORT` (8090).
    pub port: u16,
    /// `BOOKINGS_TASK_QUEUE` (`bookings`): where booking and dead-letter workflows run.
    pub task_queue: String,
    /// `SHIM_CALENDLY_SIGNING_KEY` and, while rotating, `SHIM_CALENDLY_SIGNING_KEY_PREVIOUS`.
    /// Default: the sandbox's key, so a local stack works out of the box.
    pub calendly_signing_keys: Vec<Secret>,
    /// `SHIM_SIGNATURE_TOLERANCE_SECS` (180): how far a signature timestamp may be from now.
    pub signature_tolerance: Duration,
    /// `SHIM_BODY_LIMIT_BYTES` (262144): larger bodies are answered 413 unread.
    pub body_limit: usize,
    /// `SHIM_FORM_TOKEN`: bearer token of `POST /webhooks/form`.
    pub form_token: Option<Secret>,
    /// `SHIM_FORM_WEBHOOK_SECRET`: Standard Webhooks secret (`whsec_<base64>`) of the form.
    pub form_webhook_secret: Option<Secret>,
    /// `SHIM_OPERATOR_TOKEN`: bearer token of operator endpoints.
    pub operator_token: Option<Secret>,
    /// `SHIM_LINK_SECRET`: key of signed links. Default: random per process (links then die
    /// with the process; set it in any real deployment).
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
    /// Calendly API (`BOOKINGS_CALENDLY_URL`, `BOOKINGS_CALENDLY_TOKEN`, as the worker reads
    /// them): the shim follows reschedule chains through it.
    pub calendly: CalendlyConfig,
}

pub const DEFAULT_PORT: u16 = 8090;
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(180);
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
const SANDBOX_SIGNING_KEY: &str = "sandbox-calendly-signing-key";

impl ShimConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
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
        let port = u16::try_from(number("SHIM_PORT", u64::from(DEFAULT_PORT))?).map_err(|_| {
            ConfigError {
                var: "SHIM_PORT",
                message: "must be a port number (0..=65535)".into(),
            }
        })?;
        let mut calendly_signing_keys = vec![Secret::new(
            get("SHIM_CALENDLY_SIGNING_KEY").unwrap_or_else(|| SANDBOX_SIGNING_KEY.into()),
        )];
        if let Some(previous) = get("SHIM_CALENDLY_SIGNING_KEY_PREVIOUS") {
            calendly_signing_keys.push(Secret::new(previous));
        }
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
        let questionnaire_url = match get("SHIM_QUESTIONNAIRE_URL") {
            None => Url::parse("https://example.com/questionnaire").expect("a valid URL"),
            Some(raw) => Url::parse(&raw).map_err(|e| ConfigError {
                var: "SHIM_QUESTIONNAIRE_URL",
                message: format!("{raw:?} is not a URL: {e}"),
            })?,
        };
        let link_secret = Secret::new(get("SHIM_LINK_SECRET").unwrap_or_else(|| {
            tracing::warn!("SHIM_LINK_SECRET is not set: signed links will not survive a restart");
            format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            )
        }));
        let sandbox = get("BOOKINGS_SANDBOX_URL").unwrap_or_else(|| "http://127.0.0.1:8089".into());
        let calendly_url = get("BOOKINGS_CALENDLY_URL")
            .unwrap_or_else(|| format!("{}/calendly", sandbox.trim_end_matches('/')));
        let calendly = CalendlyConfig {
            base_url: Url::parse(&calendly_url).map_err(|e| ConfigError {
                var: "BOOKINGS_CALENDLY_URL",
                message: format!("{calendly_url:?} is not a URL: {e}"),
            })?,
            token: Secret::new(
                get("BOOKINGS_CALENDLY_TOKEN").unwrap_or_else(|| "sandbox-calendly-token".into()),
            ),
        };
        Ok(Self {
            port,
            task_queue: get("BOOKINGS_TASK_QUEUE").unwrap_or_else(|| "bookings".into()),
            calendly_signing_keys,
            signature_tolerance: Duration::from_secs(number(
                "SHIM_SIGNATURE_TOLERANCE_SECS",
                DEFAULT_TOLERANCE.as_secs(),
            )?),
            body_limit,
            form_token: get("SHIM_FORM_TOKEN").map(Secret::new),
            form_webhook_secret: get("SHIM_FORM_WEBHOOK_SECRET").map(Secret::new),
            operator_token: get("SHIM_OPERATOR_TOKEN").map(Secret::new),
            link_secret,
            questionnaire_url,
            handoff_timeout: Duration::from_millis(number("SHIM_HANDOFF_TIMEOUT_MS", 5000)?),
            retry_after: Duration::from_secs(number("SHIM_RETRY_AFTER_SECS", 5)?),
            body_read_timeout,
            availability_refresh: Duration::from_millis(number(
                "SHIM_AVAILABILITY_REFRESH_MS",
                2000,
            )?),
            calendly,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<ShimConfig, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ShimConfig::from_lookup(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_need_no_environment() {
        let config = with(&[]).unwrap();
        assert_eq!(config.port, 8090);
        assert_eq!(config.body_limit, 256 * 1024);
        assert_eq!(config.body_read_timeout, Duration::from_secs(10));
        assert_eq!(config.signature_tolerance, Duration::from_secs(180));
        assert_eq!(config.calendly_signing_keys.len(), 1);
        assert!(config.form_token.is_none());
    }

    #[test]
    fn errors_name_the_variable() {
        assert_eq!(
            with(&[("SHIM_PORT", "99999")]).unwrap_err().var,
            "SHIM_PORT"
        );
        assert_eq!(
            with(&[("SHIM_SIGNATURE_TOLERANCE_SECS", "3m")])
                .unwrap_err()
                .var,
            "SHIM_SIGNATURE_TOLERANCE_SECS"
        );
        assert_eq!(
            with(&[("SHIM_QUESTIONNAIRE_URL", "not a url")])
                .unwrap_err()
                .var,
            "SHIM_QUESTIONNAIRE_URL"
        );
        assert_eq!(
            with(&[("SHIM_BODY_READ_TIMEOUT_MS", "0")]).unwrap_err().var,
            "SHIM_BODY_READ_TIMEOUT_MS"
        );
    }

    #[test]
    fn two_signing_keys_during_rotation_and_secrets_never_print() {
        let config = with(&[
            ("SHIM_CALENDLY_SIGNING_KEY", "new-key"),
            ("SHIM_CALENDLY_SIGNING_KEY_PREVIOUS", "old-key"),
            ("SHIM_FORM_TOKEN", "form-token"),
        ])
        .unwrap();
        assert_eq!(config.calendly_signing_keys.len(), 2);
        let printed = format!("{config:?}");
        assert!(!printed.contains("new-key") && !printed.contains("form-token"));
    }
}
