//! The generic booking form (`POST /webhooks/form`): its JSON, and the checks that turn it into
//! a [`ValidBooking`] or into every field error at once.
//!
//! ```json
//! { "submission_id": "sub-123", "booking_id": "optional", "kind": "private_viewing",
//!   "lead": {"email": "ada@example.com", "name": "Ada", "phone": "+44 ..."},
//!   "property_id": "prop-7", "agent_id": "agent-3",
//!   "start": "2026-12-01T15:00:00+01:00", "end": "2026-12-01T15:30:00+01:00",
//!   "timezone": "Europe/London" }
//! ```
//!
//! `start`/`end` are local times that must carry their UTC offset (RFC 3339); they are stored
//! in UTC. `timezone` (IANA name) is kept for the lead's emails. The booking id defaults to
//! `form-<submission_id>`, so a resubmission of the same form lands on the same booking.
//!
//! Ids are trimmed and held to the identifier rules of [`AgentId`] / [`BookingId`]; free text
//! to the caps of [`caps`], so an oversized or control-laden field is a 400 naming it, never
//! history, CRM or email content. Errors name the form's own keys (`agent_id`, `lead.name`).

mod body;

pub use body::{BookingForm, FormKind, FormLead};

use booking_proto::{
    domain::{
        AgentId, BookingId, Email, EventId, FieldError, FreeText, PropertyId, TextCap, TourSlot,
        ValidBooking, caps,
    },
    v1::{BookingKind, BookingRequest, BookingSource, Lead},
};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A form submission id is part of the booking's event id (`form:<id>#submitted`).
const SUBMISSION_ID: TextCap = TextCap::line(128);

/// The form's key for a field [`ValidBooking::parse`] names in wire (camelCase) terms, for the
/// rare error only that check finds.
fn form_key(field: String) -> String {
    match field.as_str() {
        "bookingId" => "booking_id".into(),
        "agentId" => "agent_id".into(),
        "propertyId" => "property_id".into(),
        "eventId" | "sourceRef" => "submission_id".into(),
        "lead.timezone" => "timezone".into(),
        _ => field,
    }
}

fn text<'a>(obj: &'a serde_json::Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err("must be a string".into()),
    }
}

