//! What clients and admins do in Acuity, driven by the control API: schedule, reschedule,
//! cancel, change. Each returns the appointment as it stands afterwards; the caller records
//! the webhook (or not) with the request's [`AcuityDeliveryControls`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AcuityState;
use super::model::{AcuityAppointment, AcuityForm, zone};
use super::webhooks::{AcuityDeliveryControls, MAX_DELIVERIES};
use crate::time;

/// Longest appointment the sandbox accepts, in minutes.
const MAX_DURATION_MINUTES: u32 = 24 * 60;

/// Schedule an appointment (`POST /_sandbox/acuity/appointments`); sends
/// `appointment.scheduled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcuityNewAppointment {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    #[serde(default)]
    pub phone: String,
    /// RFC 3339, any offset.
    pub datetime: DateTime<Utc>,
    pub duration_minutes: u32,
    #[serde(rename = "calendarID")]
    pub calendar_id: u64,
    #[serde(rename = "appointmentTypeID")]
    pub appointment_type_id: u64,
    /// IANA zone, e.g. `America/New_York`.
    pub timezone: String,
    #[serde(default)]
    pub forms: Vec<AcuityForm>,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub notes: String,
    /// The appointment type's name. Default `Property tour`.
    #[serde(default, rename = "type")]
    pub type_name: Option<String>,
    /// The calendar's name. Default `Sandbox Agent`.
    #[serde(default)]
    pub calendar: Option<String>,
    /// Default `0.00`.
    #[serde(default)]
    pub price: Option<String>,
    #[serde(flatten)]
    pub delivery: AcuityDeliveryControls,
}

#[cfg(test)]
impl AcuityNewAppointment {
    /// An hour on calendar 1, appointment type 1, in UTC.
    pub fn new(
        first_name: impl Into<String>,
        last_name: impl Into<String>,
        email: impl Into<String>,
        datetime: DateTime<Utc>,
    ) -> Self {
        Self {
            first_name: first_name.into(),
            last_name: last_name.into(),
            email: email.into(),
            phone: String::new(),
            datetime,
            duration_minutes: 60,
            calendar_id: 1,
            appointment_type_id: 1,
            timezone: "UTC".into(),
            forms: Vec::new(),
            location: String::new(),
            notes: String::new(),
            type_name: None,
            calendar: None,
            price: None,
            delivery: AcuityDeliveryControls::default(),
        }
    }
}

/// Move an appointment (`POST .../appointments/{id}/reschedule`); sends
/// `appointment.rescheduled`. Acuity keeps the id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcuityReschedule {
    pub datetime: DateTime<Utc>,
    /// Default: unchanged.
    #[serde(default)]
    pub duration_minutes: Option<u32>,
    /// Default: unchanged.
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(flatten)]
    pub delivery: AcuityDeliveryControls,
}

#[cfg(test)]
impl AcuityReschedule {
    pub fn to(datetime: DateTime<Utc>) -> Self {
        Self {
            datetime,
            duration_minutes: None,
            timezone: None,
            delivery: AcuityDeliveryControls::default(),
        }
    }
}

/// Cancel (`POST .../appointments/{id}/cancel`, body optional); sends
/// `appointment.canceled`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcuityCancel {
    /// Appended to the notes, as Acuity records a cancel note.
    #[serde(default)]
    pub cancel_note: Option<String>,
    #[serde(flatten)]
    pub delivery: AcuityDeliveryControls,
}

/// Edit the client's details (`POST .../appointments/{id}/change`); sends
/// `appointment.changed`. Absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcuityChange {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub forms: Option<Vec<AcuityForm>>,
    #[serde(flatten)]
    pub delivery: AcuityDeliveryControls,
}

/// Why a control-driven change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeError {
    Invalid(String),
    NotFound(u64),
    Conflict(String),
}

