//! Acuity's webhooks: a form POST (`action=appointment.scheduled&id=..&calendarID=..&
//! appointmentTypeID=..`) to the account's webhook URL, signed with `X-Acuity-Signature`
//! (base64 HMAC-SHA256 of the raw body, keyed with the API key). The body only says *that*
//! an appointment changed; receivers read the appointment itself.
//!
//! A non-2xx answer, or none, is retried with a doubling delay a few times, as Acuity does.
//! Control calls can send a webhook several times, hold deliveries until a release (in order
//! or reversed), or sign it wrongly, so receivers can be tested against each.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use reqwest::header;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::AcuityState;
use super::model::AcuityAppointment;
use crate::config::SandboxConfig;
use crate::state::Shared;
use crate::time;
use crate::webhook_retries::{self, Sender};

pub const SIGNATURE_HEADER: &str = "X-Acuity-Signature";
const USER_AGENT: &str = "AcuityScheduling-Webhooks (booking-sandbox)";
/// Longest delay between two attempts of one delivery.
const RETRY_CAP: Duration = Duration::from_secs(60);
/// The key a `"signature": "bad"` delivery is signed with: valid base64, wrong HMAC.
const WRONG_KEY: &str = "not-the-acuity-api-key";

/// `X-Acuity-Signature` of `body`: standard base64 (padded) of HMAC-SHA256 keyed with the
/// API key.
pub fn signature(api_key: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(api_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    data_encoding::BASE64.encode(&mac.finalize().into_bytes())
}

/// The form body Acuity sends for `action` on `appointment`, fields in Acuity's order.
pub fn form_body(action: &str, appointment: &AcuityAppointment) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("action", action)
        .append_pair("id", &appointment.id.to_string())
        .append_pair("calendarID", &appointment.calendar_id.to_string())
        .append_pair(
            "appointmentTypeID",
            &appointment.appointment_type_id.to_string(),
        )
        .finish()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcuityDeliveryState {
    /// Recorded, waiting for `POST /_sandbox/acuity/webhooks/release`.
    Held,
    /// Waiting for its first attempt or for a retry.
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Every attempt failed.
    Failed,
    /// No webhook URL was configured when it was due: nothing was sent.
    NotSent,
}

/// How a delivery is signed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcuitySignature {
    #[default]
    Valid,
    /// Signed with another key: well-formed, but it does not verify.
    Bad,
    /// Sent without `X-Acuity-Signature`.
    Missing,
}

fn yes() -> bool {
    true
}

fn one() -> u32 {
    1
}

/// The webhook options every control change takes, in the same JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcuityDeliveryControls {
    /// `false`: change silently, no webhook at all (a missed webhook that reconciliation
    /// has to find).
    #[serde(default = "yes")]
    pub webhook: bool,
    /// How many times the same webhook is sent (Acuity sometimes sends one twice).
    #[serde(default = "one")]
    pub deliveries: u32,
    /// Record the webhook but send it only on `POST /_sandbox/acuity/webhooks/release`.
    #[serde(default)]
    pub hold: bool,
    #[serde(default)]
    pub signature: AcuitySignature,
}

impl Default for AcuityDeliveryControls {
    fn default() -> Self {
        Self {
            webhook: true,
            deliveries: 1,
            hold: false,
            signature: AcuitySignature::Valid,
        }
    }
}

/// Most copies one change may send.
pub const MAX_DELIVERIES: u32 = 10;

/// One POST to the webhook URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcuityWebhookAttempt {
    pub at: DateTime<Utc>,
    pub url: String,
    /// `None` when no HTTP answer came (connection refused, timeout).
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// One webhook and every attempt made to deliver it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcuityWebhookDelivery {
    pub id: String,
    /// `appointment.scheduled`, `appointment.rescheduled`, `appointment.canceled` or
    /// `appointment.changed`.
    pub action: String,
    pub appointment_id: u64,
    /// The exact form body sent (the signature covers these bytes).
    pub body: String,
    /// The `X-Acuity-Signature` value sent; `None`: sent without one.
    pub signature: Option<String>,
    pub signature_kind: AcuitySignature,
    pub state: AcuityDeliveryState,
    /// 0 for the first copy, 1.. for the extra copies of `deliveries`.
    pub copy: u32,
    /// Set on a redelivery: the delivery whose body it repeats.
    pub redelivery_of: Option<String>,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub attempts: Vec<AcuityWebhookAttempt>,
}

