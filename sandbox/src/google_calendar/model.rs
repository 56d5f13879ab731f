//! Calendar v3 event resources, as the API prints them, plus what the store keeps beside them.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_with::skip_serializing_none;

use super::error::GoogleError;
use crate::time;

/// An event resource exactly as the Calendar API returns it.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub kind: String,
    pub etag: String,
    pub id: String,
    /// `confirmed`, `tentative` or `cancelled` (deleted events stay, cancelled).
    pub status: String,
    pub html_link: String,
    pub created: String,
    pub updated: String,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub location: Option<String>,
    pub creator: Person,
    pub organizer: Person,
    pub start: EventDateTime,
    pub end: EventDateTime,
    #[serde(rename = "iCalUID")]
    pub ical_uid: String,
    pub sequence: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attendees: Vec<Attendee>,
    pub extended_properties: Option<ExtendedProperties>,
    pub transparency: Option<String>,
    #[serde(default)]
    pub reminders: Reminders,
    pub event_type: String,
}

impl Event {
    pub fn is_cancelled(&self) -> bool {
        self.status == "cancelled"
    }

    /// A value of `extendedProperties.private` (where clients keep their own ids).
    pub fn private_property(&self, key: &str) -> Option<&str> {
        self.extended_properties
            .as_ref()?
            .private
            .get(key)
            .map(String::as_str)
    }
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub email: String,
    #[serde(rename = "self")]
    pub is_self: Option<bool>,
}

/// `start`/`end`: `dateTime` (RFC 3339) or `date` (all-day), with an optional `timeZone`.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDateTime {
    pub date: Option<String>,
    pub date_time: Option<String>,
    pub time_zone: Option<String>,
}

impl EventDateTime {
    pub fn at(date_time: DateTime<Utc>) -> Self {
        Self {
            date: None,
            date_time: Some(time::seconds(date_time)),
            time_zone: Some("UTC".into()),
        }
    }

    /// The instant this denotes; all-day dates count from midnight UTC.
    pub fn instant(&self) -> Option<DateTime<Utc>> {
        match (&self.date_time, &self.date) {
            (Some(dt), None) => time::parse_rfc3339(dt),
            (None, Some(d)) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|dt| dt.and_utc()),
            _ => None,
        }
    }
}

#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attendee {
    pub email: String,
    pub display_name: Option<String>,
    pub optional: Option<bool>,
    pub response_status: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtendedProperties {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub private: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub shared: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reminders {
    pub use_default: bool,
}

impl Default for Reminders {
    fn default() -> Self {
        Self { use_default: true }
    }
}

/// The writable part of an event: the insert body, and what a patch is merged into.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventInput {
    pub id: Option<String>,
    pub status: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub location: Option<String>,
    pub start: Option<EventDateTime>,
    pub end: Option<EventDateTime>,
    pub attendees: Option<Vec<Attendee>>,
    pub extended_properties: Option<ExtendedProperties>,
    pub transparency: Option<String>,
}

impl From<&Event> for EventInput {
    fn from(e: &Event) -> Self {
        Self {
            id: Some(e.id.clone()),
            status: Some(e.status.clone()),
            summary: e.summary.clone(),
            description: e.description.clone(),
            location: e.location.clone(),
            start: Some(e.start.clone()),
            end: Some(e.end.clone()),
            attendees: (!e.attendees.is_empty()).then(|| e.attendees.clone()),
            extended_properties: e.extended_properties.clone(),
            transparency: e.transparency.clone(),
        }
    }
}

