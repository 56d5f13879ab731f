//! Object types and property definitions, and the value checks HubSpot applies to them.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::{HubspotError, PropertyProblem};
use crate::time;

/// The CRM object types the sandbox keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectType {
    Contacts,
    Tasks,
    Notes,
}

impl ObjectType {
    /// Accepts the names and the numeric type ids HubSpot accepts in paths.
    pub fn parse(segment: &str) -> Result<Self, HubspotError> {
        match segment.to_ascii_lowercase().as_str() {
            "contacts" | "contact" | "0-1" => Ok(Self::Contacts),
            "tasks" | "task" | "0-27" => Ok(Self::Tasks),
            "notes" | "note" | "0-46" => Ok(Self::Notes),
            _ => Err(HubspotError::validation(format!(
                "Unable to infer object type from: {segment}"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Contacts => "contacts",
            Self::Tasks => "tasks",
            Self::Notes => "notes",
        }
    }

    pub fn singular(self) -> &'static str {
        match self {
            Self::Contacts => "contact",
            Self::Tasks => "task",
            Self::Notes => "note",
        }
    }

    /// Properties a GET returns when the client asks for none.
    pub fn default_properties(self) -> &'static [&'static str] {
        match self {
            Self::Contacts => &[
                "createdate",
                "email",
                "firstname",
                "hs_object_id",
                "lastmodifieddate",
                "lastname",
            ],
            Self::Tasks | Self::Notes => &["hs_createdate", "hs_lastmodifieddate", "hs_object_id"],
        }
    }

    pub fn created_property(self) -> &'static str {
        match self {
            Self::Contacts => "createdate",
            _ => "hs_createdate",
        }
    }

