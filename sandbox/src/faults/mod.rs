//! Fault rules set through the control API: injected responses, added latency, dropped
//! connections and chaos mode. Rules match a request by optional method and path prefix
//! (the path as the sandbox sees it, e.g. `/google/calendar/v3/calendars/primary/events`).

mod middleware;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::rng::SplitMix64;

pub use middleware::{ConnectionKill, layer};

/// Where every Twilio REST call goes (`POST` there is a message send).
const TWILIO_MESSAGES_PREFIX: &str = "/twilio/2010-04-01/Accounts/";

fn one() -> u32 {
    1
}

fn matches(method: Option<&str>, prefix: &str, req_method: &str, req_path: &str) -> bool {
    method.is_none_or(|m| m.eq_ignore_ascii_case(req_method)) && req_path.starts_with(prefix)
}

/// Answer the next `times` matching requests with this response instead of the provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Injection {
    /// HTTP method to match; `None` matches any.
    #[serde(default)]
    pub method: Option<String>,
    pub path_prefix: String,
    #[serde(default = "one")]
    pub times: u32,
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<InjectedBody>,
}

/// Body of an injected response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InjectedBody {
    /// Sent as `application/json`.
    Json(Value),
    /// Sent verbatim as `text/plain` (unless a `Content-Type` header is given).
    Text(String),
}

impl FaultRule for Injection {
    fn list(faults: &mut Faults) -> &mut Vec<Self> {
        &mut faults.injections
    }

    fn check(&self) -> Result<(), &'static str> {
        StatusCode::from_u16(self.status)
            .map(drop)
            .map_err(|_| "status must be an HTTP status code")
    }
}

impl Injection {
    /// Empty-bodied `status` for the next matching request. `method` `""` or `"*"` matches any.
    pub fn new(method: &str, path_prefix: impl Into<String>, status: u16) -> Self {
        Self {
            method: (!method.is_empty() && method != "*").then(|| method.to_ascii_uppercase()),
            path_prefix: path_prefix.into(),
            times: 1,
            status,
            headers: BTreeMap::new(),
            body: None,
        }
    }

    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    pub fn retry_after(self, seconds: u64) -> Self {
        self.header("Retry-After", seconds.to_string())
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(InjectedBody::Json(body));
        self
    }

    pub fn text(mut self, body: impl Into<String>) -> Self {
        self.body = Some(InjectedBody::Text(body.into()));
        self
    }

    /// A Google API error (`{"error":{"code","message","errors":[...]}}`), e.g. 403
    /// `rateLimitExceeded`, 500 `backendError`, 401 `authError`.
    pub fn google_error(
        method: &str,
        path_prefix: &str,
        status: u16,
        reason: &str,
        message: &str,
    ) -> Self {
        Self::new(method, path_prefix, status)
            .json(crate::google_calendar::error::body(status, reason, message))
    }

    /// A Google OAuth token-endpoint error (`{"error","error_description"}`).
    pub fn oauth_error(status: u16, error: &str, description: &str) -> Self {
        Self::new("POST", "/google/oauth2/token", status)
            .json(crate::google_oauth::error_body(error, description))
    }

    /// A HubSpot error (`{"status":"error","message","correlationId","category"}`).
    pub fn hubspot_error(
        method: &str,
        path_prefix: &str,
        status: u16,
        category: &str,
        message: &str,
    ) -> Self {
        Self::new(method, path_prefix, status).json(crate::hubspot::error::body(category, message))
    }

