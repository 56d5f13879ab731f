//! An Acuity appointment as the API returns it (camelCase JSON; unknown fields ignored).

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde::Deserialize;

use crate::error::{Provider, ProviderError};

pub const PROVIDER: Provider = Provider::Acuity;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    pub id: u64,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default, deserialize_with = "nullable")]
    pub phone: String,
    /// `2026-12-10T14:00:00-0500`: ISO 8601 in the appointment's zone, offset without a colon.
    pub datetime: String,
    /// Minutes, as a string (`"60"`).
    pub duration: String,
    #[serde(rename = "calendarID")]
    pub calendar_id: u64,
    #[serde(rename = "appointmentTypeID")]
    pub appointment_type_id: u64,
    #[serde(default)]
    pub canceled: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub timezone: String,
    #[serde(default, deserialize_with = "nullable")]
    pub forms: Vec<Form>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Form {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub values: Vec<FormValue>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FormValue {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub value: String,
}

/// `null` reads as the default: Acuity sends `null` for empty lists and strings alike.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Acuity's `datetime`: `%Y-%m-%dT%H:%M:%S%z` (`-0500`), or RFC 3339 (`-05:00`).
pub fn parse_datetime(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::<FixedOffset>::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%z")
        .or_else(|_| DateTime::parse_from_rfc3339(raw))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Appointment {
    /// Parses a 2xx body and checks it, so the rest of the code may trust [`Self::start`].
    pub fn parse(body: &str) -> Result<Self, ProviderError> {
        let appointment: Self = serde_json::from_str(body).map_err(|e| bad(format!("{e}")))?;
        appointment.check()?;
        Ok(appointment)
    }

    pub fn check(&self) -> Result<(), ProviderError> {
        if self.id == 0 {
            return Err(bad("an appointment without an id".into()));
        }
        if parse_datetime(&self.datetime).is_none() {
            return Err(bad(format!(
                "appointment {}: datetime {:?} is not a date-time with an offset",
                self.id, self.datetime
            )));
        }
        if self.minutes().is_none() {
            return Err(bad(format!(
                "appointment {}: duration {:?} is not a positive number of minutes",
                self.id, self.duration
            )));
        }
        Ok(())
    }

    fn minutes(&self) -> Option<i64> {
        self.duration
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|m| (1..=24 * 60 * 7).contains(m))
    }

    /// Checked by [`Self::parse`]; the Unix epoch for an unchecked appointment.
    pub fn start(&self) -> DateTime<Utc> {
        parse_datetime(&self.datetime).unwrap_or_default()
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.start() + Duration::minutes(self.minutes().unwrap_or(60))
    }

    pub fn lead_name(&self) -> String {
        format!("{} {}", self.first_name.trim(), self.last_name.trim())
            .trim()
            .to_owned()
    }
}

pub(crate) fn bad(message: String) -> ProviderError {
    ProviderError::BadResponse {
        provider: PROVIDER,
        message,
    }
}

/// A real appointment body, for the tests of this crate.
#[cfg(test)]
pub(crate) mod tests_support {
    pub fn real() -> String {
        super::tests::REAL.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    pub(crate) const REAL: &str = r#"{
        "id": 1001, "firstName": "Avery", "lastName": "Acuity", "phone": "", "email": "avery@example.com",
        "date": "December 10, 2026", "time": "2:00pm", "endTime": "3:00pm",
        "dateCreated": "December 1, 2026", "datetimeCreated": "2026-12-01T10:00:00-0500",
        "datetime": "2026-12-10T14:00:00-0500", "price": "0.00", "paid": "no", "amountPaid": "0.00",
        "type": "Property tour", "appointmentTypeID": 7, "classID": null, "duration": "60",
        "calendar": "Sandbox Agent", "calendarID": 4, "canClientCancel": true, "canClientReschedule": true,
        "canceled": false, "location": "", "notes": "", "timezone": "America/New_York",
        "forms": [{"id": 1, "name": "Intake", "values": [{"id": 5, "fieldID": 9, "name": "Budget?", "value": "500k"}]}],
        "labels": null
    }"#;

    #[test]
    fn a_real_appointment_reads_with_its_offset() {
        let a = Appointment::parse(REAL).unwrap();
        assert_eq!(
            a.start(),
            Utc.with_ymd_and_hms(2026, 12, 10, 19, 0, 0).unwrap()
        );
        assert_eq!(
            a.end(),
            Utc.with_ymd_and_hms(2026, 12, 10, 20, 0, 0).unwrap()
        );
        assert_eq!(a.lead_name(), "Avery Acuity");
        assert_eq!(a.forms[0].values[0].value, "500k");
        assert_eq!(
            parse_datetime("2026-12-10T14:00:00-05:00"),
            Some(a.start()),
            "RFC 3339 offsets too"
        );
    }

    #[test]
    fn a_body_that_breaks_a_promise_is_a_bad_response() {
        for broken in [
            REAL.replace("\"2026-12-10T14:00:00-0500\"", "\"tomorrow\""),
            REAL.replace("\"duration\": \"60\"", "\"duration\": \"0\""),
            REAL.replace("\"id\": 1001", "\"id\": 0"),
            "[]".to_owned(),
        ] {
            let e = Appointment::parse(&broken).unwrap_err();
            assert!(matches!(e, ProviderError::BadResponse { .. }), "{e}");
            assert!(e.is_retryable());
        }
    }
}