/// Parses and validates a form body against `now`. Every problem is reported, not just the
/// first.
pub fn parse(
    body: &[u8],
    now: DateTime<Utc>,
    request_id: &str,
) -> Result<ValidBooking, Vec<FieldError>> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| vec![FieldError::new("body", format!("is not JSON: {e}"))])?;
    let Value::Object(obj) = value else {
        return Err(vec![FieldError::new("body", "must be a JSON object")]);
    };
    let mut errors = Vec::new();
    let required = |key: &str, errors: &mut Vec<FieldError>| -> Option<String> {
        match text(&obj, key) {
            Ok(Some(s)) => Some(s.to_owned()),
            Ok(None) => {
                errors.push(FieldError::new(key, "is required"));
                None
            }
            Err(m) => {
                errors.push(FieldError::new(key, m));
                None
            }
        }
    };
    let submission_id = required("submission_id", &mut errors).and_then(|raw| {
        let id = FreeText::parse("submission_id", &raw, SUBMISSION_ID)
            .map_err(|e| errors.push(e))
            .ok()?
            .into_string();
        EventId::parse(&format!("form:{id}#submitted"))
            .map_err(|m| errors.push(FieldError::new("submission_id", m)))
            .ok()?;
        Some(id)
    });
    let kind = required("kind", &mut errors).and_then(|k| match k.as_str() {
        "private_viewing" => Some(BookingKind::PrivateViewing),
        "open_house" => Some(BookingKind::OpenHouse),
        _ => {
            errors.push(FieldError::new(
                "kind",
                "must be private_viewing or open_house",
            ));
            None
        }
    });
    let property_id = required("property_id", &mut errors).and_then(|raw| {
        PropertyId::parse(&raw)
            .map_err(|m| errors.push(FieldError::new("property_id", m)))
            .ok()
    });
    let agent_id = required("agent_id", &mut errors).and_then(|raw| {
        AgentId::parse(&raw)
            .map_err(|m| errors.push(FieldError::new("agent_id", m)))
            .ok()
    });
    let time = |key: &str, errors: &mut Vec<FieldError>| -> Option<DateTime<Utc>> {
        let raw = required(key, errors)?;
        match DateTime::parse_from_rfc3339(&raw) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                errors.push(FieldError::new(
                    key,
                    "must be a date-time with a UTC offset, e.g. 2026-12-01T15:00:00+01:00",
                ));
                None
            }
        }
    };
    let start = time("start", &mut errors);
    let end = time("end", &mut errors);
    let timezone = match text(&obj, "timezone") {
        Ok(tz) => tz.unwrap_or_default().to_owned(),
        Err(m) => {
            errors.push(FieldError::new("timezone", m));
            String::new()
        }
    };
    if timezone.chars().count() > caps::LEAD_TIMEZONE.max_chars
        || timezone
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        errors.push(FieldError::new(
            "timezone",
            "must be an IANA zone name such as Europe/London",
        ));
    }
    let booking_id = match text(&obj, "booking_id") {
        Ok(Some(id)) => BookingId::parse(id)
            .map_err(|m| errors.push(FieldError::new("booking_id", m)))
            .ok(),
        Ok(None) => submission_id.as_deref().and_then(|s| {
            BookingId::parse(&format!("form-{s}"))
                .map_err(|m| errors.push(FieldError::new("submission_id", m)))
                .ok()
        }),
        Err(m) => {
            errors.push(FieldError::new("booking_id", m));
            None
        }
    };
    let mut lead = Lead {
        timezone: timezone.clone(),
        ..Lead::default()
    };
    match obj.get("lead") {
        Some(Value::Object(l)) => {
            match text(l, "email") {
                Ok(Some(e)) => match Email::parse(e) {
                    Ok(email) => lead.email = email.to_string(),
                    Err(m) => errors.push(FieldError::new("lead.email", m)),
                },
                Ok(None) => errors.push(FieldError::new("lead.email", "is required")),
                Err(m) => errors.push(FieldError::new("lead.email", m)),
            }
            match text(l, "name") {
                Ok(Some(n)) => match FreeText::parse("lead.name", n, caps::LEAD_NAME) {
                    Ok(name) => lead.name = name.into_string(),
                    Err(e) => errors.push(e),
                },
                Ok(None) => errors.push(FieldError::new("lead.name", "is required")),
                Err(m) => errors.push(FieldError::new("lead.name", m)),
            }
            match text(l, "phone") {
                Ok(p) => {
                    match FreeText::parse("lead.phone", p.unwrap_or_default(), caps::LEAD_PHONE) {
                        Ok(phone) => lead.phone = phone.into_string(),
                        Err(e) => errors.push(e),
                    }
                }
                Err(m) => errors.push(FieldError::new("lead.phone", m)),
            }
        }
        None | Some(Value::Null) => errors.push(FieldError::new("lead", "is required")),
        Some(_) => errors.push(FieldError::new("lead", "must be an object")),
    }
    let mut tour = None;
    if let (Some(start), Some(end)) = (start, end) {
        if start <= now {
            errors.push(FieldError::new("start", "must be in the future"));
        }
        match TourSlot::new(start, end) {
            Ok(slot) => tour = Some(slot),
            Err(m) => errors.push(FieldError::new("end", m)),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let (Some(booking_id), Some(submission_id), Some(kind), Some(tour)) =
        (booking_id, submission_id, kind, tour)
    else {
        return Err(vec![FieldError::new("body", "is incomplete")]);
    };
    let request = BookingRequest {
        booking_id: booking_id.to_string(),
        event_id: format!("form:{submission_id}#submitted"),
        kind: kind as i32,
        source: BookingSource::Form as i32,
        source_ref: submission_id,
        lead: Some(lead),
        property_id: property_id.map(|id| id.to_string()).unwrap_or_default(),
        agent_id: agent_id.map(|id| id.to_string()).unwrap_or_default(),
        tour: Some(tour.to_proto()),
        request_id: request_id.to_owned(),
        answers: Default::default(),
        continued: None,
    };
    ValidBooking::parse(request).map_err(|e| {
        e.0.into_iter()
            .map(|f| FieldError::new(form_key(f.field), f.message))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap()
    }

    fn good() -> Value {
        serde_json::json!({
            "submission_id": "sub-1",
            "kind": "private_viewing",
            "lead": {"email": "Ada@Example.com", "name": "Ada", "phone": "+44 1"},
            "property_id": "prop-7",
            "agent_id": "agent-3",
            "start": "2026-12-01T15:00:00+01:00",
            "end": "2026-12-01T15:30:00+01:00",
            "timezone": "Europe/Paris"
        })
    }

    fn fields(v: Value) -> Vec<String> {
        parse(&serde_json::to_vec(&v).unwrap(), now(), "r")
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn a_good_form_converts_local_times_to_utc() {
        let valid = parse(&serde_json::to_vec(&good()).unwrap(), now(), "req-1").unwrap();
        assert_eq!(valid.booking_id.as_str(), "form-sub-1");
        assert_eq!(
            valid.tour.start(),
            Utc.with_ymd_and_hms(2026, 12, 1, 14, 0, 0).unwrap()
        );
        assert_eq!(valid.email.as_str(), "ada@example.com");
        assert_eq!(valid.request.request_id, "req-1");
        assert_eq!(valid.request.event_id, "form:sub-1#submitted");
    }

    #[test]
    fn every_problem_is_listed() {
        let mut v = good();
        v["lead"]["email"] = "nope".into();
        v["start"] = "2020-01-01T10:00:00Z".into();
        v["end"] = "2019-01-01T10:00:00Z".into();
        v.as_object_mut().unwrap().remove("agent_id");
        v["kind"] = "party".into();
        let f = fields(v);
        for expected in ["lead.email", "start", "end", "agent_id", "kind"] {
            assert!(f.iter().any(|x| x == expected), "{expected} in {f:?}");
        }
    }

    fn with(path: &[&str], value: Value) -> Value {
        let mut v = good();
        let (last, parents) = path.split_last().unwrap();
        let mut at = &mut v;
        for key in parents {
            at = &mut at[*key];
        }
        at[*last] = value;
        v
    }

    #[test]
    fn an_oversized_name_is_refused_naming_lead_name() {
        assert_eq!(
            fields(with(&["lead", "name"], "A".repeat(10_000).into())),
            ["lead.name"]
        );
        let at_cap = with(
            &["lead", "name"],
            "A".repeat(caps::LEAD_NAME.max_chars).into(),
        );
        assert!(parse(&serde_json::to_vec(&at_cap).unwrap(), now(), "r").is_ok());
    }

    #[test]
    fn control_characters_in_free_text_are_refused_naming_each_field() {
        assert_eq!(
            fields(with(&["lead", "name"], "Ada\u{7}Lovelace".into())),
            ["lead.name"]
        );
        assert_eq!(
            fields(with(
                &["lead", "name"],
                "Ada\r\nBcc: all@example.com".into()
            )),
            ["lead.name"]
        );
        let mut v = with(&["lead", "phone"], "+44\u{0}1".into());
        v["submission_id"] = "x".repeat(500).into();
        v["booking_id"] = "bk-1".into();
        assert_eq!(fields(v), ["submission_id", "lead.phone"]);
    }

    #[test]
    fn padded_ids_are_normalised_and_bad_ones_named() {
        let mut v = with(&["agent_id"], "agent-3 ".into());
        v["property_id"] = "\tprop-7".into();
        v["booking_id"] = " bk-7 ".into();
        let valid = parse(&serde_json::to_vec(&v).unwrap(), now(), "r").unwrap();
        assert_eq!(valid.agent_id.as_str(), "agent-3");
        assert_eq!(valid.request.agent_id, "agent-3");
        assert_eq!(valid.request.property_id, "prop-7");
        assert_eq!(valid.booking_id.as_str(), "bk-7");
        assert_eq!(valid.request.booking_id, "bk-7");

        let mut v = with(&["agent_id"], "x".repeat(10_000).into());
        v["property_id"] = "prop/7".into();
        assert_eq!(fields(v), ["property_id", "agent_id"]);
        for bad in ["bk 7", "bk\u{0}", "../bk", &"b".repeat(101)] {
            assert_eq!(
                fields(with(&["booking_id"], bad.into())),
                ["booking_id"],
                "{bad:?}"
            );
        }
    }

    #[test]
    fn times_need_an_offset_and_the_body_an_object() {
        let mut v = good();
        v["start"] = "2026-12-01T15:00:00".into();
        assert_eq!(fields(v), ["start"]);
        assert_eq!(fields(serde_json::json!([1])), ["body"]);
        let mut v = good();
        v["lead"] = Value::Null;
        assert_eq!(fields(v), ["lead"]);
    }
}
