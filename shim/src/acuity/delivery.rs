//! The form of an Acuity webhook: `action`, `id`, `calendarID`, `appointmentTypeID`.

use booking_proto::domain::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

/// What Acuity says happened. Only a hint: the decision reads the appointment itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum AcuityAction {
    #[serde(rename = "appointment.scheduled")]
    Scheduled,
    #[serde(rename = "appointment.rescheduled")]
    Rescheduled,
    #[serde(rename = "appointment.canceled")]
    Canceled,
    #[serde(rename = "appointment.changed")]
    Changed,
}

impl AcuityAction {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim() {
            "appointment.scheduled" => Ok(Self::Scheduled),
            "appointment.rescheduled" => Ok(Self::Rescheduled),
            "appointment.canceled" => Ok(Self::Canceled),
            "appointment.changed" => Ok(Self::Changed),
            other => Err(format!(
                "{other:?} is not one of appointment.scheduled, appointment.rescheduled, appointment.canceled, appointment.changed"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "appointment.scheduled",
            Self::Rescheduled => "appointment.rescheduled",
            Self::Canceled => "appointment.canceled",
            Self::Changed => "appointment.changed",
        }
    }
}

// [`AcuityDelivery::parse`] reads the pairs one by one, to name every bad field at once; this
// type is what the OpenAPI document shows of the form, and the tests hold the two together.

/// An Acuity webhook as sent. `calendarID` and `appointmentTypeID` are checked when present;
/// the shim reads both again from the appointment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AcuityForm {
    pub action: AcuityAction,
    /// The appointment: the shim reads it from Acuity's API, the source of truth.
    #[schema(minimum = 1)]
    pub id: u64,
    #[serde(rename = "calendarID", skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, nullable = false)]
    pub calendar_id: Option<u64>,
    #[serde(rename = "appointmentTypeID", skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, nullable = false)]
    pub appointment_type_id: Option<u64>,
}

/// A verified delivery's form, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcuityDelivery {
    pub action: AcuityAction,
    pub appointment_id: u64,
}

impl AcuityDelivery {
    /// Parses the form, naming every missing or malformed field. `calendarID` and
    /// `appointmentTypeID` are checked when present (they are read again from the
    /// appointment, which is the source of truth).
    pub fn parse(body: &[u8]) -> Result<Self, Vec<FieldError>> {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim())
                .filter(|v| !v.is_empty())
        };
        let mut errors = Vec::new();
        let action = match get("action") {
            None => {
                errors.push(FieldError::new("action", "is required"));
                None
            }
            Some(raw) => AcuityAction::parse(raw)
                .map_err(|m| errors.push(FieldError::new("action", m)))
                .ok(),
        };
        let mut number = |field: &'static str, required: bool| match get(field) {
            None if required => {
                errors.push(FieldError::new(field, "is required"));
                None
            }
            None => None,
            Some(raw) => match raw.parse::<u64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    errors.push(FieldError::new(
                        field,
                        format!("{raw:?} is not a positive whole number"),
                    ));
                    None
                }
            },
        };
        let id = number("id", true);
        number("calendarID", false);
        number("appointmentTypeID", false);
        match (action, id) {
            (Some(action), Some(appointment_id)) if errors.is_empty() => Ok(Self {
                action,
                appointment_id,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_delivery_parses() {
        let body = b"action=appointment.rescheduled&id=1001&calendarID=4&appointmentTypeID=7";
        assert_eq!(
            AcuityDelivery::parse(body),
            Ok(AcuityDelivery {
                action: AcuityAction::Rescheduled,
                appointment_id: 1001,
            })
        );
    }

    /// The form as the OpenAPI document describes it, encoded as Acuity sends it, with
    /// `spoiled` (if any) holding a value no field takes.
    fn encoded(form: &AcuityForm, spoiled: Option<&str>) -> Vec<u8> {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in fields(form) {
            let value = match value {
                _ if Some(name.as_str()) == spoiled => "x".to_owned(),
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            out.append_pair(&name, &value);
        }
        out.finish().into_bytes()
    }

    fn fields(form: &AcuityForm) -> serde_json::Map<String, serde_json::Value> {
        match serde_json::to_value(form).unwrap() {
            serde_json::Value::Object(fields) => fields,
            _ => unreachable!("a struct serializes to an object"),
        }
    }

    #[test]
    fn the_documented_form_is_what_the_parser_reads() {
        for action in [
            AcuityAction::Scheduled,
            AcuityAction::Rescheduled,
            AcuityAction::Canceled,
            AcuityAction::Changed,
        ] {
            let form = AcuityForm {
                action,
                id: 1001,
                calendar_id: Some(4),
                appointment_type_id: Some(7),
            };
            assert_eq!(
                AcuityDelivery::parse(&encoded(&form, None)),
                Ok(AcuityDelivery {
                    action,
                    appointment_id: 1001,
                })
            );
            assert_eq!(serde_json::to_value(action).unwrap(), action.as_str());
            // Each documented name is one the parser checks.
            for name in fields(&form).keys() {
                let errors = AcuityDelivery::parse(&encoded(&form, Some(name))).unwrap_err();
                assert_eq!(errors[0].field, *name);
            }
        }
        let bare = AcuityForm {
            action: AcuityAction::Changed,
            id: 1,
            calendar_id: None,
            appointment_type_id: None,
        };
        assert!(AcuityDelivery::parse(&encoded(&bare, None)).is_ok());
    }

    #[test]
    fn every_bad_field_is_named() {
        let errors =
            AcuityDelivery::parse(b"action=order.completed&id=x&calendarID=-1").unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["action", "id", "calendarID"]);
        let errors = AcuityDelivery::parse(b"").unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["action", "id"]);
    }
}
