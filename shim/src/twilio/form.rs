//! Twilio's webhook forms: the raw parameters ([`TwilioForm`], what the signature covers) and
//! the checked values the routes act on ([`StatusReport`], [`InboundText`]), or every field
//! error at once, each naming Twilio's own parameter (`MessageSid`, `From`) or the status
//! callback's query parameter (`booking_id`, `step`).
//!
//! A field error never quotes a phone number whole (see [`super::last_digits`]): a signed
//! delivery with a bad field is kept as a dead letter whose reason is logged.

use booking_proto::{
    domain::{BookingId, FieldError, FreeText, caps},
    phone::PhoneNumber,
    v1::SmsStatusSignal,
};

use serde::Serialize;
use utoipa::ToSchema;

use super::{Reply, last_digits};

/// Longest `MessageSid` accepted (Twilio's are 34 characters): it becomes an event id and a
/// Temporal update id.
pub const MESSAGE_SID_MAX: usize = 64;
/// Longest `MessageStatus` accepted (Twilio's longest is `partially_delivered`).
pub const MESSAGE_STATUS_MAX: usize = 32;

/// A Twilio webhook's form parameters (or a query string's), in the order sent; a name may
/// repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwilioForm(pub Vec<(String, String)>);

impl TwilioForm {
    /// Never fails: what is not `application/x-www-form-urlencoded` reads as odd names and
    /// values, which the signature check then refuses.
    pub fn parse(body: &[u8]) -> Self {
        Self(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter that must be present and not blank, trimmed.
    pub fn required(&self, name: &str) -> Result<&str, FieldError> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| FieldError::new(name, "is required"))
    }
}

// [`StatusReport::parse`] and [`InboundText::parse`] read the pairs one by one, to name every
// bad parameter at once; these types are what the OpenAPI document shows of the forms, and the
// tests hold the two together.

/// A delivery report as Twilio sends it: the parameters the shim reads (Twilio sends more,
/// which the signature covers and the shim ignores).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TwilioStatus {
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub message_sid: String,
    #[schema(pattern = "^[A-Za-z0-9_]{1,32}$")]
    pub message_status: String,
    /// Twilio's error code of an undelivered or failed message.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9]*$", nullable = false)]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub account_sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub to: Option<String>,
}

/// A lead's reply as Twilio sends it: the parameters the shim reads.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TwilioInbound {
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub message_sid: String,
    /// The lead's number, E.164.
    pub from: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub to: Option<String>,
    /// The text as the lead wrote it; absent or empty for a picture alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub account_sid: Option<String>,
}

/// A required identifier of at most `max` ASCII letters, digits and `allowed` characters.
fn identifier<'a>(
    form: &'a TwilioForm,
    name: &str,
    max: usize,
    allowed: &[char],
) -> Result<&'a str, FieldError> {
    let value = form.required(name)?;
    if value.len() > max {
        return Err(FieldError::new(
            name,
            format!("must be at most {max} characters"),
        ));
    }
    match value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || allowed.contains(c)))
    {
        Some(bad) => {
            let others: Vec<String> = allowed.iter().map(|c| format!("{c:?}")).collect();
            Err(FieldError::new(
                name,
                format!(
                    "may only contain ASCII letters, digits and {} (found {bad:?})",
                    others.join(" ")
                ),
            ))
        }
        None => Ok(value),
    }
}

/// Collects a field's error, keeping its value when it has one.
fn field<T>(errors: &mut Vec<FieldError>, checked: Result<T, FieldError>) -> Option<T> {
    checked.map_err(|e| errors.push(e)).ok()
}

/// A checked status callback: the booking and step from the query the SMS activity wrote
/// (`?booking_id=..&step=..`), Twilio's report from the form.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    pub booking: BookingId,
    /// Event id `twilio-status:<MessageSid>:<MessageStatus>`: a redelivered report is a
    /// duplicate, a later status of the same message is not.
    pub signal: SmsStatusSignal,
}

impl StatusReport {
    pub fn parse(query: Option<&str>, form: &TwilioForm) -> Result<Self, Vec<FieldError>> {
        let target = TwilioForm::parse(query.unwrap_or_default().as_bytes());
        let mut errors = Vec::new();
        let booking = field(
            &mut errors,
            target.required("booking_id").and_then(|raw| {
                BookingId::parse(raw).map_err(|m| FieldError::new("booking_id", m))
            }),
        );
        let step = field(
            &mut errors,
            target.required("step").and_then(|raw| {
                FreeText::parse("step", raw, caps::SOURCE_REF).map(FreeText::into_string)
            }),
        );
        let sid = field(
            &mut errors,
            identifier(form, "MessageSid", MESSAGE_SID_MAX, &['-', '_']),
        );
        let status = field(
            &mut errors,
            identifier(form, "MessageStatus", MESSAGE_STATUS_MAX, &['_']),
        );
        let error_code = field(
            &mut errors,
            match form
                .get("ErrorCode")
                .map(str::trim)
                .filter(|c| !c.is_empty())
            {
                None => Ok(0),
                Some(raw) => raw.parse::<u32>().map_err(|_| {
                    FieldError::new("ErrorCode", format!("{raw:?} is not a whole number"))
                }),
            },
        );
        match (booking, step, sid, status, error_code) {
            (Some(booking), Some(step), Some(sid), Some(status), Some(error_code))
                if errors.is_empty() =>
            {
                Ok(Self {
                    booking,
                    signal: SmsStatusSignal {
                        event_id: format!("twilio-status:{sid}:{status}"),
                        message_sid: sid.to_owned(),
                        step,
                        status: status.to_owned(),
                        error_code,
                    },
                })
            }
            _ => Err(errors),
        }
    }
}

/// A checked reply from a lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundText {
    /// The reply's id: the event id (and update id) of whatever it does, so Twilio's retries
    /// change nothing.
    pub message_sid: String,
    pub from: PhoneNumber,
    /// The text as the lead wrote it (possibly empty: a picture alone).
    pub body: String,
}

impl InboundText {
    pub fn parse(form: &TwilioForm) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let sid = field(
            &mut errors,
            identifier(form, "MessageSid", MESSAGE_SID_MAX, &['-', '_']),
        );
        let from = field(
            &mut errors,
            form.required("From").and_then(|raw| {
                // The parser's own message quotes the number; this one shows its tail only.
                PhoneNumber::parse(raw).map_err(|_| {
                    FieldError::new(
                        "From",
                        format!(
                            "is not a phone number in international (E.164) form (ending {})",
                            last_digits(raw)
                        ),
                    )
                })
            }),
        );
        match (sid, from) {
            (Some(sid), Some(from)) if errors.is_empty() => Ok(Self {
                message_sid: sid.to_owned(),
                from,
                body: form.get("Body").unwrap_or_default().to_owned(),
            }),
            _ => Err(errors),
        }
    }

    /// What the text asks for.
    pub fn reply(&self) -> Reply {
        Reply::of(&self.body)
    }

    /// The sender as logs and dead letters may show it: its last four digits.
    pub fn from_tail(&self) -> String {
        last_digits(self.from.as_str())
    }
}
