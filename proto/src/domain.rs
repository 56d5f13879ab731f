//! Typed domain values, parsed once at a boundary (webhook, CLI, workflow input) so the code
//! behind it never sees an unchecked string.

use chrono::{DateTime, Duration, Utc};

use crate::{phone::PhoneNumber, time, v1};

crate::checked_text!(BookingId, EventId, AgentId, PropertyId, FreeText, Email);

/// `parse` by the [`identifier`] rules, up to the type's `MAX_LEN` characters.
macro_rules! parsed_as_identifier {
    ($($name:ident),+) => {$(
        impl $name {
            pub fn parse(raw: &str) -> Result<Self, String> {
                identifier(raw, Self::MAX_LEN).map(|id| Self(id.to_owned()))
            }
        }
    )+};
}
parsed_as_identifier!(AgentId, PropertyId);

/// Why a value was refused, naming the field so a form or CLI can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// Dotted path of the offending field in the request, e.g. `lead.email`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every problem found in one request, so a caller fixes them all in one go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid booking request: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct ValidationErrors(pub Vec<FieldError>);

/// The characters a [`bounded_token`] may hold, and how an error names them.
#[derive(Debug, Clone, Copy)]
pub struct Charset {
    pub allows: fn(char) -> bool,
    pub named: &'static str,
}

/// `raw` trimmed, when it is 1 to `max_len` bytes of `charset`: the rule for ids that end up
/// inside workflow ids, schedule ids and URLs, where a padded or exotic spelling would make a
/// second name for the same thing.
pub fn bounded_token(raw: &str, max_len: usize, charset: Charset) -> Result<&str, String> {
    let token = raw.trim();
    if token.is_empty() {
        return Err("must not be empty".into());
    }
    if token.len() > max_len {
        return Err(format!("must be at most {max_len} characters"));
    }
    match token.chars().find(|c| !(charset.allows)(*c)) {
        Some(bad) => Err(format!(
            "may only contain {} (found {bad:?})",
            charset.named
        )),
        None => Ok(token),
    }
}

/// Our id of a booking; also names its workflow (`booking-<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BookingId(String);

impl BookingId {
    pub const MAX_LEN: usize = 100;
    const WORKFLOW_PREFIX: &'static str = "booking-";

    /// Accepts 1 to 100 ASCII letters, digits, `-` and `_`, once trimmed (so a padded copy is
    /// the same booking): safe in a workflow id, a URL path, a calendar extended property and a
    /// CRM property without escaping.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let charset = Charset {
            allows: |c| c.is_ascii_alphanumeric() || c == '-' || c == '_',
            named: "ASCII letters, digits, '-' and '_'",
        };
        bounded_token(raw, Self::MAX_LEN, charset).map(|id| Self(id.to_owned()))
    }

    /// The id of the Temporal workflow that owns this booking.
    pub fn workflow_id(&self) -> String {
        format!("{}{}", Self::WORKFLOW_PREFIX, self.0)
    }

    /// Recovers the booking id from a workflow id made by [`BookingId::workflow_id`].
    pub fn from_workflow_id(workflow_id: &str) -> Option<Self> {
        workflow_id
            .strip_prefix(Self::WORKFLOW_PREFIX)
            .and_then(|rest| Self::parse(rest).ok())
    }
}

/// Identity of one delivered event (webhook delivery, link click, CLI signal). The workflow
/// ignores ids it has already seen, because providers redeliver.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(String);

impl EventId {
    pub const MAX_LEN: usize = 256;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("must not be empty".into());
        }
        if trimmed.len() > Self::MAX_LEN {
            return Err(format!("must be at most {} characters", Self::MAX_LEN));
        }
        if trimmed.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(Self(trimmed.to_owned()))
    }
}