    /// HubSpot's 429 for the ten-second rolling limit, with its rate-limit headers.
    pub fn hubspot_rate_limited(method: &str, path_prefix: &str) -> Self {
        Self::new(method, path_prefix, 429)
            .json(crate::hubspot::error::rate_limit_body())
            .header("X-HubSpot-RateLimit-Max", "100")
            .header("X-HubSpot-RateLimit-Remaining", "0")
            .header("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
    }

    /// A SendGrid error (`{"errors":[{"message","field","help"}]}`).
    pub fn sendgrid_error(status: u16, message: &str) -> Self {
        Self::new("POST", "/sendgrid/v3/mail/send", status)
            .json(crate::sendgrid::error::body(message, None))
    }

    /// A Calendly error (`{"title","message"}`).
    pub fn calendly_error(
        method: &str,
        path_prefix: &str,
        status: u16,
        title: &str,
        message: &str,
    ) -> Self {
        Self::new(method, path_prefix, status).json(crate::calendly::error::body(title, message))
    }

    /// A Microsoft Graph error (`{"error":{"code","message","innerError":{...}}}`), e.g. 503
    /// `serviceNotAvailable`, 504 `gatewayTimeout`, 401 `InvalidAuthenticationToken`.
    pub fn graph_error(
        method: &str,
        path_prefix: &str,
        status: u16,
        code: &str,
        message: &str,
    ) -> Self {
        Self::new(method, path_prefix, status)
            .json(crate::microsoft::error::body(code, message))
            .header("Content-Type", crate::microsoft::error::ODATA_JSON)
    }

    /// Graph throttling: 429 `TooManyRequests` "Please retry again later." with
    /// `Retry-After: <seconds>`.
    pub fn graph_throttled(method: &str, path_prefix: &str, retry_after: u64) -> Self {
        Self::graph_error(
            method,
            path_prefix,
            429,
            "TooManyRequests",
            "Please retry again later.",
        )
        .retry_after(retry_after)
    }

    /// A Microsoft identity platform token error (`{"error","error_description":"AADSTS<N>:
    /// ...","error_codes":[N],...}`), for any tenant's token endpoint.
    pub fn microsoft_login_error(status: u16, error: &str, aadsts: u32, text: &str) -> Self {
        Self::new("POST", "/microsoft/login/", status)
            .json(crate::microsoft::login::error_body(error, aadsts, text))
    }

    /// A Twilio REST error (`{"code","message","more_info","status"}`) for any Twilio call,
    /// e.g. 400 21610 on sends to make a number look unsubscribed for a while.
    pub fn twilio_api_error(
        method: &str,
        path_prefix: &str,
        status: u16,
        code: u32,
        message: &str,
    ) -> Self {
        Self::new(method, path_prefix, status)
            .json(crate::twilio::error::body(status, code, message))
            .header("Content-Type", "application/json; charset=utf-8")
    }

    /// The next `times` message sends answer `status` in Twilio's shape: 429 code 20429
    /// "Too Many Requests", 503 code 20503, anything else code 20500. Twilio sends no
    /// `Retry-After`.
    pub fn twilio_error(status: u16, times: u32) -> Self {
        let (code, message) = crate::twilio::error::transient(status);
        Self::twilio_api_error("POST", TWILIO_MESSAGES_PREFIX, status, code, message).times(times)
    }

    /// The next `times` message sends answer 429 code 20429 "Too Many Requests" (no
    /// `Retry-After`, as Twilio's).
    pub fn twilio_throttled(times: u32) -> Self {
        Self::twilio_error(429, times)
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.times > 0 && matches(self.method.as_deref(), &self.path_prefix, method, path)
    }

    pub(crate) fn to_response(&self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (content_type, body) = match &self.body {
            Some(InjectedBody::Json(v)) => (
                Some("application/json; charset=UTF-8"),
                Body::from(v.to_string()),
            ),
            Some(InjectedBody::Text(t)) => {
                (Some("text/plain; charset=utf-8"), Body::from(t.clone()))
            }
            None => (None, Body::empty()),
        };
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        if let Some(ct) = content_type {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        for (name, value) in &self.headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value.as_str()),
            ) {
                headers.insert(n, v);
            }
        }
        response
    }
}

/// Delay matching requests by `delay_ms` before they are answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    #[serde(default)]
    pub method: Option<String>,
    pub path_prefix: String,
    pub delay_ms: u64,
    /// How many requests to delay; `None` until the faults are cleared.
    #[serde(default)]
    pub times: Option<u32>,
}

