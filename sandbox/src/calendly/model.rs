//! Scheduled events and invitees as stored, and their API representation. URIs are built
//! when rendering, from the sandbox's current base URL, so a snapshot stays valid when the
//! sandbox comes back on another port.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::CalendlyState;
use crate::defaults;
use crate::time;

/// `status` of a scheduled event or an invitee; serde alone spells it on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendlyStatus {
    Active,
    Canceled,
}

/// A scheduled event (one per booking: the sandbox's event type is one-on-one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendlyEvent {
    pub uuid: String,
    pub name: String,
    pub status: CalendlyStatus,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub location: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancellation: Option<Cancellation>,
}

/// An invitee of a scheduled event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendlyInvitee {
    pub uuid: String,
    pub event_uuid: String,
    pub email: String,
    pub name: String,
    pub status: CalendlyStatus,
    pub timezone: String,
    /// `true` on the canceled invitee of a reschedule.
    pub rescheduled: bool,
    /// UUID of the invitee this one replaced (set on the new invitee of a reschedule).
    pub old_invitee: Option<String>,
    /// UUID of the invitee that replaced this one (set on the old invitee of a reschedule).
    pub new_invitee: Option<String>,
    pub questions_and_answers: Vec<QuestionAndAnswer>,
    pub tracking: Tracking,
    /// Calendly's `text_reminder_number`; absent in snapshots from before it was kept.
    #[serde(default)]
    pub text_reminder_number: Option<String>,
    pub cancellation: Option<Cancellation>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancellation {
    pub canceled_by: String,
    pub reason: Option<String>,
    /// `invitee` or `host`.
    pub canceler_type: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionAndAnswer {
    pub question: String,
    pub answer: String,
    #[serde(default)]
    pub position: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tracking {
    pub utm_campaign: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_content: Option<String>,
    pub utm_term: Option<String>,
    pub salesforce_uuid: Option<String>,
}

/// Resource URIs under `{base}` = `{sandbox}/calendly`.
pub struct Uris<'a>(pub &'a str);

impl Uris<'_> {
    pub fn event(&self, uuid: &str) -> String {
        format!("{}/scheduled_events/{uuid}", self.0)
    }

    pub fn invitee(&self, event_uuid: &str, uuid: &str) -> String {
        format!("{}/scheduled_events/{event_uuid}/invitees/{uuid}", self.0)
    }

    pub fn user(&self) -> String {
        format!("{}/users/{}", self.0, defaults::CALENDLY_USER_UUID)
    }

    pub fn organization(&self) -> String {
        format!(
            "{}/organizations/{}",
            self.0,
            defaults::CALENDLY_ORGANIZATION_UUID
        )
    }

    pub fn event_type(&self) -> String {
        format!(
            "{}/event_types/{}",
            self.0,
            defaults::CALENDLY_EVENT_TYPE_UUID
        )
    }
}

fn cancellation_json(c: &Cancellation) -> Value {
    json!({
        "canceled_by": c.canceled_by,
        "reason": c.reason,
        "canceler_type": c.canceler_type,
        "created_at": time::micros(c.created_at),
    })
}

pub fn render_event(event: &CalendlyEvent, uris: &Uris<'_>) -> Value {
    let active = u32::from(event.status == CalendlyStatus::Active);
    let mut out = json!({
        "uri": uris.event(&event.uuid),
        "name": event.name,
        "meeting_notes_plain": Value::Null,
        "meeting_notes_html": Value::Null,
        "status": event.status,
        "start_time": time::micros(event.start_time),
        "end_time": time::micros(event.end_time),
        "event_type": uris.event_type(),
        "location": match &event.location {
            Some(l) => json!({ "type": "physical", "location": l, "additional_info": Value::Null }),
            None => Value::Null,
        },
        "invitees_counter": { "total": 1, "active": active, "limit": 1 },
        "created_at": time::micros(event.created_at),
        "updated_at": time::micros(event.updated_at),
        "event_memberships": [{
            "user": uris.user(),
            "user_email": defaults::CALENDLY_HOST_EMAIL,
            "user_name": defaults::CALENDLY_HOST_NAME,
        }],
        "event_guests": [],
    });
    if let Some(c) = &event.cancellation {
        out["cancellation"] = cancellation_json(c);
    }
    out
}

pub fn render_invitee(invitee: &CalendlyInvitee, state: &CalendlyState, uris: &Uris<'_>) -> Value {
    let other_uri = |uuid: &Option<String>| -> Value {
        uuid.as_ref()
            .and_then(|u| state.invitees.get(u))
            .map_or(Value::Null, |other| {
                Value::String(uris.invitee(&other.event_uuid, &other.uuid))
            })
    };
    let mut out = json!({
        "uri": uris.invitee(&invitee.event_uuid, &invitee.uuid),
        "email": invitee.email,
        "first_name": Value::Null,
        "last_name": Value::Null,
        "name": invitee.name,
        "status": invitee.status,
        "questions_and_answers": invitee.questions_and_answers,
        "timezone": invitee.timezone,
        "event": uris.event(&invitee.event_uuid),
        "created_at": time::micros(invitee.created_at),
        "updated_at": time::micros(invitee.updated_at),
        "tracking": invitee.tracking,
        "text_reminder_number": invitee.text_reminder_number,
        "rescheduled": invitee.rescheduled,
        "old_invitee": other_uri(&invitee.old_invitee),
        "new_invitee": other_uri(&invitee.new_invitee),
        "cancel_url": format!("https://calendly.com/cancellations/{}", invitee.uuid),
        "reschedule_url": format!("https://calendly.com/reschedulings/{}", invitee.uuid),
        "routing_form_submission": Value::Null,
        "payment": Value::Null,
        "no_show": Value::Null,
        "reconfirmation": Value::Null,
        "scheduling_method": Value::Null,
        "invitee_scheduled_by": Value::Null,
    });
    if let Some(c) = &invitee.cancellation {
        out["cancellation"] = cancellation_json(c);
    }
    out
}