/// Accepts `raw` trimmed when it is 1 to `max_len` characters of the identifier charset: ASCII
/// letters, digits and `-` `_` `.` `:` `@` `+`.
///
/// Agent ids are host emails (`agent+tours@example.com`, what Calendly hands us), user UUIDs or
/// slugs (`agent-alex`); property ids are event type UUIDs or slugs (`prop-12-harbour-view`).
/// Every character of that set is a legal unescaped URL path character (RFC 3986 `pchar`), and
/// means nothing special in a Temporal workflow id, a keyword search attribute, a calendar
/// extended property or a CRM property. Whitespace, `/`, `?`, `#`, `%`, quotes and anything
/// non-ASCII are refused, so one agent cannot hide behind two spellings of padding or Unicode
/// look-alikes. Case is kept: ids are compared exactly, as the systems they come from do.
fn identifier(raw: &str, max_len: usize) -> Result<&str, String> {
    let id = raw.trim();
    if id.is_empty() {
        return Err("is required".into());
    }
    let chars = id.chars().count();
    if chars > max_len {
        return Err(format!(
            "must be at most {max_len} characters (got {chars})"
        ));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.:@+".contains(*c)))
    {
        return Err(format!(
            "may only contain ASCII letters, digits and - _ . : @ + (found {bad:?})"
        ));
    }
    Ok(id)
}

/// The agent whose calendar a booking is on. It names the agent's slot ledger
/// (`ledger-agent-<id>`), so two spellings of one agent must be one value: see [`identifier`]
/// for the rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgentId(String);

impl AgentId {
    /// Long enough for any realistic host email or UUID, and keeps `ledger-agent-<id>` far
    /// inside Temporal's 1,000-byte workflow id limit.
    pub const MAX_LEN: usize = 128;
}

/// The property toured. It names an open house's slot ledger (`ledger-open-house-<id>`): see
/// [`identifier`] for the rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PropertyId(String);

impl PropertyId {
    /// As [`AgentId::MAX_LEN`].
    pub const MAX_LEN: usize = 128;
}

/// How much free text a field may hold, and whether it may span lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextCap {
    /// In characters (Unicode scalar values), after trimming.
    pub max_chars: usize,
    /// Multi-line fields may hold `\n`, `\r` and `\t`; no field holds any other control
    /// character.
    pub multi_line: bool,
}

impl TextCap {
    pub const fn line(max_chars: usize) -> Self {
        Self {
            max_chars,
            multi_line: false,
        }
    }

    pub const fn lines(max_chars: usize) -> Self {
        Self {
            max_chars,
            multi_line: true,
        }
    }
}

/// The cap of every free-text field that enters the engine, in one place (README "Webhook
/// shim" lists the same table). Each is generous for real input and small enough that no
/// field can swell workflow history, a CRM record or an email.
pub mod caps {
    use super::TextCap;

    /// `lead.name`: longer than any real full name.
    pub const LEAD_NAME: TextCap = TextCap::line(200);
    /// `lead.phone`: an international number with spaces. Beyond length and control characters
    /// it is parsed as a [`crate::phone::PhoneNumber`], and only a refusal to do that is soft.
    pub const LEAD_PHONE: TextCap = TextCap::line(40);
    /// `lead.timezone`: IANA zone names are at most about 30 characters.
    pub const LEAD_TIMEZONE: TextCap = TextCap::line(64);
    /// `sourceRef`: a Calendly invitee URI or a form submission id. It is also part of event
    /// ids, which are at most [`EventId::MAX_LEN`](super::EventId::MAX_LEN).
    pub const SOURCE_REF: TextCap = TextCap::line(256);
    /// `requestId`: the shim accepts `X-Request-Id` values of at most 128 characters.
    pub const REQUEST_ID: TextCap = TextCap::line(128);
    /// Questions the lead answered (the keys of `answers`).
    pub const ANSWER_QUESTION: TextCap = TextCap::line(300);
    /// The lead's answers, which may span lines.
    pub const ANSWER: TextCap = TextCap::lines(2_000);
    /// At most this many answers per booking.
    pub const ANSWERS_MAX: usize = 50;
    /// Cancel and skip reasons, which may span lines.
    pub const REASON: TextCap = TextCap::lines(1_000);
    /// `cancelledBy`: `lead`, `agent`, `operator`, `scheduler`.
    pub const CANCELLED_BY: TextCap = TextCap::line(32);
}

/// Free text a person typed, trimmed and checked against its field's [`TextCap`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FreeText(String);

