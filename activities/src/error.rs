//! The one classification of provider failures.
//!
//! Every client turns what went wrong into a [`ProviderError`]; the variant alone decides whether
//! Temporal retries, and each variant has a stable type name that workflows and retry policies
//! can list in `non_retryable_error_types`.

use std::time::Duration;

use temporalio_sdk::{ApplicationFailure, activities::ActivityError};

/// A provider, named in logs, failures and type names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    GoogleCalendar,
    GoogleOAuth,
    HubSpot,
    SendGrid,
    Calendly,
    Acuity,
    IcalFeed,
    MicrosoftGraph,
    MicrosoftIdentity,
    Twilio,
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Provider::GoogleCalendar => "Google Calendar",
            Provider::GoogleOAuth => "Google OAuth",
            Provider::HubSpot => "HubSpot",
            Provider::SendGrid => "SendGrid",
            Provider::Calendly => "Calendly",
            Provider::Acuity => "Acuity Scheduling",
            Provider::IcalFeed => "iCal feed",
            Provider::MicrosoftGraph => "Microsoft Graph",
            Provider::MicrosoftIdentity => "Microsoft identity platform",
            Provider::Twilio => "Twilio",
        })
    }
}

/// What went wrong talking to a provider.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Retryable: the request never got an HTTP answer (timeout, refused, reset).
    #[error("{provider} could not be reached: {message}")]
    Transport { provider: Provider, message: String },
    /// Retryable: the provider answered 5xx; after the delay it asked for, when it said
    /// (Microsoft Graph's 503 and 504 carry `Retry-After`).
    #[error("{provider} is unavailable ({status}){}: {body}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    Unavailable {
        provider: Provider,
        status: u16,
        retry_after: Option<Duration>,
        body: String,
    },
    /// Retryable, after the delay the provider asked for when it said so.
    #[error("{provider} rate limit hit ({status}){}: {body}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        provider: Provider,
        status: u16,
        retry_after: Option<Duration>,
        body: String,
    },
    /// Fatal: the provider refused the request as invalid (400/422); retrying sends the same
    /// bad request. Carries the provider's own message.
    #[error("{provider} rejected the request ({status}): {body}")]
    Rejected {
        provider: Provider,
        status: u16,
        body: String,
    },
    /// Fatal: a resource we expected to exist does not (an unexpected 404).
    #[error("{provider} has no such resource: {body}")]
    NotFound { provider: Provider, body: String },
    /// Fatal: our credentials were refused; a person must fix the configuration.
    #[error("{provider} refused our credentials ({status}): {body}")]
    AuthRejected {
        provider: Provider,
        status: u16,
        body: String,
    },
    /// Fatal: the OAuth grant of `account` was revoked or expired (`invalid_grant`); a person
    /// must re-authorise the account before any call on its behalf can succeed.
    #[error("{provider} grant of account {account:?} was revoked; re-authorise it: {body}")]
    GrantRevoked {
        provider: Provider,
        account: String,
        body: String,
    },
    /// Retryable: a 2xx answer we could not understand (a proxy's error page, a truncated body).
    #[error("{provider} answered something we could not read: {message}")]
    BadResponse { provider: Provider, message: String },
}

impl ProviderError {
    /// Stable name of this kind of failure, as it appears in the Temporal UI and in
    /// `non_retryable_error_types`.
    pub fn type_name(&self) -> &'static str {
        match self {
            ProviderError::Transport { .. } => "ProviderTransport",
            ProviderError::Unavailable { .. } => "ProviderUnavailable",
            ProviderError::RateLimited { .. } => "ProviderRateLimited",
            ProviderError::Rejected { .. } => "ProviderRejected",
            ProviderError::NotFound { .. } => "ProviderNotFound",
            ProviderError::AuthRejected { .. } => "ProviderAuthRejected",
            ProviderError::GrantRevoked { .. } => "GrantRevoked",
            ProviderError::BadResponse { .. } => "ProviderBadResponse",
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ProviderError::Transport { .. }
                | ProviderError::Unavailable { .. }
                | ProviderError::RateLimited { .. }
                | ProviderError::BadResponse { .. }
        )
    }

    /// Classifies a non-2xx answer. `retry_after` is the delay the provider asked for, already
    /// read from whichever header it uses.
    pub fn from_status(
        provider: Provider,
        status: u16,
        retry_after: Option<Duration>,
        body: String,
    ) -> Self {
        match status {
            429 => ProviderError::RateLimited {
                provider,
                status,
                retry_after,
                body,
            },
            401 | 403 => ProviderError::AuthRejected {
                provider,
                status,
                body,
            },
            404 => ProviderError::NotFound { provider, body },
            500..=599 => ProviderError::Unavailable {
                provider,
                status,
                retry_after,
                body,
            },
            _ => ProviderError::Rejected {
                provider,
                status,
                body,
            },
        }
    }

    pub fn from_transport(provider: Provider, err: &reqwest::Error) -> Self {
        // The chain of sources says *why* (DNS, refused, reset); the top level alone does not.
        let mut message = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        ProviderError::Transport { provider, message }
    }
}