pub fn check_delivery(controls: &AcuityDeliveryControls) -> Result<(), ChangeError> {
    if !(1..=MAX_DELIVERIES).contains(&controls.deliveries) {
        return Err(ChangeError::Invalid(format!(
            "deliveries must be between 1 and {MAX_DELIVERIES}"
        )));
    }
    Ok(())
}

fn check_zone(timezone: &str) -> Result<(), ChangeError> {
    zone(timezone).map(drop).ok_or_else(|| {
        ChangeError::Invalid(format!("timezone {timezone:?} is not an IANA time zone"))
    })
}

fn check_duration(minutes: u32) -> Result<(), ChangeError> {
    if !(1..=MAX_DURATION_MINUTES).contains(&minutes) {
        return Err(ChangeError::Invalid(format!(
            "durationMinutes must be between 1 and {MAX_DURATION_MINUTES}"
        )));
    }
    Ok(())
}

fn check_email(email: &str) -> Result<(), ChangeError> {
    if crate::email::is_valid(email) {
        Ok(())
    } else {
        Err(ChangeError::Invalid(format!("invalid email: {email}")))
    }
}

/// Gives answers without an id one, stable per appointment.
fn number_answers(appointment_id: u64, forms: &mut [AcuityForm]) {
    let mut n = 0;
    for value in forms.iter_mut().flat_map(|f| f.values.iter_mut()) {
        n += 1;
        if value.id == 0 {
            value.id = appointment_id * 1000 + n;
        }
    }
}

pub fn schedule(
    state: &mut AcuityState,
    request: &AcuityNewAppointment,
) -> Result<AcuityAppointment, ChangeError> {
    if request.first_name.trim().is_empty() {
        return Err(ChangeError::Invalid("firstName is required".into()));
    }
    check_email(&request.email)?;
    check_duration(request.duration_minutes)?;
    check_zone(&request.timezone)?;
    check_delivery(&request.delivery)?;
    let now = time::now();
    let id = state.next_id;
    state.next_id += 1;
    let mut forms = request.forms.clone();
    number_answers(id, &mut forms);
    let appointment = AcuityAppointment {
        id,
        first_name: request.first_name.clone(),
        last_name: request.last_name.clone(),
        email: request.email.clone(),
        phone: request.phone.clone(),
        start: request.datetime,
        duration_minutes: request.duration_minutes,
        calendar_id: request.calendar_id,
        calendar: request
            .calendar
            .clone()
            .unwrap_or_else(|| crate::defaults::CALENDLY_HOST_NAME.to_owned()),
        appointment_type_id: request.appointment_type_id,
        type_name: request
            .type_name
            .clone()
            .unwrap_or_else(|| "Property tour".to_owned()),
        timezone: request.timezone.clone(),
        location: request.location.clone(),
        notes: request.notes.clone(),
        price: request.price.clone().unwrap_or_else(|| "0.00".to_owned()),
        canceled: false,
        forms,
        created_at: now,
        updated_at: now,
    };
    state.appointments.insert(id, appointment.clone());
    Ok(appointment)
}

fn active(state: &mut AcuityState, id: u64) -> Result<&mut AcuityAppointment, ChangeError> {
    let appointment = state
        .appointments
        .get_mut(&id)
        .ok_or(ChangeError::NotFound(id))?;
    if appointment.canceled {
        return Err(ChangeError::Conflict(format!(
            "appointment {id} is canceled"
        )));
    }
    Ok(appointment)
}

pub fn reschedule(
    state: &mut AcuityState,
    id: u64,
    request: &AcuityReschedule,
) -> Result<AcuityAppointment, ChangeError> {
    if let Some(minutes) = request.duration_minutes {
        check_duration(minutes)?;
    }
    if let Some(tz) = &request.timezone {
        check_zone(tz)?;
    }
    check_delivery(&request.delivery)?;
    let appointment = active(state, id)?;
    appointment.start = request.datetime;
    if let Some(minutes) = request.duration_minutes {
        appointment.duration_minutes = minutes;
    }
    if let Some(tz) = &request.timezone {
        appointment.timezone = tz.clone();
    }
    appointment.updated_at = time::now();
    Ok(appointment.clone())
}

