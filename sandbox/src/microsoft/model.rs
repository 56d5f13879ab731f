//! Graph event resources: what the store keeps, how requests are read into it, and how
//! it is printed back.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::error::GraphError;
use super::odata;

/// Prefix of Exchange item ids (`AAMkAD...`); the rest is base64url of random bytes.
const ID_PREFIX: &str = "AAMkAD";

/// A single-value extended property (`{"id": "String {guid} Name <name>", "value": "..."}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtendedProperty {
    pub id: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphAttendee {
    /// `required`, `optional` or `resource`.
    pub kind: String,
    pub name: String,
    pub address: String,
}

/// An event as stored, tombstones included.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredGraphEvent {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub change_key: String,
    pub transaction_id: Option<String>,
    pub subject: String,
    pub body_type: String,
    pub body_content: String,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub location: String,
    pub attendees: Vec<GraphAttendee>,
    /// `free`, `tentative`, `busy`, `oof`, `workingElsewhere` or `unknown`.
    pub show_as: String,
    pub ical_uid: String,
    pub extended: Vec<ExtendedProperty>,
    pub deleted: bool,
    /// Mailbox change counter at the last change (for delta tokens).
    pub change_seq: u64,
    /// Insertion order (list and delta page order).
    pub order: u64,
}

/// A Graph calendar event as the inspection API shows it (`GET /_sandbox/microsoft/events`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphEventRecord {
    /// The mailbox (user id as first used, lower-cased).
    pub user: String,
    pub id: String,
    pub transaction_id: Option<String>,
    /// Value of the extended property whose id ends with ` Name booking_id`, if any.
    pub booking_id: Option<String>,
    pub subject: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub deleted: bool,
    pub last_modified: DateTime<Utc>,
}

/// Body of `POST /_sandbox/microsoft/events/{id}/move`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphEventMove {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

