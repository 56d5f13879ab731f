//! Calendly's non-2xx answers as [`ProviderError`]s.
//!
//! Calendly errors are `{title, message, details?}`. The generic status mapping applies (401
//! and 403 `AuthRejected`, 404 `NotFound`, 429 `RateLimited`, 5xx `Unavailable`, other 4xx
//! `Rejected`); what is Calendly's own is the rate-limit delay: `Retry-After` when sent,
//! otherwise `X-RateLimit-Reset`, which Calendly gives as *seconds until* the window resets
//! (SendGrid uses the same header for a unix time; a value that large is read that way).

use std::time::Duration;

use reqwest::header::HeaderMap;

use super::model::PROVIDER;
use crate::{
    error::{ProviderError, retry_after_header},
    http::Answer,
};

/// Anything above this is a unix time, not a delay.
const UNIX_TIME_FLOOR: u64 = 1_000_000_000;

/// The delay Calendly asked for.
pub fn calendly_retry_delay(headers: &HeaderMap) -> Option<Duration> {
    retry_after_header(headers).or_else(|| {
        let raw: u64 = headers
            .get("x-ratelimit-reset")?
            .to_str()
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let seconds = if raw >= UNIX_TIME_FLOOR {
            raw.saturating_sub(chrono::Utc::now().timestamp().max(0) as u64)
        } else {
            raw
        };
        Some(Duration::from_secs(seconds.clamp(1, 3600)))
    })
}

/// Classifies a non-2xx Calendly answer.
pub fn classify(answer: Answer) -> ProviderError {
    let delay = calendly_retry_delay(&answer.headers);
    ProviderError::from_status(PROVIDER, answer.status, delay, answer.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, headers: &[(&'static str, &str)]) -> Answer {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        Answer {
            provider: PROVIDER,
            status,
            headers: map,
            body: r#"{"title":"Too Many Requests","message":"slow down"}"#.into(),
        }
    }

    #[test]
    fn statuses_map_to_the_shared_kinds() {
        for (status, kind) in [
            (401, "ProviderAuthRejected"),
            (403, "ProviderAuthRejected"),
            (404, "ProviderNotFound"),
            (400, "ProviderRejected"),
            (429, "ProviderRateLimited"),
            (500, "ProviderUnavailable"),
            (503, "ProviderUnavailable"),
        ] {
            assert_eq!(classify(answer(status, &[])).type_name(), kind, "{status}");
        }
    }

    #[test]
    fn rate_limit_delay_prefers_retry_after_then_the_reset_seconds() {
        fn delay(headers: &[(&'static str, &str)]) -> Option<Duration> {
            match classify(answer(429, headers)) {
                ProviderError::RateLimited { retry_after, .. } => retry_after,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            delay(&[("retry-after", "7"), ("x-ratelimit-reset", "30")]),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            delay(&[("x-ratelimit-reset", "30")]),
            Some(Duration::from_secs(30))
        );
        let unix = (chrono::Utc::now().timestamp() + 20).to_string();
        let from_unix = delay(&[("x-ratelimit-reset", unix.as_str())]).unwrap();
        assert!((19..=20).contains(&from_unix.as_secs()), "{from_unix:?}");
        assert_eq!(delay(&[]), None);
    }
}
