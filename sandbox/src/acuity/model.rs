//! Appointments as the sandbox holds them, and as Acuity's API v1 renders them: camelCase,
//! human dates (`December 10, 2026`, `2:00pm`), and ISO 8601 instants in the appointment's
//! own zone with an offset *without* a colon (`2026-12-10T14:00:00-0500`), which strict
//! RFC 3339 parsers refuse.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One intake form of an appointment, with the client's answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcuityForm {
    pub id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub values: Vec<AcuityFormValue>,
}

/// One answer. `id` is the answer's own id (assigned by the sandbox when 0 or absent),
/// `fieldID` the form field's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcuityFormValue {
    #[serde(default)]
    pub id: u64,
    #[serde(rename = "fieldID")]
    pub field_id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: String,
}

/// One appointment as the sandbox holds it (`GET /_sandbox/acuity/appointments`, the
/// snapshot). [`AcuityAppointment::render`] is what Acuity's API answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcuityAppointment {
    pub id: u64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub start: DateTime<Utc>,
    pub duration_minutes: u32,
    #[serde(rename = "calendarID")]
    pub calendar_id: u64,
    /// The calendar's name (Acuity's `calendar`).
    pub calendar: String,
    #[serde(rename = "appointmentTypeID")]
    pub appointment_type_id: u64,
    /// The appointment type's name (Acuity's `type`).
    pub type_name: String,
    /// IANA zone the client booked in; every rendered time is in it.
    pub timezone: String,
    pub location: String,
    pub notes: String,
    pub price: String,
    pub canceled: bool,
    pub forms: Vec<AcuityForm>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `2026-12-10T14:00:00-0500`: Acuity's ISO 8601, offset without a colon.
pub fn iso(t: DateTime<Tz>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%z").to_string()
}

/// `December 10, 2026`.
fn long_date(t: DateTime<Tz>) -> String {
    t.format("%B %-d, %Y").to_string()
}

/// `2:00pm`.
fn clock(t: DateTime<Tz>) -> String {
    t.format("%-I:%M%P").to_string()
}

/// An IANA zone name, if chrono-tz knows it.
pub fn zone(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

impl AcuityAppointment {
    pub fn tz(&self) -> Tz {
        // Stored zones were checked on the way in; UTC only guards a hand-edited snapshot.
        zone(&self.timezone).unwrap_or(Tz::UTC)
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.start + Duration::minutes(i64::from(self.duration_minutes))
    }

    /// The local date of the start, which `minDate`/`maxDate` compare against.
    pub fn local_date(&self) -> chrono::NaiveDate {
        self.start.with_timezone(&self.tz()).date_naive()
    }

    /// The appointment as `GET /api/v1/appointments/{id}` answers it.
    pub fn render(&self) -> Value {
        let tz = self.tz();
        let start = self.start.with_timezone(&tz);
        let end = self.end().with_timezone(&tz);
        let created = self.created_at.with_timezone(&tz);
        let forms_text = self
            .forms
            .iter()
            .map(|f| {
                let answers: String = f
                    .values
                    .iter()
                    .map(|v| format!("{}: {}\n", v.name, v.value))
                    .collect();
                format!("{}\n{answers}", f.name)
            })
            .collect::<Vec<_>>()
            .join("\n");
        let mut out = json!({
            "id": self.id,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "phone": self.phone,
            "email": self.email,
            "date": long_date(start),
            "time": clock(start),
            "endTime": clock(end),
            "dateCreated": long_date(created),
            "datetimeCreated": iso(created),
            "datetime": iso(start),
            "price": self.price,
            "priceSold": self.price,
            "paid": "no",
            "amountPaid": "0.00",
            "type": self.type_name,
            "appointmentTypeID": self.appointment_type_id,
            "classID": Value::Null,
            "addonIDs": [],
            "category": "",
            "duration": self.duration_minutes.to_string(),
            "calendar": self.calendar,
            "calendarID": self.calendar_id,
            "certificate": Value::Null,
            "location": self.location,
            "notes": self.notes,
            "timezone": self.timezone,
            "calendarTimezone": self.timezone,
            "canceled": self.canceled,
            "canClientCancel": !self.canceled,
            "canClientReschedule": !self.canceled,
            "labels": Value::Null,
            "forms": self.forms,
            "formsText": forms_text,
            "scheduledBy": Value::Null,
        });
        if self.canceled {
            // Acuity adds `noShow` to canceled appointments only.
            out["noShow"] = Value::Bool(false);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn appointment(start: DateTime<Utc>, timezone: &str) -> AcuityAppointment {
        AcuityAppointment {
            id: 1000,
            first_name: "Jane".into(),
            last_name: "Doe".into(),
            email: "jane@example.com".into(),
            phone: String::new(),
            start,
            duration_minutes: 60,
            calendar_id: 4,
            calendar: "Sandbox Agent".into(),
            appointment_type_id: 7,
            type_name: "Property tour".into(),
            timezone: timezone.into(),
            location: String::new(),
            notes: String::new(),
            price: "0.00".into(),
            canceled: false,
            forms: Vec::new(),
            created_at: start - Duration::days(3),
            updated_at: start - Duration::days(3),
        }
    }

    #[test]
    fn times_are_rendered_in_the_appointments_zone_without_a_colon_in_the_offset() {
        let a = appointment(
            Utc.with_ymd_and_hms(2026, 12, 10, 19, 0, 0).unwrap(),
            "America/New_York",
        );
        let r = a.render();
        assert_eq!(r["datetime"], "2026-12-10T14:00:00-0500");
        assert_eq!(r["date"], "December 10, 2026");
        assert_eq!(r["time"], "2:00pm");
        assert_eq!(r["endTime"], "3:00pm");
        assert_eq!(r["duration"], "60");
        assert_eq!(r["datetimeCreated"], "2026-12-07T14:00:00-0500");
        // Summer time, and a morning.
        let b = appointment(
            Utc.with_ymd_and_hms(2026, 7, 1, 13, 30, 0).unwrap(),
            "America/New_York",
        );
        assert_eq!(b.render()["datetime"], "2026-07-01T09:30:00-0400");
        assert_eq!(b.render()["time"], "9:30am");
        let c = appointment(Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap(), "UTC");
        assert_eq!(c.render()["datetime"], "2026-01-05T00:00:00+0000");
        assert_eq!(c.render()["time"], "12:00am");
    }

    #[test]
    fn the_local_date_is_the_zones() {
        let late = appointment(
            Utc.with_ymd_and_hms(2026, 12, 11, 2, 0, 0).unwrap(),
            "America/New_York",
        );
        assert_eq!(late.local_date().to_string(), "2026-12-10");
        assert!(late.render().get("noShow").is_none());
    }
}