impl FreeText {
    /// Trims `raw` and refuses it, naming `field`, when it is longer than `cap` or holds a
    /// control character (see [`TextCap::multi_line`]), a Unicode line or paragraph separator
    /// (in a single-line field) or a bidirectional override, which can make an email or a
    /// calendar entry display something other than what it says. Empty text is accepted:
    /// whether a field is required is its caller's rule.
    pub fn parse(field: &str, raw: &str, cap: TextCap) -> Result<Self, FieldError> {
        let text = raw.trim();
        let chars = text.chars().count();
        if chars > cap.max_chars {
            return Err(FieldError::new(
                field,
                format!("must be at most {} characters (got {chars})", cap.max_chars),
            ));
        }
        if let Some((at, bad)) = text
            .chars()
            .enumerate()
            .find(|(_, c)| !text_char_allowed(*c, cap.multi_line))
        {
            let what = if cap.multi_line {
                "control characters other than line breaks and tabs"
            } else {
                "control characters or line breaks"
            };
            return Err(FieldError::new(
                field,
                format!(
                    "must not contain {what} (found {bad:?} at character {})",
                    at + 1
                ),
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// Makes any `raw` fit `cap` without refusing it: control characters become spaces and the
    /// text is cut to `max_chars` (ending in `…` when cut). For places that must take what
    /// they are given, such as a signal already in a booking's history.
    pub fn fit(raw: &str, cap: TextCap) -> String {
        let cleaned: String = raw
            .trim()
            .chars()
            .map(|c| {
                if text_char_allowed(c, cap.multi_line) {
                    c
                } else {
                    ' '
                }
            })
            .collect();
        if cleaned.chars().count() <= cap.max_chars {
            return cleaned;
        }
        let mut cut: String = cleaned
            .chars()
            .take(cap.max_chars.saturating_sub(1))
            .collect();
        cut.push('…');
        cut
    }
}

fn text_char_allowed(c: char, multi_line: bool) -> bool {
    let bidi_control = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    let line_separator = matches!(c, '\u{2028}' | '\u{2029}');
    if bidi_control {
        return false;
    }
    if multi_line {
        return matches!(c, '\n' | '\r' | '\t') || !(c.is_control() || line_separator);
    }
    !(c.is_control() || line_separator)
}

/// A syntactically valid email address, lower-cased so that the CRM upsert key and the
/// search attribute match however the lead typed it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let candidate = raw.trim();
        if candidate.is_empty() {
            return Err("must not be empty".into());
        }
        if candidate.len() > 254 {
            return Err("must be at most 254 characters".into());
        }
        let (local, domain) = candidate
            .rsplit_once('@')
            .ok_or_else(|| format!("{candidate:?} has no '@'"))?;
        if local.is_empty() || local.len() > 64 {
            return Err("the part before '@' must be 1 to 64 characters".into());
        }
        if local.contains('@')
            || local
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\\\"".contains(c))
        {
            return Err("the part before '@' has a character not allowed in an address".into());
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err("the part before '@' has a misplaced '.'".into());
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return Err(format!("domain {domain:?} needs at least one '.'"));
        }
        for label in &labels {
            let valid = !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !valid {
                return Err(format!("domain {domain:?} is not a valid host name"));
            }
        }
        Ok(Self(candidate.to_ascii_lowercase()))
    }
}

/// When a tour happens: a UTC window whose end is after its start and no longer than a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TourSlot {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl TourSlot {
    pub const MAX_LENGTH: Duration = Duration::hours(24);

    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, String> {
        if end <= start {
            return Err(format!("end {end} must be after start {start}"));
        }
        if end - start > Self::MAX_LENGTH {
            return Err("a tour may last at most 24 hours".into());
        }
        Ok(Self { start, end })
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// Parses the wire form, naming `field` (e.g. `tour`) in every error.
    pub fn from_proto(field: &str, window: Option<&v1::TourWindow>) -> Result<Self, FieldError> {
        let window = window.ok_or_else(|| FieldError::new(field, "is required"))?;
        let instant = |end: &str, ts: Option<&pbjson_types::Timestamp>| {
            let name = format!("{field}.{end}");
            let ts = ts.ok_or_else(|| FieldError::new(&name, "is required"))?;
            time::from_timestamp(ts).ok_or_else(|| FieldError::new(&name, "is out of range"))
        };
        let start = instant("start", window.start.as_ref())?;
        let end = instant("end", window.end.as_ref())?;
        Self::new(start, end).map_err(|message| FieldError::new(format!("{field}.end"), message))
    }

    pub fn to_proto(self) -> v1::TourWindow {
        v1::TourWindow {
            start: Some(time::to_timestamp(self.start)),
            end: Some(time::to_timestamp(self.end)),
        }
    }
}

/// A booking request whose every field has been checked; the only form workflows act on.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidBooking {
    pub booking_id: BookingId,
    pub event_id: EventId,
    pub kind: v1::BookingKind,
    pub email: Email,
    pub tour: TourSlot,
    pub agent_id: AgentId,
    pub property_id: PropertyId,
    /// The lead's mobile number, for text messages; `None` when none was given or it did not
    /// parse (then [`ValidBooking::warnings`] says why, and the booking goes on by email).
    pub phone: Option<PhoneNumber>,
    /// Fields that were wrong but did not stop the booking: an unparseable phone number turns
    /// text messages off, it does not lose the lead. Boundaries report them to the sender.
    pub warnings: Vec<FieldError>,
    /// The request as checked, normalised: ids and free text trimmed, the email lower-cased.
    /// Whatever reads the request downstream sees exactly the values above.
    pub request: v1::BookingRequest,
}

