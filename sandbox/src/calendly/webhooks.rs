//! Calendly's side of a webhook subscription: signed deliveries, retried with exponential
//! backoff on any non-2xx answer until the retry horizon, after which Calendly gives up
//! and disables the subscription.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::state::Shared;
use crate::time;
use crate::webhook_retries::{self, Sender};

pub const SIGNATURE_HEADER: &str = "Calendly-Webhook-Signature";

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`, Calendly's signature header.
pub fn signature_header(signing_key: &str, timestamp: i64, body: &str) -> String {
    format!(
        "t={timestamp},v1={}",
        signature(signing_key, timestamp, body)
    )
}

/// The `v1` part: hex HMAC-SHA256 over `"{timestamp}.{body}"`.
pub fn signature(signing_key: &str, timestamp: i64, body: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(signing_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its first attempt or for a retry.
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Gave up (retry horizon passed, or a one-shot delivery failed).
    Failed,
    /// Recorded but deliberately not sent (the control call asked so).
    Suppressed,
    /// Could not be sent: no target configured, or the subscription is disabled.
    NotSent,
}

/// One POST to the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    pub at: DateTime<Utc>,
    pub target: String,
    /// `None` when no HTTP answer came (connection refused, timeout).
    pub status: Option<u16>,
    pub error: Option<String>,
    pub signature: Option<String>,
    pub duration_ms: u64,
}

/// Overrides of the signature for replayed raw bodies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureOverride {
    /// Header value sent verbatim.
    pub header: Option<String>,
    /// Sign with this timestamp instead of the send time (stale-signature tests).
    pub timestamp: Option<i64>,
    /// Sign with this key instead of the subscription's.
    pub signing_key: Option<String>,
    /// Send no signature header at all.
    pub omit: bool,
}

/// A webhook delivery and every attempt made for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub id: String,
    /// `invitee.created`, `invitee.canceled`, or what a raw body says.
    pub event: String,
    pub invitee_uuid: Option<String>,
    /// The exact body sent (the signature covers these bytes).
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub state: DeliveryState,
    pub attempts: Vec<DeliveryAttempt>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Set on a redelivery: the delivery whose body it repeats.
    pub redelivery_of: Option<String>,
    /// Whether failures are retried.
    pub retry: bool,
    #[serde(default)]
    pub signature_override: Option<SignatureOverride>,
}

impl WebhookDelivery {
    pub fn new(event: &str, invitee_uuid: Option<String>, body: String, send: bool) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            event: event.to_owned(),
            invitee_uuid,
            body,
            created_at: time::now(),
            state: if send {
                DeliveryState::Pending
            } else {
                DeliveryState::Suppressed
            },
            attempts: Vec::new(),
            next_attempt_at: None,
            redelivery_of: None,
            retry: true,
            signature_override: None,
        }
    }
}

/// Replay of an arbitrary body (`POST /_sandbox/calendly/webhooks/raw`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RawWebhook {
    pub body: String,
    /// `Calendly-Webhook-Signature` value sent verbatim; default: signed properly.
    pub signature: Option<String>,
    /// Sign with this unix timestamp (e.g. an hour ago, to test staleness checks).
    pub timestamp: Option<i64>,
    /// Sign with this key instead of the subscription's.
    pub signing_key: Option<String>,
    /// Send without any signature header.
    pub omit_signature: bool,
    /// Retry on failure like a normal delivery (default: one attempt only).
    pub retry: bool,
}

/// Delay before retry number `failures` (1-based): base · 2^(failures-1), capped.
pub fn backoff(base: Duration, cap: Duration, failures: usize) -> Duration {
    let exponent = u32::try_from(failures.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(30);
    base.saturating_mul(1u32 << exponent).min(cap)
}

struct Send {
    target: String,
    body: String,
    signature: Option<String>,
}

/// Calendly's webhook sender, for [`crate::webhook_retries`].
pub struct CalendlyWebhooks;

impl Sender for CalendlyWebhooks {
    /// Makes one attempt; returns the delay before the next one, if any is due.
    async fn attempt(app: &Shared, id: &str) -> Option<Duration> {
        let now = time::now();
        let send = app.change(|p| {
            let calendly = &mut p.calendly;
            let subscription = calendly.subscription.clone();
            let delivery = calendly.delivery_mut(id)?;
            if delivery.state != DeliveryState::Pending {
                return None;
            }
            let target = match (&subscription.target, subscription.enabled) {
                (Some(target), true) => target.clone(),
                _ => {
                    delivery.state = DeliveryState::NotSent;
                    delivery.next_attempt_at = None;
                    return None;
                }
            };
            let over = delivery.signature_override.clone().unwrap_or_default();
            let signature = if over.omit {
                None
            } else if let Some(header) = over.header {
                Some(header)
            } else {
                let key = over.signing_key.unwrap_or(subscription.signing_key);
                Some(signature_header(
                    &key,
                    over.timestamp.unwrap_or(now.timestamp()),
                    &delivery.body,
                ))
            };
            Some(Send {
                target,
                body: delivery.body.clone(),
                signature,
            })
        })?;

        let request = app
            .http
            .post(&send.target)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(send.body);
        let signature = send.signature.as_deref().map(|s| (SIGNATURE_HEADER, s));
        let (status, error, duration_ms) = webhook_retries::post(request, signature).await;
        tracing::info!(delivery = id, target = %send.target, ?status, ?error, "calendly webhook attempt");

        let config = &app.config;
        app.change(|p| {
            let calendly = &mut p.calendly;
            let delivery = calendly.delivery_mut(id)?;
            let finished = time::now();
            delivery.attempts.push(DeliveryAttempt {
                at: now,
                target: send.target,
                status,
                error,
                signature: send.signature,
                duration_ms,
            });
            delivery.next_attempt_at = None;
            if status.is_some_and(|s| (200..300).contains(&s)) {
                delivery.state = DeliveryState::Delivered;
                return None;
            }
            if !delivery.retry {
                delivery.state = DeliveryState::Failed;
                return None;
            }
            let delay = backoff(
                config.webhook_retry_base,
                config.webhook_retry_cap,
                delivery.attempts.len(),
            );
            let horizon = chrono::Duration::from_std(config.webhook_retry_horizon)
                .unwrap_or(chrono::Duration::MAX);
            let next =
                finished + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
            if next > delivery.created_at + horizon {
                delivery.state = DeliveryState::Failed;
                tracing::warn!(
                    delivery = id,
                    "calendly gives up on the webhook and disables the subscription"
                );
                calendly.subscription.enabled = false;
                return None;
            }
            delivery.next_attempt_at = Some(next);
            Some(delay)
        })
    }

    fn pending(app: &Shared) -> Vec<(String, Option<DateTime<Utc>>)> {
        app.read(|p| {
            let waiting = p
                .calendly
                .deliveries
                .iter()
                .filter(|d| d.state == DeliveryState::Pending);
            waiting.map(|d| (d.id.clone(), d.next_attempt_at)).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(10);
        let delays: Vec<u64> = (1..=6).map(|n| backoff(base, cap, n).as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 10, 10]);
        assert_eq!(backoff(base, Duration::MAX, 200), base * (1 << 30));
    }

    #[test]
    fn signature_is_hmac_of_timestamp_dot_body() {
        // Known-answer: HMAC-SHA256(key="key", msg="1.{}").
        let header = signature_header("key", 1, "{}");
        assert!(header.starts_with("t=1,v1="));
        assert_eq!(header.len(), "t=1,v1=".len() + 64);
        assert_eq!(signature("key", 1, "{}"), signature("key", 1, "{}"));
        assert_ne!(signature("key", 1, "{}"), signature("key", 2, "{}"));
    }
}
