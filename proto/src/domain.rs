//! Typed domain values, parsed once at a boundary (webhook, CLI, workflow input) so the code
//! behind it never sees an unchecked string.

use std::fmt;

use chrono::{DateTime, Duration, Utc};

use crate::{time, v1};

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

/// Our id of a booking; also names its workflow (`booking-<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BookingId(String);

impl BookingId {
    pub const MAX_LEN: usize = 100;
    const WORKFLOW_PREFIX: &'static str = "booking-";

    /// Accepts 1 to 100 ASCII letters, digits, `-` and `_`: safe in a workflow id, a URL path, a
    /// calendar extended property and a CRM property without escaping.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("must not be empty".into());
        }
        if raw.len() > Self::MAX_LEN {
            return Err(format!("must be at most {} characters", Self::MAX_LEN));
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!(
                "may only contain ASCII letters, digits, '-' and '_' (found {bad:?})"
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
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

impl fmt::Display for BookingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
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

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
        let start = window
            .start
            .as_ref()
            .ok_or_else(|| FieldError::new(format!("{field}.start"), "is required"))
            .and_then(|ts| {
                time::from_timestamp(ts)
                    .ok_or_else(|| FieldError::new(format!("{field}.start"), "is out of range"))
            })?;
        let end = window
            .end
            .as_ref()
            .ok_or_else(|| FieldError::new(format!("{field}.end"), "is required"))
            .and_then(|ts| {
                time::from_timestamp(ts)
                    .ok_or_else(|| FieldError::new(format!("{field}.end"), "is out of range"))
            })?;
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
    pub request: v1::BookingRequest,
}

impl ValidBooking {
    /// Checks a wire request. Time-relative rules (such as "start in the future") belong to the
    /// boundary that knows the current time, so they are not applied here.
    pub fn parse(request: v1::BookingRequest) -> Result<Self, ValidationErrors> {
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
        if request.property_id.trim().is_empty() {
            errors.push(FieldError::new("propertyId", "is required"));
        }
        if request.agent_id.trim().is_empty() {
            errors.push(FieldError::new("agentId", "is required"));
        }
        match (booking_id, event_id, kind, email, tour) {
            (Some(booking_id), Some(event_id), Some(kind), Some(email), Some(tour))
                if errors.is_empty() =>
            {
                Ok(Self {
                    booking_id,
                    event_id,
                    kind,
                    email,
                    tour,
                    request,
                })
            }
            _ => Err(ValidationErrors(errors)),
        }
    }
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