impl FaultRule for Latency {
    fn list(faults: &mut Faults) -> &mut Vec<Self> {
        &mut faults.latencies
    }
}

impl Latency {
    pub fn new(method: &str, path_prefix: impl Into<String>, delay: Duration) -> Self {
        Self {
            method: (!method.is_empty() && method != "*").then(|| method.to_ascii_uppercase()),
            path_prefix: path_prefix.into(),
            delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            times: None,
        }
    }

    pub fn times(mut self, times: u32) -> Self {
        self.times = Some(times);
        self
    }
}

/// Close the connection of the next `times` matching requests without any response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DropConnections {
    #[serde(default)]
    pub method: Option<String>,
    pub path_prefix: String,
    #[serde(default = "one")]
    pub times: u32,
}

impl FaultRule for DropConnections {
    fn list(faults: &mut Faults) -> &mut Vec<Self> {
        &mut faults.drops
    }
}

impl DropConnections {
    pub fn new(method: &str, path_prefix: impl Into<String>, times: u32) -> Self {
        Self {
            method: (!method.is_empty() && method != "*").then(|| method.to_ascii_uppercase()),
            path_prefix: path_prefix.into(),
            times,
        }
    }
}

/// Random faults on provider requests. Each rate is a probability in `[0, 1]`;
/// errors and 429s are exclusive, latency is rolled independently on top.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChaosConfig {
    /// Share of requests answered with a provider-shaped 500 or 503.
    pub server_error_rate: f64,
    /// Share answered with a provider-shaped 429 carrying `Retry-After` (but Twilio's, which
    /// carries none, as the real one).
    pub rate_limit_rate: f64,
    /// Share delayed by `latency_ms`.
    pub latency_rate: f64,
    pub latency_ms: u64,
    pub retry_after_secs: u64,
    /// Only requests under this path prefix; `None`: every provider route.
    pub path_prefix: Option<String>,
    /// Seed for a reproducible fault sequence.
    pub seed: Option<u64>,
}

impl Default for ChaosConfig {
    fn default() -> Self {
        Self {
            server_error_rate: 0.0,
            rate_limit_rate: 0.0,
            latency_rate: 0.0,
            latency_ms: 1000,
            retry_after_secs: 1,
            path_prefix: None,
            seed: None,
        }
    }
}

/// A kind of fault rule, kept in a list of its own.
pub trait FaultRule: DeserializeOwned + Send + 'static {
    fn list(faults: &mut Faults) -> &mut Vec<Self>;

    /// Why the rule cannot be added, if it cannot.
    fn check(&self) -> Result<(), &'static str> {
        Ok(())
    }
}

/// Every active fault rule (`GET /_sandbox/faults`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    pub injections: Vec<Injection>,
    pub latencies: Vec<Latency>,
    pub drops: Vec<DropConnections>,
    pub chaos: Option<ChaosConfig>,
}

/// What the fault layer does with one request.
#[derive(Debug)]
pub(crate) enum Action {
    Pass,
    Drop,
    Inject(Box<Injection>),
    ChaosServerError(u16),
    ChaosRateLimited(u64),
}