    pub fn modified_property(self) -> &'static str {
        match self {
            Self::Contacts => "lastmodifieddate",
            _ => "hs_lastmodifieddate",
        }
    }

    /// Properties that must be present on create.
    pub fn required_properties(self) -> &'static [&'static str] {
        match self {
            Self::Contacts => &[],
            Self::Tasks | Self::Notes => &["hs_timestamp"],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PropertyKind {
    String,
    Enumeration,
    Datetime,
    Date,
    Number,
    Bool,
}

impl PropertyKind {
    fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "string" | "phone_number" => Self::String,
            "enumeration" => Self::Enumeration,
            "datetime" => Self::Datetime,
            "date" => Self::Date,
            "number" => Self::Number,
            "bool" => Self::Bool,
            _ => return None,
        })
    }

    fn api_name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Enumeration => "enumeration",
            Self::Datetime => "datetime",
            Self::Date => "date",
            Self::Number => "number",
            Self::Bool => "bool",
        }
    }

    fn default_field_type(self) -> &'static str {
        match self {
            Self::String => "text",
            Self::Enumeration => "select",
            Self::Datetime | Self::Date => "date",
            Self::Number => "number",
            Self::Bool => "booleancheckbox",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyDefinition {
    pub name: String,
    pub label: String,
    pub kind: PropertyKind,
    pub field_type: String,
    pub group_name: String,
    pub description: String,
    /// Allowed values of an enumeration.
    pub options: Vec<String>,
    pub read_only: bool,
    pub unique: bool,
    pub hubspot_defined: bool,
}

impl PropertyDefinition {
    fn builtin(name: &str, label: &str, kind: PropertyKind, group: &str) -> Self {
        Self {
            name: name.into(),
            label: label.into(),
            kind,
            field_type: kind.default_field_type().into(),
            group_name: group.into(),
            description: String::new(),
            options: Vec::new(),
            read_only: false,
            unique: false,
            hubspot_defined: true,
        }
    }

    fn options(mut self, options: &[&str]) -> Self {
        self.options = options.iter().map(|o| (*o).to_owned()).collect();
        self
    }

    fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    fn custom(mut self, description: &str) -> Self {
        self.hubspot_defined = false;
        self.description = description.into();
        self
    }

    /// The property as `GET /crm/v3/properties/{objectType}` prints it.
    pub fn render(&self) -> Value {
        let options: Vec<Value> = self
            .options
            .iter()
            .enumerate()
            .map(|(i, o)| json!({ "label": o, "value": o, "displayOrder": i, "hidden": false }))
            .collect();
        json!({
            "name": self.name,
            "label": self.label,
            "type": self.kind.api_name(),
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            "options": options,
            "displayOrder": -1,
            "calculated": false,
            "externalOptions": false,
            "hasUniqueValue": self.unique,
            "hidden": false,
            "hubspotDefined": self.hubspot_defined,
            "modificationMetadata": {
                "archivable": !self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only,
            },
            "formField": !self.read_only,
            "archived": false,
        })
    }

    /// Checks and normalises one input value (HubSpot keeps every value as a string).
    fn normalise(&self, value: &Value) -> Result<String, PropertyProblem> {
        let problem = |error: &'static str, message: String| PropertyProblem {
            name: self.name.clone(),
            error,
            message,
        };
        if self.read_only {
            return Err(problem(
                "READ_ONLY_VALUE",
                format!(
                    "\"{}\" is a read only property; its value cannot be set.",
                    self.name
                ),
            ));
        }
        let raw = match value {
            Value::Null => return Ok(String::new()),
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => {
                return Err(problem(
                    "INVALID_TYPE",
                    format!("{value} is not a valid value for {}", self.name),
                ));
            }
        };
        // An empty string clears a property of any type.
        if raw.is_empty() {
            return Ok(raw);
        }
        if self.name == "email" && !crate::email::is_valid(&raw) {
            return Err(problem(
                "INVALID_EMAIL",
                format!("Email address {raw} is invalid"),
            ));
        }
        match self.kind {
            PropertyKind::String => Ok(if self.name == "email" {
                raw.to_lowercase()
            } else {
                raw
            }),
            PropertyKind::Enumeration => {
                let allowed = raw.split(';').all(|v| self.options.iter().any(|o| o == v));
                if allowed {
                    Ok(raw)
                } else {
                    Err(problem(
                        "INVALID_OPTION",
                        format!(
                            "{raw} was not one of the allowed options: [{}]",
                            self.options.join(", ")
                        ),
                    ))
                }
            }
            PropertyKind::Datetime => parse_datetime(&raw).map(time::millis).ok_or_else(|| {
                problem(
                    "INVALID_DATETIME",
                    format!("{raw} is not a valid datetime; use epoch milliseconds or ISO 8601"),
                )
            }),
            PropertyKind::Date => parse_datetime(&raw)
                .map(|t| t.format("%Y-%m-%d").to_string())
                .ok_or_else(|| problem("INVALID_DATE", format!("{raw} is not a valid date"))),
            PropertyKind::Number => raw
                .parse::<f64>()
                .map(|_| raw.clone())
                .map_err(|_| problem("INVALID_DOUBLE", format!("{raw} is not a valid number"))),
            PropertyKind::Bool => match raw.to_ascii_lowercase().as_str() {
                "true" | "false" => Ok(raw.to_ascii_lowercase()),
                _ => Err(problem(
                    "INVALID_BOOLEAN",
                    format!("{raw} is not a valid boolean"),
                )),
            },
        }
    }
}

/// Epoch milliseconds, an ISO 8601 instant, or a plain date (midnight UTC).
pub fn parse_datetime(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(ms) = raw.parse::<i64>() {
        return DateTime::from_timestamp_millis(ms);
    }
    time::parse_rfc3339(raw).or_else(|| {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|dt| dt.and_utc())
    })
}

/// `hs_task_status`' options, as HubSpot lists them.
const TASK_STATUSES: [&str; 5] = [
    "NOT_STARTED",
    "IN_PROGRESS",
    "WAITING",
    "COMPLETED",
    "DEFERRED",
];