fn signed(config: &SandboxConfig, kind: AcuitySignature, body: &str) -> Option<String> {
    match kind {
        AcuitySignature::Valid => Some(signature(&config.acuity_api_key, body.as_bytes())),
        AcuitySignature::Bad => Some(signature(WRONG_KEY, body.as_bytes())),
        AcuitySignature::Missing => None,
    }
}

/// Records the webhooks of one change; returns the ids to send now (held ones wait).
pub fn record(
    state: &mut AcuityState,
    config: &SandboxConfig,
    action: &str,
    appointment: &AcuityAppointment,
    controls: AcuityDeliveryControls,
) -> Vec<String> {
    if !controls.webhook {
        return Vec::new();
    }
    let body = form_body(action, appointment);
    let signature = signed(config, controls.signature, &body);
    let now = time::now();
    let mut send = Vec::new();
    for copy in 0..controls.deliveries {
        let id = uuid::Uuid::new_v4().to_string();
        state.deliveries.push(AcuityWebhookDelivery {
            id: id.clone(),
            action: action.to_owned(),
            appointment_id: appointment.id,
            body: body.clone(),
            signature: signature.clone(),
            signature_kind: controls.signature,
            state: if controls.hold {
                AcuityDeliveryState::Held
            } else {
                AcuityDeliveryState::Pending
            },
            copy,
            redelivery_of: None,
            created_at: now,
            next_attempt_at: None,
            attempts: Vec::new(),
        });
        if !controls.hold {
            send.push(id);
        }
    }
    send
}

/// Order of a release.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseOrder {
    /// Oldest held first.
    #[default]
    Fifo,
    /// Newest held first.
    Reverse,
}

/// Marks every held delivery pending; returns their ids in sending order.
pub fn release(state: &mut AcuityState, order: ReleaseOrder) -> Vec<String> {
    let mut ids: Vec<String> = state
        .deliveries
        .iter_mut()
        .filter(|d| d.state == AcuityDeliveryState::Held)
        .map(|d| {
            d.state = AcuityDeliveryState::Pending;
            d.id.clone()
        })
        .collect();
    if order == ReleaseOrder::Reverse {
        ids.reverse();
    }
    ids
}

/// A new pending delivery repeating `id`'s body and signature; its id.
pub fn redelivery(state: &mut AcuityState, id: &str) -> Option<String> {
    let original = state.deliveries.iter().find(|d| d.id == id)?;
    let mut copy = original.clone();
    copy.id = uuid::Uuid::new_v4().to_string();
    copy.redelivery_of = Some(original.id.clone());
    copy.state = AcuityDeliveryState::Pending;
    copy.copy = 0;
    copy.created_at = time::now();
    copy.next_attempt_at = None;
    copy.attempts = Vec::new();
    let new_id = copy.id.clone();
    state.deliveries.push(copy);
    Some(new_id)
}

struct Send {
    url: String,
    body: String,
    signature: Option<String>,
}

/// Acuity's webhook sender, for [`crate::webhook_retries`].
pub struct AcuityWebhooks;