impl ValidBooking {
    /// Checks a wire request and normalises what it keeps (see [`caps`] for the free text).
    /// Time-relative rules (such as "start in the future") belong to the boundary that knows
    /// the current time, so they are not applied here.
    pub fn parse(mut request: v1::BookingRequest) -> Result<Self, ValidationErrors> {
        let mut errors = Vec::new();
        let booking_id = BookingId::parse(&request.booking_id)
            .map_err(|m| errors.push(FieldError::new("bookingId", m)))
            .ok();
        let event_id = EventId::parse(&request.event_id)
            .map_err(|m| errors.push(FieldError::new("eventId", m)))
            .ok();
        let kind = match v1::BookingKind::try_from(request.kind) {
            Ok(v1::BookingKind::Unspecified) | Err(_) => {
                errors.push(FieldError::new(
                    "kind",
                    "must be BOOKING_KIND_PRIVATE_VIEWING or BOOKING_KIND_OPEN_HOUSE",
                ));
                None
            }
            Ok(kind) => Some(kind),
        };
        let email = match request.lead.as_ref() {
            None => {
                errors.push(FieldError::new("lead", "is required"));
                None
            }
            Some(lead) => Email::parse(&lead.email)
                .map_err(|m| errors.push(FieldError::new("lead.email", m)))
                .ok(),
        };
        let tour = TourSlot::from_proto("tour", request.tour.as_ref())
            .map_err(|e| errors.push(e))
            .ok();
        let property_id = PropertyId::parse(&request.property_id)
            .map_err(|m| errors.push(FieldError::new("propertyId", m)))
            .ok();
        let agent_id = AgentId::parse(&request.agent_id)
            .map_err(|m| errors.push(FieldError::new("agentId", m)))
            .ok();
        let mut text = |field: &str, value: &mut String, cap: TextCap| match FreeText::parse(
            field, value, cap,
        ) {
            Ok(text) => *value = text.into_string(),
            Err(e) => errors.push(e),
        };
        if let Some(lead) = request.lead.as_mut() {
            text("lead.name", &mut lead.name, caps::LEAD_NAME);
            text("lead.phone", &mut lead.phone, caps::LEAD_PHONE);
            text("lead.timezone", &mut lead.timezone, caps::LEAD_TIMEZONE);
        }
        text("sourceRef", &mut request.source_ref, caps::SOURCE_REF);
        let mut warnings = Vec::new();
        let phone = request.lead.as_mut().and_then(|lead| {
            if lead.phone.is_empty() {
                return None;
            }
            match PhoneNumber::parse(&lead.phone) {
                Ok(phone) => {
                    lead.phone = phone.to_string();
                    Some(phone)
                }
                Err(problem) => {
                    warnings.push(FieldError::new(
                        "lead.phone",
                        format!("{problem}; text messages are off for this booking"),
                    ));
                    None
                }
            }
        });
        text("requestId", &mut request.request_id, caps::REQUEST_ID);
        request.answers = answers(std::mem::take(&mut request.answers), &mut errors);
        match (
            booking_id,
            event_id,
            kind,
            email,
            tour,
            agent_id,
            property_id,
        ) {
            (
                Some(booking_id),
                Some(event_id),
                Some(kind),
                Some(email),
                Some(tour),
                Some(agent_id),
                Some(property_id),
            ) if errors.is_empty() => {
                request.booking_id = booking_id.to_string();
                request.event_id = event_id.to_string();
                request.agent_id = agent_id.to_string();
                request.property_id = property_id.to_string();
                if let Some(lead) = request.lead.as_mut() {
                    lead.email = email.to_string();
                }
                Ok(Self {
                    booking_id,
                    event_id,
                    kind,
                    email,
                    tour,
                    agent_id,
                    property_id,
                    phone,
                    warnings,
                    request,
                })
            }
            _ => Err(ValidationErrors(errors)),
        }
    }
}

