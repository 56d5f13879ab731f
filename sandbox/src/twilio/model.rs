//! Messages, status callbacks, opt-outs and inbound replies as the inspection API shows them,
//! and the Message resource as Twilio's REST API renders it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::API_VERSION;

/// A message's status, as Twilio spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TwilioMessageStatus {
    /// Accepted for a Messaging Service, no sender chosen yet.
    Accepted,
    Queued,
    Sent,
    Delivered,
    Undelivered,
    Failed,
    /// An inbound message.
    Received,
}

impl TwilioMessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Undelivered => "undelivered",
            Self::Failed => "failed",
            Self::Received => "received",
        }
    }
}

/// Misbehaviour of the status callbacks of messages accepted while it is set
/// (`PUT /_sandbox/twilio/callback-faults`). A receiver has to cope with both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TwilioCallbackFaults {
    /// Every callback is sent twice (the copy right after the original).
    pub twice: bool,
    /// A message's callbacks are held until its last status, then sent newest first
    /// (`delivered` before `sent` before `queued`).
    pub reverse_order: bool,
}

/// One HTTP request the stand-in made (a status-callback attempt or an inbound webhook).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwilioWebhookAttempt {
    pub at: DateTime<Utc>,
    /// `None` when no HTTP answer came (connection refused, timeout).
    pub status: Option<u16>,
    /// The answer's body (at most 4 KiB of it).
    pub body: Option<String>,
    pub content_type: Option<String>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

impl TwilioWebhookAttempt {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TwilioCallbackState {
    /// Waiting for its first attempt or for a retry.
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Every attempt failed.
    Failed,
}

/// One status callback (the `copy` 1 of a `twice` fault is a callback of its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwilioCallback {
    pub id: String,
    pub message_status: TwilioMessageStatus,
    pub error_code: Option<u32>,
    /// 0, or 1 for the duplicate a `twice` fault sends.
    pub copy: u32,
    pub url: String,
    /// The form parameters sent; `X-Twilio-Signature` covers them and the URL.
    pub params: BTreeMap<String, String>,
    pub signature: String,
    pub state: TwilioCallbackState,
    pub attempts: Vec<TwilioWebhookAttempt>,
}

/// One message sent through `POST .../Messages.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwilioMessage {
    pub sid: String,
    pub account_sid: String,
    pub to: String,
    /// `None` while a Messaging Service send waits for its sender.
    pub from: Option<String>,
    pub messaging_service_sid: Option<String>,
    pub body: String,
    pub num_segments: u32,
    pub status: TwilioMessageStatus,
    pub error_code: Option<u32>,
    pub error_message: Option<String>,
    pub status_callback: Option<String>,
    pub date_created: DateTime<Utc>,
    pub date_updated: DateTime<Utc>,
    pub date_sent: Option<DateTime<Utc>>,
    /// The callback faults in force when the message was accepted.
    pub callback_faults: TwilioCallbackFaults,
    /// Every status callback, in the order they were created.
    pub callbacks: Vec<TwilioCallback>,
}

impl TwilioMessage {
    /// `/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json`.
    pub fn uri(&self) -> String {
        format!(
            "/{API_VERSION}/Accounts/{}/Messages/{}.json",
            self.account_sid, self.sid
        )
    }

    /// The Message resource, as Twilio answers a create or a fetch.
    pub fn resource(&self) -> Value {
        let uri = self.uri();
        let base = uri.trim_end_matches(".json");
        json!({
            "sid": self.sid,
            "account_sid": self.account_sid,
            "to": self.to,
            "from": self.from,
            "body": self.body,
            "status": self.status.as_str(),
            "num_segments": self.num_segments.to_string(),
            "num_media": "0",
            "direction": "outbound-api",
            "api_version": API_VERSION,
            "date_created": self.date_created.to_rfc2822(),
            "date_updated": self.date_updated.to_rfc2822(),
            "date_sent": self.date_sent.map(|t| t.to_rfc2822()),
            "error_code": self.error_code,
            "error_message": self.error_message,
            "price": Value::Null,
            "price_unit": "USD",
            "messaging_service_sid": self.messaging_service_sid,
            "uri": uri,
            "subresource_uris": {
                "media": format!("{base}/Media.json"),
                "feedback": format!("{base}/Feedback.json"),
            },
        })
    }
}