impl Faults {
    /// Decides the fate of one request, consuming counted rules.
    pub(crate) fn plan(
        &mut self,
        method: &str,
        path: &str,
        rng: &mut SplitMix64,
    ) -> (Duration, Action) {
        let mut delay = Duration::ZERO;
        if let Some(i) = self.latencies.iter().position(|l| {
            l.times != Some(0) && matches(l.method.as_deref(), &l.path_prefix, method, path)
        }) {
            let rule = &mut self.latencies[i];
            delay += Duration::from_millis(rule.delay_ms);
            if let Some(times) = rule.times.as_mut() {
                *times -= 1;
                if *times == 0 {
                    self.latencies.remove(i);
                }
            }
        }

        if let Some(i) = self
            .drops
            .iter()
            .position(|d| d.times > 0 && matches(d.method.as_deref(), &d.path_prefix, method, path))
        {
            self.drops[i].times -= 1;
            if self.drops[i].times == 0 {
                self.drops.remove(i);
            }
            return (delay, Action::Drop);
        }

        if let Some(i) = self
            .injections
            .iter()
            .position(|inj| inj.matches(method, path))
        {
            let injection = self.injections[i].clone();
            self.injections[i].times -= 1;
            if self.injections[i].times == 0 {
                self.injections.remove(i);
            }
            return (delay, Action::Inject(Box::new(injection)));
        }

        let Some(chaos) = &self.chaos else {
            return (delay, Action::Pass);
        };
        if chaos
            .path_prefix
            .as_deref()
            .is_some_and(|p| !path.starts_with(p))
        {
            return (delay, Action::Pass);
        }
        if rng.next_f64() < chaos.latency_rate {
            delay += Duration::from_millis(chaos.latency_ms);
        }
        let roll = rng.next_f64();
        let action = if roll < chaos.server_error_rate {
            // Alternate the two statuses real providers use for transient trouble.
            Action::ChaosServerError(if rng.next_u64().is_multiple_of(2) {
                500
            } else {
                503
            })
        } else if roll < chaos.server_error_rate + chaos.rate_limit_rate {
            Action::ChaosRateLimited(chaos.retry_after_secs)
        } else {
            Action::Pass
        };
        (delay, action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injections_are_consumed_in_order_and_match_method_and_prefix() {
        let mut faults = Faults {
            injections: vec![Injection::new("POST", "/a", 500).times(2)],
            ..Faults::default()
        };
        let mut rng = SplitMix64::seeded(1);
        assert!(matches!(
            faults.plan("GET", "/a/b", &mut rng).1,
            Action::Pass
        ));
        assert!(matches!(
            faults.plan("POST", "/b", &mut rng).1,
            Action::Pass
        ));
        assert!(matches!(
            faults.plan("post", "/a/b", &mut rng).1,
            Action::Inject(_)
        ));
        assert!(matches!(
            faults.plan("POST", "/a", &mut rng).1,
            Action::Inject(_)
        ));
        assert!(matches!(
            faults.plan("POST", "/a", &mut rng).1,
            Action::Pass
        ));
        assert!(faults.injections.is_empty());
    }

    #[test]
    fn counted_latency_expires_and_drops_win_over_injections() {
        let mut faults = Faults {
            injections: vec![Injection::new("", "/x", 500)],
            latencies: vec![Latency::new("*", "/x", Duration::from_millis(5)).times(1)],
            drops: vec![DropConnections::new("", "/x", 1)],
            chaos: None,
        };
        let mut rng = SplitMix64::seeded(1);
        let (delay, action) = faults.plan("GET", "/x", &mut rng);
        assert_eq!(delay, Duration::from_millis(5));
        assert!(matches!(action, Action::Drop));
        let (delay, action) = faults.plan("GET", "/x", &mut rng);
        assert_eq!(delay, Duration::ZERO);
        assert!(matches!(action, Action::Inject(_)));
    }

    #[test]
    fn chaos_rates_are_respected_roughly() {
        let mut faults = Faults {
            chaos: Some(ChaosConfig {
                server_error_rate: 0.3,
                rate_limit_rate: 0.2,
                ..ChaosConfig::default()
            }),
            ..Faults::default()
        };
        let mut rng = SplitMix64::seeded(42);
        let (mut errors, mut limited) = (0, 0);
        for _ in 0..10_000 {
            match faults.plan("GET", "/google/x", &mut rng).1 {
                Action::ChaosServerError(_) => errors += 1,
                Action::ChaosRateLimited(_) => limited += 1,
                _ => {}
            }
        }
        assert!((2700..3300).contains(&errors), "{errors}");
        assert!((1700..2300).contains(&limited), "{limited}");
    }
}