pub fn new_event_id() -> String {
    let mut bytes = Vec::with_capacity(48);
    for _ in 0..3 {
        bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    format!(
        "{ID_PREFIX}{}",
        data_encoding::BASE64URL_NOPAD.encode(&bytes)
    )
}

pub fn new_change_key() -> String {
    data_encoding::BASE64.encode(uuid::Uuid::new_v4().as_bytes())
}

fn hundred_nanos(t: DateTime<Utc>) -> String {
    format!(
        "{}.{:07}",
        t.format("%Y-%m-%dT%H:%M:%S"),
        t.timestamp_subsec_nanos() / 100
    )
}

/// `createdDateTime` style: `2026-12-05T14:00:00.1234567Z`.
pub fn stamp(t: DateTime<Utc>) -> String {
    format!("{}Z", hundred_nanos(t))
}

/// `dateTimeTimeZone.dateTime` style: `2026-12-05T14:00:00.0000000` (zone given apart).
pub fn local(t: DateTime<Utc>) -> String {
    hundred_nanos(t)
}

pub fn date_time_time_zone(t: DateTime<Utc>) -> Value {
    json!({ "dateTime": local(t), "timeZone": "UTC" })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DateTimeTimeZone {
    pub date_time: String,
    #[serde(default)]
    pub time_zone: Option<String>,
}

impl DateTimeTimeZone {
    /// The instant; only the `UTC` zone is understood, and `dateTime` carries no offset
    /// (a trailing `Z` is tolerated, as it says the same thing).
    pub fn instant(&self) -> Result<DateTime<Utc>, GraphError> {
        let zone = self.time_zone.as_deref().unwrap_or_default();
        if !zone.eq_ignore_ascii_case("UTC") {
            return Err(GraphError::time_zone_not_supported(zone));
        }
        let raw = self.date_time.trim();
        let naive = raw.strip_suffix('Z').unwrap_or(raw);
        NaiveDateTime::parse_from_str(naive, "%Y-%m-%dT%H:%M:%S%.f")
            .or_else(|_| NaiveDateTime::parse_from_str(naive, "%Y-%m-%dT%H:%M"))
            .map(|n| n.and_utc())
            .map_err(|_| {
                GraphError::invalid_request(format!(
                    "Cannot convert the literal '{raw}' to the expected type 'Edm.DateTimeOffset'."
                ))
            })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemBody {
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    content: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LocationIn {
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmailAddressIn {
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AttendeeIn {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    email_address: EmailAddressIn,
}

/// The writable properties a create or patch body gives (absent: unchanged).
#[derive(Debug, Default)]
pub struct EventChanges {
    pub subject: Option<String>,
    pub body: Option<(String, String)>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub location: Option<String>,
    pub attendees: Option<Vec<GraphAttendee>>,
    pub show_as: Option<String>,
    pub transaction_id: Option<String>,
    pub extended: Option<Vec<ExtendedProperty>>,
}

fn field<T: serde::de::DeserializeOwned>(
    object: &Map<String, Value>,
    name: &str,
    type_name: &str,
) -> Result<Option<T>, GraphError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone()).map(Some).map_err(|e| {
            GraphError::invalid_request(format!(
                "Invalid value for property '{name}' of type '{type_name}': {e}"
            ))
        }),
    }
}

const SHOW_AS: &[&str] = &[
    "free",
    "tentative",
    "busy",
    "oof",
    "workingElsewhere",
    "unknown",
];

impl EventChanges {
    /// Reads and checks a JSON object body. Properties the sandbox does not model
    /// (`isReminderOn`, `categories`, `importance`, ...) are accepted and ignored.
    pub fn parse(body: &Value) -> Result<Self, GraphError> {
        let Value::Object(object) = body else {
            return Err(GraphError::invalid_request(
                "The request body must be a JSON object.",
            ));
        };
        let mut changes = Self {
            subject: field(object, "subject", "Edm.String")?,
            transaction_id: field(object, "transactionId", "Edm.String")?,
            ..Self::default()
        };
        if let Some(body) = field::<ItemBody>(object, "body", "microsoft.graph.itemBody")? {
            let kind = match body.content_type.as_deref().map(str::to_ascii_lowercase) {
                None => "text".to_owned(),
                Some(k) if k == "text" || k == "html" => k,
                Some(other) => {
                    return Err(GraphError::bad_request(
                        "RequestBodyRead",
                        format!(
                            "Cannot convert the literal '{other}' to the expected type 'microsoft.graph.bodyType'."
                        ),
                    ));
                }
            };
            changes.body = Some((kind, body.content.unwrap_or_default()));
        }
        for (name, slot) in [("start", &mut changes.start), ("end", &mut changes.end)] {
            if let Some(t) =
                field::<DateTimeTimeZone>(object, name, "microsoft.graph.dateTimeTimeZone")?
            {
                *slot = Some(t.instant()?);
            }
        }
        if let Some(location) = field::<LocationIn>(object, "location", "microsoft.graph.location")?
        {
            changes.location = Some(location.display_name.unwrap_or_default());
        }
        if let Some(attendees) =
            field::<Vec<AttendeeIn>>(object, "attendees", "Collection(microsoft.graph.attendee)")?
        {
            let mut out = Vec::with_capacity(attendees.len());
            for a in attendees {
                let address = a.email_address.address.unwrap_or_default();
                if !crate::email::is_valid(&address) {
                    return Err(GraphError::bad_request(
                        "ErrorInvalidRecipients",
                        "At least one recipient isn't valid., A recipient with an invalid email address was specified.",
                    ));
                }
                let kind = a.kind.unwrap_or_else(|| "required".into());
                if !matches!(kind.as_str(), "required" | "optional" | "resource") {
                    return Err(GraphError::bad_request(
                        "RequestBodyRead",
                        format!(
                            "Cannot convert the literal '{kind}' to the expected type 'microsoft.graph.attendeeType'."
                        ),
                    ));
                }
                out.push(GraphAttendee {
                    kind,
                    name: a.email_address.name.unwrap_or_else(|| address.clone()),
                    address,
                });
            }
            changes.attendees = Some(out);
        }
        if let Some(show_as) = field::<String>(object, "showAs", "microsoft.graph.freeBusyStatus")?
        {
            if !SHOW_AS.contains(&show_as.as_str()) {
                return Err(GraphError::bad_request(
                    "RequestBodyRead",
                    format!(
                        "Cannot convert the literal '{show_as}' to the expected type 'microsoft.graph.freeBusyStatus'."
                    ),
                ));
            }
            changes.show_as = Some(show_as);
        }
        if let Some(props) = field::<Vec<ExtendedProperty>>(
            object,
            "singleValueExtendedProperties",
            "Collection(microsoft.graph.singleValueLegacyExtendedProperty)",
        )? {
            for p in &props {
                if !odata::is_valid_property_id(&p.id) {
                    return Err(GraphError::bad_request(
                        "ErrorInvalidExtendedPropertyValue",
                        format!("The extended property id '{}' is not valid.", p.id),
                    ));
                }
            }
            changes.extended = Some(props);
        }
        Ok(changes)
    }

    /// Writes the given properties onto an event (extended properties are upserted by id).
    pub fn apply(self, event: &mut StoredGraphEvent) {
        if let Some(subject) = self.subject {
            event.subject = subject;
        }
        if let Some((kind, content)) = self.body {
            event.body_type = kind;
            event.body_content = content;
        }
        if let Some(start) = self.start {
            event.start_at = start;
        }
        if let Some(end) = self.end {
            event.end_at = end;
        }
        if let Some(location) = self.location {
            event.location = location;
        }
        if let Some(attendees) = self.attendees {
            event.attendees = attendees;
        }
        if let Some(show_as) = self.show_as {
            event.show_as = show_as;
        }
        for prop in self.extended.into_iter().flatten() {
            match event
                .extended
                .iter_mut()
                .find(|p| odata::same_property_id(&p.id, &prop.id))
            {
                Some(existing) => existing.value = prop.value,
                None => event.extended.push(prop),
            }
        }
    }
}

/// Up to 255 characters of the body as plain text (tags dropped, whitespace collapsed).
fn body_preview(kind: &str, content: &str) -> String {
    let text = if kind == "html" {
        let mut out = String::with_capacity(content.len());
        let mut in_tag = false;
        for c in content.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => {
                    in_tag = false;
                    out.push(' ');
                }
                _ if !in_tag => out.push(c),
                _ => {}
            }
        }
        out
    } else {
        content.to_owned()
    };
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(255)
        .collect()
}

impl StoredGraphEvent {
    pub fn overlaps(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        self.start_at < end && self.end_at > start
    }

    pub fn touch(&mut self, now: DateTime<Utc>, change_seq: u64) {
        self.updated_at = now;
        self.change_key = new_change_key();
        self.change_seq = change_seq;
    }

    pub fn record(&self, user: &str) -> GraphEventRecord {
        GraphEventRecord {
            user: user.to_owned(),
            id: self.id.clone(),
            transaction_id: self.transaction_id.clone(),
            booking_id: self
                .extended
                .iter()
                .find(|p| odata::property_name(&p.id) == Some("booking_id"))
                .map(|p| p.value.clone()),
            subject: self.subject.clone(),
            start: self.start_at,
            end: self.end_at,
            deleted: self.deleted,
            last_modified: self.updated_at,
        }
    }

    /// The event resource. `expand`: the extended-property id of
    /// `$expand=singleValueExtendedProperties($filter=id eq '...')`.
    pub fn to_json(&self, user: &str, expand: Option<&str>) -> Value {
        let web_link = format!(
            "https://outlook.office365.com/owa/?itemid={}&exvsurl=1&path=/calendar/item",
            super::query_value(&self.id)
        );
        let attendees: Vec<Value> = self
            .attendees
            .iter()
            .map(|a| {
                json!({
                    "type": a.kind,
                    "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                    "emailAddress": {"name": a.name, "address": a.address},
                })
            })
            .collect();
        let mut event = json!({
            "@odata.etag": format!("W/\"{}\"", self.change_key),
            "id": self.id,
            "createdDateTime": stamp(self.created_at),
            "lastModifiedDateTime": stamp(self.updated_at),
            "changeKey": self.change_key,
            "categories": [],
            "transactionId": self.transaction_id,
            "originalStartTimeZone": "UTC",
            "originalEndTimeZone": "UTC",
            "iCalUId": self.ical_uid,
            "reminderMinutesBeforeStart": 15,
            "isReminderOn": true,
            "hasAttachments": false,
            "subject": self.subject,
            "bodyPreview": body_preview(&self.body_type, &self.body_content),
            "importance": "normal",
            "sensitivity": "normal",
            "isAllDay": false,
            "isCancelled": false,
            "isOrganizer": true,
            "responseRequested": true,
            "seriesMasterId": null,
            "showAs": self.show_as,
            "type": "singleInstance",
            "webLink": web_link,
            "onlineMeetingUrl": null,
            "isOnlineMeeting": false,
            "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
            "body": {"contentType": self.body_type, "content": self.body_content},
            "start": date_time_time_zone(self.start_at),
            "end": date_time_time_zone(self.end_at),
            "location": {
                "displayName": self.location,
                "locationType": "default",
                "uniqueIdType": "unknown",
                "address": {},
                "coordinates": {},
            },
            "locations": [],
            "recurrence": null,
            "attendees": attendees,
            "organizer": {"emailAddress": {"name": user, "address": user}},
        });
        if let Some(wanted) = expand {
            let matching: Vec<&ExtendedProperty> = self
                .extended
                .iter()
                .filter(|p| odata::same_property_id(&p.id, wanted))
                .collect();
            if !matching.is_empty() {
                event["singleValueExtendedProperties"] = json!(matching);
            }
        }
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_with_seven_fraction_digits() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-12-05T14:00:00.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(stamp(t), "2026-12-05T14:00:00.1234567Z");
        assert_eq!(local(t), "2026-12-05T14:00:00.1234567");
    }

    #[test]
    fn date_times_are_read_in_utc_only() {
        let ok = DateTimeTimeZone {
            date_time: "2026-12-05T14:00:00".into(),
            time_zone: Some("UTC".into()),
        };
        assert_eq!(stamp(ok.instant().unwrap()), "2026-12-05T14:00:00.0000000Z");
        let fraction = DateTimeTimeZone {
            date_time: "2026-12-05T14:00:00.5000000".into(),
            time_zone: Some("UTC".into()),
        };
        assert_eq!(
            stamp(fraction.instant().unwrap()),
            "2026-12-05T14:00:00.5000000Z"
        );
        let zone = DateTimeTimeZone {
            date_time: "2026-12-05T14:00:00".into(),
            time_zone: Some("Pacific Standard Time".into()),
        };
        assert_eq!(
            zone.instant().unwrap_err().code,
            "TimeZoneNotSupportedException"
        );
    }

    #[test]
    fn previews_drop_tags() {
        assert_eq!(
            body_preview("html", "<p>Hello <b>there</b></p>"),
            "Hello there"
        );
        assert_eq!(body_preview("text", "a\n\n b"), "a b");
    }
}
