//! What an invitee does on Calendly's booking pages, driven by the control API: book,
//! cancel, reschedule. Each change produces the webhook bodies Calendly would send.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::CalendlyState;
use super::model::{
    CalendlyEvent, CalendlyInvitee, CalendlyStatus, Cancellation, QuestionAndAnswer, Tracking,
    Uris, render_event, render_invitee,
};
use super::webhooks::WebhookDelivery;
use crate::defaults;
use crate::time;

fn yes() -> bool {
    true
}

fn utc() -> String {
    "UTC".to_owned()
}

const DEFAULT_DURATION_MINUTES: i64 = 30;

/// Book a tour: creates a scheduled event with one invitee and sends `invitee.created`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookInvitee {
    pub email: String,
    pub name: String,
    pub start_time: DateTime<Utc>,
    /// Default: 30 minutes after `start_time`.
    #[serde(default)]
    pub end_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default = "utc")]
    pub timezone: String,
    /// Name of the scheduled event. Default `Property tour`.
    #[serde(default)]
    pub event_name: Option<String>,
    #[serde(default)]
    pub questions_and_answers: Vec<QuestionAndAnswer>,
    #[serde(default)]
    pub tracking: Tracking,
    /// The number the invitee gave for text reminders (Calendly's `text_reminder_number`).
    #[serde(default)]
    pub text_reminder_number: Option<String>,
    /// `false`: record the webhook as `suppressed` instead of sending it (a missed webhook
    /// that reconciliation has to repair).
    #[serde(default = "yes")]
    pub deliver: bool,
}

impl BookInvitee {
    pub fn new(
        email: impl Into<String>,
        name: impl Into<String>,
        start_time: DateTime<Utc>,
    ) -> Self {
        Self {
            email: email.into(),
            name: name.into(),
            start_time,
            end_time: None,
            location: None,
            timezone: utc(),
            event_name: None,
            questions_and_answers: Vec::new(),
            tracking: Tracking::default(),
            text_reminder_number: None,
            deliver: true,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelerType {
    #[default]
    Invitee,
    Host,
}

/// Cancel a booking: cancels invitee and event, sends `invitee.canceled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelInvitee {
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub canceler_type: CancelerType,
    #[serde(default = "yes")]
    pub deliver: bool,
}

impl Default for CancelInvitee {
    fn default() -> Self {
        Self {
            reason: None,
            canceler_type: CancelerType::Invitee,
            deliver: true,
        }
    }
}

/// Which of the reschedule pair is sent first. Calendly sends both, in no fixed order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RescheduleOrder {
    #[default]
    CancelFirst,
    CreateFirst,
}

/// Which of the reschedule pair is actually sent (the others are recorded as suppressed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RescheduleDelivery {
    #[default]
    Both,
    None,
    CancelOnly,
    CreateOnly,
}

/// Reschedule: Calendly cancels the old invitee (`rescheduled: true`, `new_invitee` set) and
/// creates a new invitee on a new scheduled event (`old_invitee` set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RescheduleInvitee {
    pub start_time: DateTime<Utc>,
    /// Default: the old duration after `start_time`.
    #[serde(default)]
    pub end_time: Option<DateTime<Utc>>,
    /// Default: the old location.
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub order: RescheduleOrder,
    #[serde(default)]
    pub deliver: RescheduleDelivery,
}

impl RescheduleInvitee {
    pub fn to(start_time: DateTime<Utc>) -> Self {
        Self {
            start_time,
            end_time: None,
            location: None,
            reason: None,
            order: RescheduleOrder::default(),
            deliver: RescheduleDelivery::default(),
        }
    }
}

/// Answer of the book and cancel calls: the invitee as changed, and its webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InviteeChanged {
    pub event: CalendlyEvent,
    pub invitee: CalendlyInvitee,
    pub deliveries: Vec<WebhookDelivery>,
}

/// Answer of the book call.
pub type Booked = InviteeChanged;

/// Answer of the cancel call.
pub type Cancelled = InviteeChanged;

/// Answer of the reschedule call; `deliveries` are in the order they were sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rescheduled {
    pub old_event: CalendlyEvent,
    pub old_invitee: CalendlyInvitee,
    pub new_event: CalendlyEvent,
    pub new_invitee: CalendlyInvitee,
    pub deliveries: Vec<WebhookDelivery>,
}

/// Why a control-driven change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookingError {
    Invalid(String),
    NotFound(String),
    Conflict(String),
}

fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn check_times(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<(), BookingError> {
    if end <= start {
        return Err(BookingError::Invalid(
            "end_time must be after start_time".into(),
        ));
    }
    Ok(())
}

/// The webhook envelope for a change of `invitee_uuid`.
pub fn envelope(state: &CalendlyState, event: &str, invitee_uuid: &str, base: &str) -> String {
    let uris = Uris(base);
    let Some(invitee) = state.invitees.get(invitee_uuid) else {
        return String::new();
    };
    let mut payload = render_invitee(invitee, state, &uris);
    if let Some(scheduled) = state.events.get(&invitee.event_uuid) {
        payload["scheduled_event"] = render_event(scheduled, &uris);
    }
    json!({
        "event": event,
        "created_at": time::micros(time::now()),
        "created_by": uris.user(),
        "payload": payload,
    })
    .to_string()
}

pub fn book(
    state: &mut CalendlyState,
    request: &BookInvitee,
) -> Result<(CalendlyEvent, CalendlyInvitee), BookingError> {
    if !crate::email::is_valid(&request.email) {
        return Err(BookingError::Invalid(format!(
            "invalid email: {}",
            request.email
        )));
    }
    if request.name.trim().is_empty() {
        return Err(BookingError::Invalid("name is required".into()));
    }
    let end = request
        .end_time
        .unwrap_or(request.start_time + chrono::Duration::minutes(DEFAULT_DURATION_MINUTES));
    check_times(request.start_time, end)?;
    let now = time::now();
    let event = CalendlyEvent {
        uuid: new_uuid(),
        name: request
            .event_name
            .clone()
            .unwrap_or_else(|| "Property tour".into()),
        status: CalendlyStatus::Active,
        start_time: request.start_time,
        end_time: end,
        location: request.location.clone(),
        created_at: now,
        updated_at: now,
        cancellation: None,
    };
    let invitee = CalendlyInvitee {
        uuid: new_uuid(),
        event_uuid: event.uuid.clone(),
        email: request.email.clone(),
        name: request.name.clone(),
        status: CalendlyStatus::Active,
        timezone: request.timezone.clone(),
        rescheduled: false,
        old_invitee: None,
        new_invitee: None,
        questions_and_answers: request.questions_and_answers.clone(),
        tracking: request.tracking.clone(),
        text_reminder_number: request.text_reminder_number.clone(),
        cancellation: None,
        created_at: now,
        updated_at: now,
    };
    state.events.insert(event.uuid.clone(), event.clone());
    state.invitees.insert(invitee.uuid.clone(), invitee.clone());
    Ok((event, invitee))
}

/// Cancels an active invitee and its event. `rescheduled_to` marks a reschedule's cancel.
fn cancel_invitee(
    state: &mut CalendlyState,
    invitee_uuid: &str,
    reason: Option<String>,
    canceler: CancelerType,
    rescheduled_to: Option<String>,
) -> Result<(CalendlyEvent, CalendlyInvitee), BookingError> {
    let now = time::now();
    let invitee = state
        .invitees
        .get_mut(invitee_uuid)
        .ok_or_else(|| BookingError::NotFound(format!("no invitee {invitee_uuid}")))?;
    if invitee.status == CalendlyStatus::Canceled {
        return Err(BookingError::Conflict(format!(
            "invitee {invitee_uuid} is already canceled"
        )));
    }
    let cancellation = Cancellation {
        canceled_by: match canceler {
            CancelerType::Invitee => invitee.name.clone(),
            CancelerType::Host => defaults::CALENDLY_HOST_NAME.to_owned(),
        },
        reason,
        canceler_type: match canceler {
            CancelerType::Invitee => "invitee".into(),
            CancelerType::Host => "host".into(),
        },
        created_at: now,
    };
    invitee.status = CalendlyStatus::Canceled;
    invitee.rescheduled = rescheduled_to.is_some();
    invitee.new_invitee = rescheduled_to;
    invitee.cancellation = Some(cancellation.clone());
    invitee.updated_at = now;
    let invitee = invitee.clone();
    let event = state
        .events
        .get_mut(&invitee.event_uuid)
        .ok_or_else(|| BookingError::NotFound(format!("no event {}", invitee.event_uuid)))?;
    event.status = CalendlyStatus::Canceled;
    event.cancellation = Some(cancellation);
    event.updated_at = now;
    Ok((event.clone(), invitee))
}

pub fn cancel(
    state: &mut CalendlyState,
    invitee_uuid: &str,
    request: &CancelInvitee,
) -> Result<(CalendlyEvent, CalendlyInvitee), BookingError> {
    cancel_invitee(
        state,
        invitee_uuid,
        request.reason.clone(),
        request.canceler_type,
        None,
    )
}

pub struct RescheduleOutcome {
    pub old_event: CalendlyEvent,
    pub old_invitee: CalendlyInvitee,
    pub new_event: CalendlyEvent,
    pub new_invitee: CalendlyInvitee,
}

pub fn reschedule(
    state: &mut CalendlyState,
    invitee_uuid: &str,
    request: &RescheduleInvitee,
) -> Result<RescheduleOutcome, BookingError> {
    let old = state
        .invitees
        .get(invitee_uuid)
        .cloned()
        .ok_or_else(|| BookingError::NotFound(format!("no invitee {invitee_uuid}")))?;
    if old.status == CalendlyStatus::Canceled {
        return Err(BookingError::Conflict(format!(
            "invitee {invitee_uuid} is canceled and cannot be rescheduled"
        )));
    }
    let old_event = state
        .events
        .get(&old.event_uuid)
        .cloned()
        .ok_or_else(|| BookingError::NotFound(format!("no event {}", old.event_uuid)))?;
    let end = request
        .end_time
        .unwrap_or(request.start_time + (old_event.end_time - old_event.start_time));
    check_times(request.start_time, end)?;

    let book_request = BookInvitee {
        email: old.email.clone(),
        name: old.name.clone(),
        start_time: request.start_time,
        end_time: Some(end),
        location: request.location.clone().or(old_event.location.clone()),
        timezone: old.timezone.clone(),
        event_name: Some(old_event.name.clone()),
        questions_and_answers: old.questions_and_answers.clone(),
        tracking: old.tracking.clone(),
        text_reminder_number: old.text_reminder_number.clone(),
        deliver: true,
    };
    let (new_event, mut new_invitee) = book(state, &book_request)?;
    new_invitee.old_invitee = Some(old.uuid.clone());
    state
        .invitees
        .insert(new_invitee.uuid.clone(), new_invitee.clone());
    let (old_event, old_invitee) = cancel_invitee(
        state,
        invitee_uuid,
        request.reason.clone(),
        CancelerType::Invitee,
        Some(new_invitee.uuid.clone()),
    )?;
    Ok(RescheduleOutcome {
        old_event,
        old_invitee,
        new_event,
        new_invitee,
    })
}

/// Records the deliveries of a reschedule in sending order.
pub fn reschedule_deliveries(
    state: &CalendlyState,
    outcome: &RescheduleOutcome,
    request: &RescheduleInvitee,
    base: &str,
) -> Vec<WebhookDelivery> {
    let send_cancel = matches!(
        request.deliver,
        RescheduleDelivery::Both | RescheduleDelivery::CancelOnly
    );
    let send_create = matches!(
        request.deliver,
        RescheduleDelivery::Both | RescheduleDelivery::CreateOnly
    );
    let cancel = WebhookDelivery::new(
        "invitee.canceled",
        Some(outcome.old_invitee.uuid.clone()),
        envelope(state, "invitee.canceled", &outcome.old_invitee.uuid, base),
        send_cancel,
    );
    let create = WebhookDelivery::new(
        "invitee.created",
        Some(outcome.new_invitee.uuid.clone()),
        envelope(state, "invitee.created", &outcome.new_invitee.uuid, base),
        send_create,
    );
    match request.order {
        RescheduleOrder::CancelFirst => vec![cancel, create],
        RescheduleOrder::CreateFirst => vec![create, cancel],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32) -> DateTime<Utc> {
        chrono::TimeZone::with_ymd_and_hms(&Utc, 2030, 1, 1, h, 0, 0).unwrap()
    }

    #[test]
    fn reschedule_links_both_invitees_and_chains() {
        let mut state = CalendlyState::default();
        let (_, first) = book(
            &mut state,
            &BookInvitee::new("lead@example.com", "Lead", at(9)),
        )
        .unwrap();
        let one = reschedule(&mut state, &first.uuid, &RescheduleInvitee::to(at(11))).unwrap();
        assert!(one.old_invitee.rescheduled);
        assert_eq!(
            one.old_invitee.new_invitee.as_deref(),
            Some(one.new_invitee.uuid.as_str())
        );
        assert_eq!(
            one.new_invitee.old_invitee.as_deref(),
            Some(first.uuid.as_str())
        );
        assert_eq!(
            one.new_event.end_time - one.new_event.start_time,
            chrono::Duration::minutes(30)
        );
        assert_eq!(one.old_event.status, CalendlyStatus::Canceled);

        let two = reschedule(
            &mut state,
            &one.new_invitee.uuid,
            &RescheduleInvitee::to(at(13)),
        )
        .unwrap();
        assert_eq!(
            two.new_invitee.old_invitee.as_deref(),
            Some(one.new_invitee.uuid.as_str())
        );
        assert!(matches!(
            reschedule(&mut state, &first.uuid, &RescheduleInvitee::to(at(15))),
            Err(BookingError::Conflict(_))
        ));
    }

    #[test]
    fn envelope_carries_the_invitee_and_scheduled_event() {
        let mut state = CalendlyState::default();
        let (event, invitee) = book(
            &mut state,
            &BookInvitee::new("lead@example.com", "Lead", at(9)),
        )
        .unwrap();
        let body: serde_json::Value = serde_json::from_str(&envelope(
            &state,
            "invitee.created",
            &invitee.uuid,
            "http://x/calendly",
        ))
        .unwrap();
        assert_eq!(body["event"], "invitee.created");
        assert_eq!(body["payload"]["email"], "lead@example.com");
        assert_eq!(
            body["payload"]["scheduled_event"]["uri"],
            format!("http://x/calendly/scheduled_events/{}", event.uuid)
        );
        assert_eq!(
            body["payload"]["scheduled_event"]["start_time"],
            "2030-01-01T09:00:00.000000Z"
        );
        assert!(body["payload"]["old_invitee"].is_null());
    }
}