/// A number that replied with an opt-out keyword.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwilioOptOut {
    pub number: String,
    /// The keyword, upper-cased (`STOP`, `UNSUBSCRIBE`, ...).
    pub keyword: String,
    pub at: DateTime<Utc>,
}

/// A simulated reply from a lead (`POST /_sandbox/twilio/inbound`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TwilioInbound {
    /// The lead's number (E.164).
    pub from: String,
    pub body: String,
    /// Default: a fresh `SM...` sid. Reusing one plays a redelivery by Twilio.
    pub message_sid: Option<String>,
    /// Our number the reply went to. Default: the configured number.
    pub to: Option<String>,
    /// Deliver the webhook twice with the same `MessageSid`.
    pub twice: bool,
}

impl TwilioInbound {
    pub fn new(from: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            from: from.into(),
            body: body.into(),
            ..Self::default()
        }
    }
}

/// An inbound reply and what the webhook answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwilioInboundMessage {
    pub message_sid: String,
    pub from: String,
    pub to: String,
    pub body: String,
    pub received_at: DateTime<Utc>,
    /// The opt-out (`STOP`, ...) or opt-in (`START`, ...) keyword the body was, if any.
    pub keyword: Option<String>,
    /// Whether the sender is opted out after this reply.
    pub sender_opted_out: bool,
    /// Where the webhook went; `None` when no inbound webhook is configured (nothing sent).
    pub url: Option<String>,
    pub params: BTreeMap<String, String>,
    pub signature: Option<String>,
    /// One answer per delivery (two with `twice`).
    pub answers: Vec<TwilioWebhookAttempt>,
}

/// The number's "A message comes in" webhook (`GET|PUT /_sandbox/twilio/inbound-webhook`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TwilioInboundWebhook {
    /// `None` (or `null`) removes it: replies are then recorded but not sent.
    pub url: Option<String>,
}

/// GSM 03.38 basic characters (one septet each).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// GSM 03.38 extension characters (an escape plus one septet each).
const GSM_EXTENSION: &str = "^{}\\[~]|€\u{c}";

/// How many SMS segments a body takes: GSM-7 when every character is in the GSM alphabet
/// (160 septets alone, 153 per part), UCS-2 otherwise (70 code units alone, 67 per part).
pub fn segments(body: &str) -> u32 {
    let septets: Option<usize> = body.chars().try_fold(0usize, |n, c| {
        if GSM_BASIC.contains(c) {
            Some(n + 1)
        } else if GSM_EXTENSION.contains(c) {
            Some(n + 2)
        } else {
            None
        }
    });
    let (units, single, part) = match septets {
        Some(septets) => (septets, 160, 153),
        None => (body.encode_utf16().count(), 70, 67),
    };
    let count = if units <= single {
        1
    } else {
        units.div_ceil(part)
    };
    u32::try_from(count).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::segments;

    #[test]
    fn segments_follow_gsm7_and_ucs2_limits() {
        assert_eq!(segments("C"), 1);
        assert_eq!(segments(&"a".repeat(160)), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
        assert_eq!(segments(&"a".repeat(306)), 2);
        assert_eq!(segments(&"a".repeat(307)), 3);
        assert_eq!(segments(&"€".repeat(80)), 1);
        assert_eq!(segments(&"€".repeat(81)), 2);
        assert_eq!(segments(&"✓".repeat(70)), 1);
        assert_eq!(segments(&"✓".repeat(71)), 2);
    }
}
