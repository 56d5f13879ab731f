//! Twilio Programmable Messaging stand-in, served under `/twilio` (real base
//! `https://api.twilio.com`): sending and fetching messages, signed status callbacks, the
//! "A message comes in" webhook for simulated replies, and carrier-level opt-outs.

pub mod callbacks;
pub mod control;
pub mod error;
mod inbound;
mod messages;
pub mod model;

use std::collections::BTreeMap;

use axum::Router;
use axum::http::{HeaderMap, Uri, header};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use crate::config::SandboxConfig;
use crate::state::Shared;
use error::TwilioError;
use model::{TwilioInboundMessage, TwilioMessage, TwilioOptOut};

/// The REST API version in every path and resource.
pub const API_VERSION: &str = "2010-04-01";

/// Twilio's test-credentials magic `To` numbers, kept with the same meanings.
pub mod magic {
    /// 400 21211: not a valid phone number.
    pub const INVALID: &str = "+15005550001";
    /// 400 21610: the recipient has opted out.
    pub const UNSUBSCRIBED: &str = "+15005550004";
    /// 400 21614: not a mobile number.
    pub const NOT_MOBILE: &str = "+15005550009";
    /// Accepted, then `undelivered` with ErrorCode 30003 (sandbox-only meaning).
    pub const UNDELIVERED: &str = "+15005550010";
    /// Accepted, then `failed` with ErrorCode 30006 (sandbox-only meaning).
    pub const FAILED: &str = "+15005550011";
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TwilioState {
    /// Every accepted message, oldest first.
    pub messages: Vec<TwilioMessage>,
    /// Opted-out numbers (they replied STOP), by number.
    pub opt_outs: BTreeMap<String, TwilioOptOut>,
    /// Every simulated reply, oldest first.
    pub inbound: Vec<TwilioInboundMessage>,
    /// The number's "A message comes in" webhook.
    pub inbound_webhook_url: Option<String>,
}

impl TwilioState {
    /// A configured inbound webhook wins over a loaded snapshot's.
    pub fn apply_config(&mut self, config: &SandboxConfig) {
        if config.twilio_inbound_webhook_url.is_some() {
            self.inbound_webhook_url = config.twilio_inbound_webhook_url.clone();
        }
    }

    pub fn message(&self, sid: &str) -> Option<&TwilioMessage> {
        self.messages.iter().find(|m| m.sid == sid)
    }

    pub fn message_mut(&mut self, sid: &str) -> Option<&mut TwilioMessage> {
        self.messages.iter_mut().find(|m| m.sid == sid)
    }
}

pub fn router() -> Router<Shared> {
    Router::new()
        .route(
            "/2010-04-01/Accounts/{account_sid}/Messages.json",
            post(messages::create),
        )
        .route(
            "/2010-04-01/Accounts/{account_sid}/Messages/{file}",
            get(messages::fetch),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn not_found(uri: Uri) -> TwilioError {
    TwilioError::not_found(uri.path())
}

async fn method_not_allowed() -> TwilioError {
    TwilioError::method_not_allowed()
}

/// The user and password of an `Authorization: Basic` header.
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = data_encoding::BASE64
        .decode(encoded.trim().as_bytes())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// HTTP Basic `AccountSid:AuthToken`, where the account is also the path's.
pub fn authenticate(
    config: &SandboxConfig,
    headers: &HeaderMap,
    path_account: &str,
) -> Result<(), TwilioError> {
    match basic(headers) {
        Some((user, password))
            if user == config.twilio_account_sid
                && password == config.twilio_auth_token
                && path_account == user =>
        {
            Ok(())
        }
        _ => Err(TwilioError::authenticate()),
    }
}

/// A Twilio sid: two-letter prefix and 32 lower-case hex digits.
pub fn new_sid(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// Whether `sid` is `prefix` followed by 32 hex digits.
pub fn is_sid(sid: &str, prefix: &str) -> bool {
    sid.strip_prefix(prefix)
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `+` and 7 to 15 digits, not starting with 0: the E.164 form.
pub fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (7..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

/// An absolute `http`/`https` URL with a host (what Twilio accepts as a callback).
pub fn is_callback_url(raw: &str) -> bool {
    url::Url::parse(raw).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults;

    #[test]
    fn default_credentials_have_twilios_shapes() {
        assert!(is_sid(defaults::TWILIO_ACCOUNT_SID, "AC"));
        assert_eq!(defaults::TWILIO_AUTH_TOKEN.len(), 32);
        assert!(
            defaults::TWILIO_AUTH_TOKEN
                .bytes()
                .all(|b| b.is_ascii_hexdigit())
        );
        assert!(is_e164(defaults::TWILIO_FROM_NUMBER));
        assert!(is_sid(&new_sid("SM"), "SM"));
        assert!(!is_sid("SM123", "SM"));
    }

    #[test]
    fn e164_and_callback_urls() {
        assert!(is_e164("+14155550123"));
        assert!(!is_e164("14155550123"));
        assert!(!is_e164("+1 415 555 0123"));
        assert!(!is_e164("+0123456789"));
        assert!(!is_e164("+12"));
        assert!(is_callback_url(
            "http://127.0.0.1:9/status?booking_id=b&step=s"
        ));
        assert!(!is_callback_url("/status"));
        assert!(!is_callback_url("ftp://example.com/x"));
    }
}
