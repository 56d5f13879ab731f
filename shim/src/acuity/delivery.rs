//! The form of an Acuity webhook: `action`, `id`, `calendarID`, `appointmentTypeID`.

use booking_proto::domain::FieldError;

/// What Acuity says happened. Only a hint: the decision reads the appointment itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcuityAction {
    Scheduled,
    Rescheduled,
    Canceled,
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