/// `hs_task_type`'s options.
const TASK_TYPES: [&str; 5] = ["CALL", "EMAIL", "TODO", "LINKED_IN", "MEETING"];

pub fn builtin_properties(object: ObjectType) -> Vec<PropertyDefinition> {
    use PropertyKind::*;
    let p = PropertyDefinition::builtin;
    let common_tail = |group: &str| {
        vec![
            p("hs_object_id", "Record ID", Number, group).read_only(),
            p("hubspot_owner_id", "Owner", String, group),
        ]
    };
    // Tasks and notes are engagements (each has its timestamp), which the booking engine
    // creates idempotently.
    let engagement = |noun: &str, timestamp: &str, own: Vec<PropertyDefinition>| {
        let mut list = vec![p("hs_timestamp", timestamp, Datetime, noun)];
        list.extend(own);
        list.extend([
            p("hs_createdate", "Created at", Datetime, noun).read_only(),
            p("hs_lastmodifieddate", "Last Modified Date", Datetime, noun).read_only(),
            p("booking_id", "Booking ID", String, "booking")
                .custom(&format!("Booking the {noun} belongs to (custom property).")),
            p(
                "booking_dedup_key",
                "Booking de-duplication key",
                String,
                "booking",
            )
            .custom(&format!(
                "Set by the booking engine so a retried create can find the {noun} it already \
                 made (custom property)."
            )),
        ]);
        list.extend(common_tail(noun));
        list
    };
    match object {
        ObjectType::Contacts => [
            vec![
                p("email", "Email", String, "contactinformation"),
                p("firstname", "First Name", String, "contactinformation"),
                p("lastname", "Last Name", String, "contactinformation"),
                p("phone", "Phone Number", String, "contactinformation"),
                p("company", "Company Name", String, "contactinformation"),
                p("website", "Website URL", String, "contactinformation"),
                p("city", "City", String, "contactinformation"),
                p(
                    "lifecyclestage",
                    "Lifecycle Stage",
                    Enumeration,
                    "contactinformation",
                )
                .options(&[
                    "subscriber",
                    "lead",
                    "marketingqualifiedlead",
                    "salesqualifiedlead",
                    "opportunity",
                    "customer",
                    "evangelist",
                    "other",
                ]),
                p(
                    "hs_lead_status",
                    "Lead Status",
                    Enumeration,
                    "sales_properties",
                )
                .options(&[
                    "NEW",
                    "OPEN",
                    "IN_PROGRESS",
                    "OPEN_DEAL",
                    "UNQUALIFIED",
                    "ATTEMPTED_TO_CONTACT",
                    "CONNECTED",
                    "BAD_TIMING",
                ]),
                p("createdate", "Create Date", Datetime, "contactinformation"),
                p(
                    "lastmodifieddate",
                    "Last Modified Date",
                    Datetime,
                    "contactinformation",
                )
                .read_only(),
                p("booking_id", "Booking ID", String, "booking")
                    .custom("Id of the latest tour booking (custom property)."),
                p("booking_status", "Booking Status", String, "booking")
                    .custom("Lifecycle state of the latest booking (custom property)."),
                p("tour_start", "Tour Start", Datetime, "booking")
                    .custom("Start of the latest booked tour (custom property)."),
                p("tour_type", "Tour Type", String, "booking")
                    .custom("Private viewing or open house (custom property)."),
            ],
            common_tail("contactinformation"),
        ]
        .concat(),
        ObjectType::Tasks => {
            let own = vec![
                p("hs_task_subject", "Task Title", String, "task"),
                p("hs_task_body", "Notes", String, "task"),
                p("hs_task_status", "Task Status", Enumeration, "task").options(&TASK_STATUSES),
                p("hs_task_priority", "Priority", Enumeration, "task")
                    .options(&["NONE", "LOW", "MEDIUM", "HIGH"]),
                p("hs_task_type", "Task Type", Enumeration, "task").options(&TASK_TYPES),
            ];
            engagement("task", "Due date", own)
        }
        ObjectType::Notes => {
            let own = vec![
                p("hs_note_body", "Note body", String, "note"),
                p("hs_attachment_ids", "Attachment IDs", String, "note"),
            ];
            engagement("note", "Activity date", own)
        }
    }
}