/// Checks the lead's answers, in question order so errors (and which of two questions that
/// trim alike wins: the later) never depend on hash order. A field names its question by
/// position and start, e.g. `answers[2]("Budget?")`, since the question itself may be the
/// problem.
fn answers(
    raw: std::collections::HashMap<String, String>,
    errors: &mut Vec<FieldError>,
) -> std::collections::HashMap<String, String> {
    if raw.len() > caps::ANSWERS_MAX {
        errors.push(FieldError::new(
            "answers",
            format!("at most {} answers (got {})", caps::ANSWERS_MAX, raw.len()),
        ));
        return raw;
    }
    let mut sorted: Vec<(String, String)> = raw.into_iter().collect();
    sorted.sort();
    let mut kept = std::collections::HashMap::new();
    for (i, (question, answer)) in sorted.into_iter().enumerate() {
        let start: String = question.chars().take(20).collect();
        let field = format!("answers[{i}]({start:?})");
        let q = FreeText::parse(
            &format!("{field}.question"),
            &question,
            caps::ANSWER_QUESTION,
        )
        .map_err(|e| errors.push(e));
        let a = FreeText::parse(&format!("{field}.answer"), &answer, caps::ANSWER)
            .map_err(|e| errors.push(e));
        if let (Ok(q), Ok(a)) = (q, a) {
            kept.insert(q.into_string(), a.into_string());
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn request() -> v1::BookingRequest {
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap();
        v1::BookingRequest {
            booking_id: "bk_42".into(),
            event_id: "evt-1".into(),
            kind: v1::BookingKind::PrivateViewing as i32,
            lead: Some(v1::Lead {
                email: "Ada@Example.COM".into(),
                name: "Ada".into(),
                ..Default::default()
            }),
            property_id: "prop-7".into(),
            agent_id: "agent-3".into(),
            tour: Some(
                TourSlot::new(start, start + Duration::minutes(30))
                    .unwrap()
                    .to_proto(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn a_tour_window_names_the_end_that_is_missing_or_out_of_range() {
        let start = Some(time::to_timestamp(
            Utc.with_ymd_and_hms(2026, 12, 6, 11, 0, 0).unwrap(),
        ));
        let no_end = v1::TourWindow { start, end: None };
        assert_eq!(
            TourSlot::from_proto("tour", Some(&no_end)).unwrap_err(),
            FieldError::new("tour.end", "is required")
        );
        let bad_start = v1::TourWindow {
            start: Some(pbjson_types::Timestamp {
                seconds: 0,
                nanos: -1,
            }),
            end: None,
        };
        assert_eq!(
            TourSlot::from_proto("reschedule.tour", Some(&bad_start)).unwrap_err(),
            FieldError::new("reschedule.tour.start", "is out of range")
        );
        assert_eq!(
            TourSlot::from_proto("tour", None).unwrap_err(),
            FieldError::new("tour", "is required")
        );
    }

    #[test]
    fn booking_ids_name_their_workflow_and_come_back() {
        let id = BookingId::parse("bk_42-x").unwrap();
        assert_eq!(id.workflow_id(), "booking-bk_42-x");
        assert_eq!(BookingId::from_workflow_id("booking-bk_42-x"), Some(id));
        assert_eq!(BookingId::from_workflow_id("reconcile-1"), None);
    }

    #[test]
    fn booking_ids_refuse_what_would_need_escaping() {
        assert!(BookingId::parse("").is_err());
        assert!(BookingId::parse("a/b").is_err());
        assert!(BookingId::parse("a b").is_err());
        assert!(BookingId::parse(&"x".repeat(101)).is_err());
        assert!(BookingId::parse(&"x".repeat(100)).is_ok());
        assert!(BookingId::parse("bk_42\u{0}").is_err());
        assert_eq!(BookingId::parse(" bk_42\n").unwrap().as_str(), "bk_42");
    }

    #[test]
    fn emails_are_normalised_to_lower_case() {
        assert_eq!(
            Email::parse("  Ada.Lovelace+tours@Example.COM ")
                .unwrap()
                .as_str(),
            "ada.lovelace+tours@example.com"
        );
    }

    #[test]
    fn malformed_emails_say_what_is_wrong() {
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "ada@-example.com",
            "a..b@example.com",
            "ada lovelace@example.com",
            "ada@exa_mple.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn tour_slots_must_end_after_they_start() {
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap();
        assert!(TourSlot::new(start, start).is_err());
        assert!(TourSlot::new(start, start - Duration::minutes(1)).is_err());
        assert!(TourSlot::new(start, start + Duration::hours(25)).is_err());
        assert!(TourSlot::new(start, start + Duration::minutes(45)).is_ok());
    }

    #[test]
    fn a_valid_request_parses() {
        let valid = ValidBooking::parse(request()).unwrap();
        assert_eq!(valid.email.as_str(), "ada@example.com");
        assert_eq!(valid.booking_id.as_str(), "bk_42");
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let mut bad = request();
        bad.booking_id = "no spaces".into();
        bad.lead.as_mut().unwrap().email = "nope".into();
        bad.tour = None;
        bad.agent_id = String::new();
        let errors = ValidBooking::parse(bad).unwrap_err().0;
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["bookingId", "lead.email", "tour", "agentId"]);
    }

    fn fields_of(request: v1::BookingRequest) -> Vec<String> {
        ValidBooking::parse(request)
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn padded_ids_are_the_same_agent_and_property() {
        assert_eq!(
            AgentId::parse("agent-3 ").unwrap(),
            AgentId::parse("agent-3").unwrap()
        );
        assert_eq!(AgentId::parse("\tagent-3\n").unwrap().as_str(), "agent-3");
        assert_eq!(
            PropertyId::parse(" prop-7").unwrap(),
            PropertyId::parse("prop-7").unwrap()
        );
        for real in [
            "agent+tours@example.com",
            "U1",
            "SANDBOXTYPE00001",
            "team:east.alex_2",
        ] {
            assert_eq!(AgentId::parse(real).unwrap().as_str(), real);
            assert_eq!(PropertyId::parse(real).unwrap().as_str(), real);
        }
    }

    #[test]
    fn ids_that_would_need_escaping_or_are_too_long_are_refused() {
        for bad in [
            "",
            "   ",
            "agent 3",
            "a/b",
            "a#b",
            "a%20b",
            "agent\u{0}",
            "agént",
            "a?b",
        ] {
            assert!(AgentId::parse(bad).is_err(), "{bad:?} should be refused");
            assert!(PropertyId::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(AgentId::parse(&"a".repeat(AgentId::MAX_LEN)).is_ok());
        assert!(AgentId::parse(&"a".repeat(AgentId::MAX_LEN + 1)).is_err());
        assert!(PropertyId::parse(&"p".repeat(PropertyId::MAX_LEN + 1)).is_err());
    }

    #[test]
    fn a_request_keeps_its_ids_trimmed() {
        let mut padded = request();
        padded.agent_id = "agent-3 ".into();
        padded.property_id = "\tprop-7".into();
        padded.lead.as_mut().unwrap().name = "  Ada Lovelace ".into();
        let valid = ValidBooking::parse(padded).unwrap();
        assert_eq!(valid.agent_id, AgentId::parse("agent-3").unwrap());
        assert_eq!(valid.property_id.as_str(), "prop-7");
        assert_eq!(valid.request.agent_id, "agent-3");
        assert_eq!(valid.request.property_id, "prop-7");
        let lead = valid.request.lead.unwrap();
        assert_eq!(lead.name, "Ada Lovelace");
        assert_eq!(lead.email, "ada@example.com");
    }

    #[test]
    fn bad_ids_in_a_request_name_their_field() {
        let mut bad = request();
        bad.agent_id = "x".repeat(1_000);
        bad.property_id = "prop 7".into();
        assert_eq!(fields_of(bad), ["propertyId", "agentId"]);
    }

    #[test]
    fn free_text_is_trimmed_and_capped_in_characters() {
        let cap = TextCap::line(5);
        assert_eq!(
            FreeText::parse("f", "  héllo ", cap).unwrap().as_str(),
            "héllo"
        );
        let long = FreeText::parse("lead.name", "héllo!", cap).unwrap_err();
        assert_eq!(long.field, "lead.name");
        assert!(
            long.message.contains("at most 5 characters (got 6)"),
            "{long}"
        );
        assert_eq!(FreeText::parse("f", "", cap).unwrap().as_str(), "");
    }

    #[test]
    fn free_text_refuses_control_characters_except_line_breaks_in_multi_line_fields() {
        for bad in [
            "Ada\u{7}",
            "Ada\r\nBcc: x@example.com",
            "A\tda",
            "Ada\u{202E}",
            "A\u{2028}da",
        ] {
            let e = FreeText::parse("lead.name", bad, caps::LEAD_NAME).unwrap_err();
            assert_eq!(e.field, "lead.name", "{bad:?}");
        }
        let note = "line one\n\tline two\r\nthree";
        assert_eq!(
            FreeText::parse("r", note, caps::REASON).unwrap().as_str(),
            note
        );
        assert!(FreeText::parse("r", "bell\u{7}", caps::REASON).is_err());
        assert!(FreeText::parse("r", "\u{1b}[31mred", caps::REASON).is_err());
    }

    #[test]
    fn fitting_text_never_refuses_and_never_exceeds_the_cap() {
        assert_eq!(
            FreeText::fit(" plans changed ", caps::REASON),
            "plans changed"
        );
        assert_eq!(FreeText::fit("a\u{0}b", caps::CANCELLED_BY), "a b");
        let cut = FreeText::fit(&"é".repeat(5_000), caps::REASON);
        assert_eq!(cut.chars().count(), caps::REASON.max_chars);
        assert!(cut.ends_with('…'));
        assert!(FreeText::parse("r", &cut, caps::REASON).is_ok());
    }

    #[test]
    fn every_oversized_or_control_laden_text_field_is_listed() {
        let mut bad = request();
        let lead = bad.lead.as_mut().unwrap();
        lead.name = "x".repeat(10_000);
        lead.phone = "+44\u{0}1".into();
        lead.timezone = "Europe/London\n".repeat(10);
        bad.source_ref = "s".repeat(caps::SOURCE_REF.max_chars + 1);
        bad.request_id = "r\u{1b}".into();
        bad.answers
            .insert("Budget?".into(), "y".repeat(caps::ANSWER.max_chars + 1));
        bad.answers.insert("Bell\u{7}".into(), "fine".into());
        assert_eq!(
            fields_of(bad),
            [
                "lead.name",
                "lead.phone",
                "lead.timezone",
                "sourceRef",
                "requestId",
                "answers[0](\"Bell\\u{7}\").question",
                "answers[1](\"Budget?\").answer",
            ]
        );
    }

    #[test]
    fn answers_are_trimmed_and_bounded_in_number() {
        let mut ok = request();
        ok.answers.insert(" Budget? ".into(), " 1M\nor so ".into());
        let valid = ValidBooking::parse(ok).unwrap();
        assert_eq!(valid.request.answers["Budget?"], "1M\nor so");
        let mut many = request();
        for i in 0..=caps::ANSWERS_MAX {
            many.answers.insert(format!("q{i}"), "a".into());
        }
        assert_eq!(fields_of(many), ["answers"]);
    }

    #[test]
    fn requests_travel_as_readable_json() {
        let json = serde_json::to_value(request()).unwrap();
        assert_eq!(json["kind"], "BOOKING_KIND_PRIVATE_VIEWING");
        assert_eq!(json["lead"]["email"], "Ada@Example.COM");
        assert_eq!(json["tour"]["start"], "2026-12-01T15:00:00+00:00");
        let back: v1::BookingRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back, request());
    }
}
