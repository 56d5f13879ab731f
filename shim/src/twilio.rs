//! Twilio's webhooks: delivery reports of the texts bookings send
//! (`POST /webhooks/twilio/status?booking_id=..&step=..`, the `StatusCallback` the SMS activity
//! asks for) and the lead's replies (`POST /webhooks/twilio/inbound`, the number's "A message
//! comes in" webhook).
//!
//! Both are signed with the account's auth token (`SHIM_TWILIO_AUTH_TOKEN`) over the URL
//! Twilio requested and the form's parameters ([`signature`]); nothing unsigned reaches
//! Temporal. A signed delivery is then checked ([`form`]): a missing or malformed parameter is
//! a 400 naming it, and the delivery is kept as a dead letter for an operator.
//!
//! A report is signalled to its booking (`sms_status`, event id
//! `twilio-status:<MessageSid>:<MessageStatus>`); one about a booking that is gone is answered
//! 200 and changes nothing. A reply names only the number it came from, so it reaches the
//! lead's running bookings through the `LeadPhone` search attribute, and what it asks for is a
//! keyword ([`keywords`]): Twilio's opt-out words turn texts off on every one of them, `C`/`X`
//! confirm or cancel the newest. Anything else, or a reply from a number with no running
//! booking, is kept as a dead letter. What each does is [`decision`]'s. Every accepted reply
//! is answered with empty TwiML ([`EMPTY_TWIML`]).
//!
//! Phone numbers are personal data: logs and dead letters' reasons show their last four digits
//! ([`last_digits`]); only the dead letter's payload, the delivery as received, holds one whole.

pub mod decision;
pub mod form;
pub mod keywords;
pub mod signature;

pub use decision::{Outcome, TwilioError, answer_reply, deliver_status};
pub use form::{InboundText, StatusReport, TwilioForm, TwilioInbound, TwilioStatus};
pub use keywords::Reply;
pub use signature::{SIGNATURE_HEADER, signed_url, verify};

/// Empty TwiML: the reply is taken, and nothing is texted back (an automatic answer would be a
/// send outside the booking's idempotency).
pub const EMPTY_TWIML: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#;

/// The last four digits of a number, the most a log line or a dead letter's reason shows.
pub fn last_digits(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests;