impl ProviderError {
    /// The Temporal failure for this error: typed, marked non-retryable when no retry can help,
    /// and carrying the provider's requested delay as the next retry interval.
    // Not a `From` impl: the SDK's blanket `From<E: Into<anyhow::Error>>` would collide with it.
    pub fn into_activity_error(self) -> ActivityError {
        let type_name = self.type_name();
        let non_retryable = !self.is_retryable();
        let next_retry_delay = match &self {
            ProviderError::RateLimited { retry_after, .. }
            | ProviderError::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        };
        ApplicationFailure::builder(self)
            .type_name(type_name.to_owned())
            .non_retryable(non_retryable)
            .maybe_next_retry_delay(next_retry_delay)
            .build()
            .into()
    }
}

/// The delay a provider asked for, from whichever header it uses: `Retry-After` seconds
/// (Google, generic), SendGrid's `X-RateLimit-Reset` (unix time of the window's end), or
/// HubSpot's `X-HubSpot-RateLimit-Interval-Milliseconds` when nothing remains of the window.
pub fn retry_delay(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    retry_after_header(headers)
        .or_else(|| rate_limit_reset(headers))
        .or_else(|| hubspot_interval(headers))
}

/// SendGrid announces the end of a rate-limit window as a unix time in `X-RateLimit-Reset`.
fn rate_limit_reset(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let reset: i64 = header_str(headers, "x-ratelimit-reset")?.parse().ok()?;
    let now = chrono::Utc::now().timestamp();
    Some(Duration::from_secs(
        reset.saturating_sub(now).clamp(1, 3600) as u64,
    ))
}

/// HubSpot's rolling window: with nothing remaining, waiting one interval is always enough.
fn hubspot_interval(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let interval: u64 = header_str(headers, "x-hubspot-ratelimit-interval-milliseconds")?
        .parse()
        .ok()?;
    let remaining = header_str(headers, "x-hubspot-ratelimit-remaining")
        .and_then(|r| r.parse::<u64>().ok())
        .unwrap_or(0);
    (remaining == 0).then(|| Duration::from_millis(interval.max(1000)))
}

fn header_str<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> Option<&'a str> {
    Some(headers.get(name)?.to_str().ok()?.trim())
}

/// Reads `Retry-After` as delay-seconds (what every provider we call sends).
pub fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_retryable_and_fatal_kinds() {
        let cases = [
            (429, "ProviderRateLimited", true),
            (500, "ProviderUnavailable", true),
            (503, "ProviderUnavailable", true),
            (400, "ProviderRejected", false),
            (422, "ProviderRejected", false),
            (404, "ProviderNotFound", false),
            (401, "ProviderAuthRejected", false),
        ];
        for (status, type_name, retryable) in cases {
            let err = ProviderError::from_status(Provider::SendGrid, status, None, String::new());
            assert_eq!(err.type_name(), type_name, "status {status}");
            assert_eq!(err.is_retryable(), retryable, "status {status}");
        }
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after_header(&headers), Some(Duration::from_secs(7)));
        headers.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after_header(&headers), None);
    }

    #[test]
    fn provider_specific_rate_limit_headers_give_a_delay() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "x-hubspot-ratelimit-interval-milliseconds",
            "10000".parse().unwrap(),
        );
        headers.insert("x-hubspot-ratelimit-remaining", "0".parse().unwrap());
        assert_eq!(retry_delay(&headers), Some(Duration::from_secs(10)));
        let mut headers = reqwest::header::HeaderMap::new();
        let reset = chrono::Utc::now().timestamp() + 30;
        headers.insert("x-ratelimit-reset", reset.to_string().parse().unwrap());
        let delay = retry_delay(&headers).unwrap();
        assert!((29..=30).contains(&delay.as_secs()), "{delay:?}");
    }

    #[test]
    fn a_revoked_grant_is_fatal_and_named() {
        let err = ProviderError::GrantRevoked {
            provider: Provider::GoogleOAuth,
            account: "default".into(),
            body: String::new(),
        };
        assert_eq!(err.type_name(), "GrantRevoked");
        assert!(!err.is_retryable());
        let ActivityError::Application(failure) = err.into_activity_error() else {
            panic!("not an application failure");
        };
        assert!(failure.is_non_retryable());
        assert_eq!(failure.type_name(), Some("GrantRevoked"));
    }
}