impl Sender for AcuityWebhooks {
    /// Makes one attempt; returns the delay before the next one, if one is due.
    async fn attempt(app: &Shared, id: &str) -> Option<Duration> {
        let send = app.change(|p| {
            let acuity = &mut p.acuity;
            let url = acuity.webhook_url.clone();
            let delivery = acuity.delivery_mut(id)?;
            if delivery.state != AcuityDeliveryState::Pending {
                return None;
            }
            let Some(url) = url else {
                delivery.state = AcuityDeliveryState::NotSent;
                delivery.next_attempt_at = None;
                return None;
            };
            Some(Send {
                url,
                body: delivery.body.clone(),
                signature: delivery.signature.clone(),
            })
        })?;

        let at = time::now();
        let request = app
            .http
            .post(&send.url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::USER_AGENT, USER_AGENT)
            .body(send.body);
        let signature = send.signature.as_deref().map(|s| (SIGNATURE_HEADER, s));
        let (status, error, duration_ms) = webhook_retries::post(request, signature).await;
        tracing::info!(delivery = id, url = %send.url, ?status, ?error, "acuity webhook attempt");

        let config = &app.config;
        app.change(|p| {
            let delivery = p.acuity.delivery_mut(id)?;
            delivery.attempts.push(AcuityWebhookAttempt {
                at,
                url: send.url,
                status,
                error,
                duration_ms,
            });
            delivery.next_attempt_at = None;
            if status.is_some_and(|s| (200..300).contains(&s)) {
                delivery.state = AcuityDeliveryState::Delivered;
                return None;
            }
            let allowed = usize::try_from(config.acuity_webhook_attempts.max(1)).unwrap_or(1);
            if delivery.attempts.len() >= allowed {
                delivery.state = AcuityDeliveryState::Failed;
                return None;
            }
            let delay = crate::calendly::webhooks::backoff(
                config.acuity_webhook_retry_base,
                RETRY_CAP,
                delivery.attempts.len(),
            );
            delivery.next_attempt_at = Some(
                time::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX),
            );
            Some(delay)
        })
    }

    fn pending(app: &Shared) -> Vec<(String, Option<DateTime<Utc>>)> {
        app.read(|p| {
            let waiting = p
                .acuity
                .deliveries
                .iter()
                .filter(|d| d.state == AcuityDeliveryState::Pending);
            waiting.map(|d| (d.id.clone(), d.next_attempt_at)).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_padded_base64_of_the_hmac() {
        let s = signature("key", b"action=appointment.scheduled&id=1");
        assert_eq!(s.len(), 44, "32 bytes in padded base64");
        assert!(s.ends_with('='));
        assert_ne!(s, signature("other", b"action=appointment.scheduled&id=1"));
        // RFC 4231 test case 2.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="
        );
    }

    #[test]
    fn release_marks_held_pending_in_the_asked_order() {
        let mut state = AcuityState::default();
        let config = SandboxConfig::default();
        let a = AcuityAppointment {
            id: 1000,
            first_name: "A".into(),
            last_name: "B".into(),
            email: "a@example.com".into(),
            phone: String::new(),
            start: time::now(),
            duration_minutes: 30,
            calendar_id: 4,
            calendar: String::new(),
            appointment_type_id: 7,
            type_name: String::new(),
            timezone: "UTC".into(),
            location: String::new(),
            notes: String::new(),
            price: "0.00".into(),
            canceled: false,
            forms: Vec::new(),
            created_at: time::now(),
            updated_at: time::now(),
        };
        let held = AcuityDeliveryControls {
            deliveries: 2,
            hold: true,
            ..AcuityDeliveryControls::default()
        };
        assert!(record(&mut state, &config, "appointment.scheduled", &a, held).is_empty());
        assert!(record(&mut state, &config, "appointment.canceled", &a, held).is_empty());
        assert_eq!(
            state.deliveries[0].body,
            "action=appointment.scheduled&id=1000&calendarID=4&appointmentTypeID=7"
        );
        let ids = release(&mut state, ReleaseOrder::Reverse);
        let actions: Vec<&str> = ids
            .iter()
            .map(|id| {
                state
                    .deliveries
                    .iter()
                    .find(|d| &d.id == id)
                    .unwrap()
                    .action
                    .as_str()
            })
            .collect();
        assert_eq!(
            actions,
            [
                "appointment.canceled",
                "appointment.canceled",
                "appointment.scheduled",
                "appointment.scheduled"
            ]
        );
        assert!(release(&mut state, ReleaseOrder::Fifo).is_empty());
        let silent = AcuityDeliveryControls {
            webhook: false,
            ..AcuityDeliveryControls::default()
        };
        assert!(record(&mut state, &config, "appointment.changed", &a, silent).is_empty());
        assert_eq!(state.deliveries.len(), 4);
    }
}