/// Input for `POST /crm/v3/properties/{objectType}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewProperty {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub field_type: String,
    pub group_name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub options: Vec<NewOption>,
    #[serde(default)]
    pub has_unique_value: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewOption {
    pub value: String,
}

impl NewProperty {
    pub fn into_definition(self) -> Result<PropertyDefinition, HubspotError> {
        let kind = PropertyKind::parse(&self.kind).ok_or_else(|| {
            HubspotError::validation(format!("Invalid property type: {}", self.kind))
        })?;
        let valid_name = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !self.name.starts_with("hs_");
        if !valid_name {
            return Err(HubspotError::validation(format!(
                "Property name '{}' is invalid: use lowercase letters, digits and underscores, not starting with hs_.",
                self.name
            )));
        }
        if kind == PropertyKind::Enumeration && self.options.is_empty() {
            return Err(HubspotError::validation(
                "Enumeration properties need at least one option.",
            ));
        }
        Ok(PropertyDefinition {
            name: self.name,
            label: self.label,
            kind,
            field_type: self.field_type,
            group_name: self.group_name,
            description: self.description,
            options: self.options.into_iter().map(|o| o.value).collect(),
            read_only: false,
            unique: self.has_unique_value,
            hubspot_defined: false,
        })
    }
}

/// Checks a whole `properties` input against the schema and normalises it; every bad
/// property is reported at once, as HubSpot does.
pub fn normalise_properties(
    schema: &[PropertyDefinition],
    input: &serde_json::Map<String, Value>,
) -> Result<BTreeMap<String, String>, HubspotError> {
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, value) in input {
        match schema.iter().find(|d| &d.name == name) {
            None => problems.push(PropertyProblem {
                name: name.clone(),
                error: "PROPERTY_DOESNT_EXIST",
                message: format!("Property \"{name}\" does not exist"),
            }),
            Some(def) => match def.normalise(value) {
                Ok(v) => {
                    out.insert(name.clone(), v);
                }
                Err(p) => problems.push(p),
            },
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(HubspotError::invalid_properties(&problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(object: ObjectType, input: Value) -> Result<BTreeMap<String, String>, HubspotError> {
        normalise_properties(&builtin_properties(object), input.as_object().unwrap())
    }

    #[test]
    fn values_are_normalised_to_strings() {
        let out = check(
            ObjectType::Tasks,
            json!({"hs_timestamp": 1_700_000_000_000i64, "hs_task_status": "NOT_STARTED", "hs_task_subject": "Call"}),
        )
        .unwrap();
        assert_eq!(out["hs_timestamp"], "2023-11-14T22:13:20.000Z");
        let out = check(
            ObjectType::Contacts,
            json!({"email": "Lead@Example.com", "firstname": null}),
        )
        .unwrap();
        assert_eq!(out["email"], "lead@example.com");
        assert_eq!(out["firstname"], "");
    }

    #[test]
    fn bad_values_are_validation_errors_naming_every_property() {
        let err = check(
            ObjectType::Contacts,
            json!({"email": "nope", "nosuch": "x", "hs_object_id": "1"}),
        )
        .unwrap_err();
        let message = err.body["message"].as_str().unwrap();
        assert!(message.starts_with("Property values were not valid: "));
        for needle in ["INVALID_EMAIL", "PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE"] {
            assert!(message.contains(needle), "{message}");
        }
        assert_eq!(err.body["category"], "VALIDATION_ERROR");
        let err = check(ObjectType::Tasks, json!({"hs_task_priority": "URGENT"})).unwrap_err();
        assert!(
            err.body["message"]
                .as_str()
                .unwrap()
                .contains("INVALID_OPTION")
        );
    }
}