/// Times of a valid event input.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl EventInput {
    /// The checks Google applies to an event body, with Google's reasons.
    pub fn validate(&self) -> Result<Span, GoogleError> {
        let start = self
            .start
            .as_ref()
            .ok_or_else(|| GoogleError::required("Missing start time."))?;
        let end = self
            .end
            .as_ref()
            .ok_or_else(|| GoogleError::required("Missing end time."))?;
        let start_at = checked_time(start, "start")?;
        let end_at = checked_time(end, "end")?;
        if end_at < start_at {
            return Err(GoogleError::time_range_empty());
        }
        if let Some(status) = &self.status
            && !matches!(status.as_str(), "confirmed" | "tentative" | "cancelled")
        {
            return Err(GoogleError::invalid("Invalid value for: status"));
        }
        if let Some(t) = &self.transparency
            && !matches!(t.as_str(), "opaque" | "transparent")
        {
            return Err(GoogleError::invalid("Invalid value for: transparency"));
        }
        for attendee in self.attendees.iter().flatten() {
            if !crate::email::is_valid(&attendee.email) {
                return Err(GoogleError::invalid("Invalid attendee email."));
            }
        }
        if let Some(props) = &self.extended_properties {
            for (key, value) in props.private.iter().chain(props.shared.iter()) {
                // Google's documented limits for extended properties.
                if key.len() > 44 || value.len() > 1024 {
                    return Err(GoogleError::invalid(
                        "Invalid extended property: key or value too long.",
                    ));
                }
            }
        }
        Ok(Span {
            start: start_at,
            end: end_at,
        })
    }
}

fn checked_time(t: &EventDateTime, which: &str) -> Result<DateTime<Utc>, GoogleError> {
    if t.date.is_some() == t.date_time.is_some() {
        return Err(GoogleError::bad_request(format!("Invalid {which} time.")));
    }
    t.instant()
        .ok_or_else(|| GoogleError::bad_request(format!("Invalid {which} time.")))
}

/// `^[a-v0-9]{5,1024}$`: the base32hex alphabet Google requires of client-chosen ids.
pub fn is_valid_event_id(id: &str) -> bool {
    (5..=1024).contains(&id.len()) && id.bytes().all(|b| matches!(b, b'a'..=b'v' | b'0'..=b'9'))
}

/// RFC 7396 merge: objects merge key by key, `null` removes, anything else replaces.
/// Google's patch semantics for nested objects are the same; arrays are replaced whole.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// An event as stored: the resource plus the bookkeeping list and sync need.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredEvent {
    pub event: Event,
    /// Value of the calendar-wide change counter at the last change (for sync tokens).
    pub change_seq: u64,
    /// Insertion order (the default list order).
    pub order: u64,
    pub updated_at: DateTime<Utc>,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
}

/// A calendar event as the inspection API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarEventRecord {
    pub calendar_id: String,
    pub event: Event,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_ids_follow_base32hex() {
        assert!(is_valid_event_id("abcde"));
        assert!(is_valid_event_id("0123456789abcdefghijklmnopqrstuv"));
        assert!(!is_valid_event_id("abcd"));
        assert!(!is_valid_event_id("abcdw"));
        assert!(!is_valid_event_id("ABCDE"));
        assert!(!is_valid_event_id("abc-de"));
        assert!(!is_valid_event_id(&"a".repeat(1025)));
    }

    #[test]
    fn merge_patch_merges_objects_replaces_arrays_and_removes_nulls() {
        let mut target = json!({"a": {"x": 1, "y": 2}, "list": [1, 2], "gone": true});
        merge_patch(
            &mut target,
            &json!({"a": {"y": 3}, "list": [9], "gone": null}),
        );
        assert_eq!(target, json!({"a": {"x": 1, "y": 3}, "list": [9]}));
    }

    #[test]
    fn validation_uses_google_reasons() {
        let mut input = EventInput::default();
        assert_eq!(input.validate().unwrap_err().reason, "required");
        input.start = Some(EventDateTime {
            date_time: Some("2030-01-01T10:00:00Z".into()),
            ..Default::default()
        });
        input.end = Some(EventDateTime {
            date_time: Some("2030-01-01T09:00:00Z".into()),
            ..Default::default()
        });
        assert_eq!(input.validate().unwrap_err().reason, "timeRangeEmpty");
        input.end = Some(EventDateTime {
            date: Some("2030-01-02".into()),
            ..Default::default()
        });
        assert!(input.validate().is_ok());
    }
}