pub fn cancel(
    state: &mut AcuityState,
    id: u64,
    request: &AcuityCancel,
) -> Result<AcuityAppointment, ChangeError> {
    check_delivery(&request.delivery)?;
    let appointment = active(state, id)?;
    appointment.canceled = true;
    if let Some(note) = request.cancel_note.as_deref().filter(|n| !n.is_empty()) {
        if !appointment.notes.is_empty() {
            appointment.notes.push('\n');
        }
        appointment.notes.push_str(note);
    }
    appointment.updated_at = time::now();
    Ok(appointment.clone())
}

pub fn change(
    state: &mut AcuityState,
    id: u64,
    request: &AcuityChange,
) -> Result<AcuityAppointment, ChangeError> {
    if let Some(email) = &request.email {
        check_email(email)?;
    }
    if request
        .first_name
        .as_deref()
        .is_some_and(|n| n.trim().is_empty())
    {
        return Err(ChangeError::Invalid("firstName must not be empty".into()));
    }
    check_delivery(&request.delivery)?;
    let appointment = state
        .appointments
        .get_mut(&id)
        .ok_or(ChangeError::NotFound(id))?;
    let set = |field: &mut String, value: &Option<String>| {
        if let Some(v) = value {
            field.clone_from(v);
        }
    };
    set(&mut appointment.first_name, &request.first_name);
    set(&mut appointment.last_name, &request.last_name);
    set(&mut appointment.email, &request.email);
    set(&mut appointment.phone, &request.phone);
    set(&mut appointment.notes, &request.notes);
    set(&mut appointment.location, &request.location);
    if let Some(forms) = &request.forms {
        let mut forms = forms.clone();
        number_answers(id, &mut forms);
        appointment.forms = forms;
    }
    appointment.updated_at = time::now();
    Ok(appointment.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 10, h, 0, 0).unwrap()
    }

    #[test]
    fn ids_increase_and_the_life_of_an_appointment_is_checked() {
        let mut state = AcuityState::default();
        let mut request = AcuityNewAppointment::new("Jane", "Doe", "jane@example.com", at(14));
        request.forms = vec![AcuityForm {
            id: 3,
            name: "Tour".into(),
            values: vec![super::super::model::AcuityFormValue {
                id: 0,
                field_id: 11,
                name: "Budget".into(),
                value: "500k".into(),
            }],
        }];
        let first = schedule(&mut state, &request).unwrap();
        let second = schedule(&mut state, &request).unwrap();
        assert_eq!((first.id, second.id), (1000, 1001));
        assert_eq!(first.forms[0].values[0].id, 1_000_001);

        let moved = reschedule(&mut state, first.id, &AcuityReschedule::to(at(16))).unwrap();
        assert_eq!(moved.start, at(16));
        assert_eq!(moved.duration_minutes, 60);
        let canceled = cancel(&mut state, first.id, &AcuityCancel::default()).unwrap();
        assert!(canceled.canceled);
        assert!(matches!(
            reschedule(&mut state, first.id, &AcuityReschedule::to(at(9))),
            Err(ChangeError::Conflict(_))
        ));
        assert!(matches!(
            cancel(&mut state, 42, &AcuityCancel::default()),
            Err(ChangeError::NotFound(42))
        ));

        request.timezone = "Mars/Olympus".into();
        assert!(matches!(
            schedule(&mut state, &request),
            Err(ChangeError::Invalid(_))
        ));
        request.timezone = "Europe/London".into();
        request.delivery.deliveries = 0;
        assert!(matches!(
            schedule(&mut state, &request),
            Err(ChangeError::Invalid(_))
        ));
    }
}
