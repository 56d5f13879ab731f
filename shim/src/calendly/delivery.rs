//! Parsing a verified Calendly body into typed facts: [`CalendlyDelivery`], or the reason it
//! cannot be processed ([`Unprocessable`]).

use std::collections::BTreeMap;

use booking_activities::scheduler::booking::{
    InviteeBooking, agent_id, booking_id_for_invitee, canceled_event_id, created_event_id,
    property_id,
};
use booking_proto::domain::{
    AgentId, BookingId, Email, EventId, FieldError, FreeText, PropertyId, TourSlot, ValidBooking,
    caps,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::{
    ToSchema,
    openapi::{Object, ObjectBuilder, Type},
};

/// Why a verified delivery cannot be processed. Fatal: kept as a dead letter and answered 202.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unprocessable(pub String);

/// An invitee, named by its URI `…/scheduled_events/{event}/invitees/{invitee}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteeRef {
    pub uri: String,
    pub event_uuid: String,
    pub uuid: String,
}

impl InviteeRef {
    /// Longest invitee URI accepted: it is the booking's source reference and, with `#created`
    /// or `#canceled`, an event id (at most [`EventId::MAX_LEN`] bytes).
    pub const MAX_URI_LEN: usize = 240;

    pub fn parse(uri: &str) -> Result<Self, Unprocessable> {
        if uri.len() > Self::MAX_URI_LEN {
            return Err(Unprocessable(format!(
                "an invitee URI must be at most {} bytes (got {})",
                Self::MAX_URI_LEN,
                uri.len()
            )));
        }
        let bad = || Unprocessable(format!("{uri:?} is not a Calendly invitee URI"));
        let segments: Vec<&str> = uri.trim_end_matches('/').rsplit('/').take(4).collect();
        match segments.as_slice() {
            [uuid, "invitees", event_uuid, "scheduled_events"]
                if valid_uuid(uuid) && valid_uuid(event_uuid) =>
            {
                Ok(Self {
                    uri: uri.to_owned(),
                    event_uuid: (*event_uuid).to_owned(),
                    uuid: (*uuid).to_owned(),
                })
            }
            _ => Err(bad()),
        }
    }

    /// The booking this invitee would key if it started a chain.
    pub fn booking_id(&self) -> Result<BookingId, Unprocessable> {
        booking_id_for_invitee(&self.uuid)
            .map_err(|m| Unprocessable(format!("invitee uuid cannot name a booking: {m}")))
    }

    /// Event id of this invitee's creation: the identity both reschedule halves share.
    pub fn created_event_id(&self) -> String {
        created_event_id(&self.uri)
    }

    pub fn canceled_event_id(&self) -> String {
        canceled_event_id(&self.uri)
    }
}

fn valid_uuid(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The event types the shim acts on; a signed delivery of any other is a dead letter.
const EVENTS: [&str; 2] = ["invitee.created", "invitee.canceled"];

fn event_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(EVENTS))
        .build()
}

/// A Calendly v2 webhook delivery: the fields the shim reads (it ignores the others).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = CalendlyWebhook)]
pub struct Envelope {
    #[schema(schema_with = event_schema)]
    event: String,
    // Read only once the event type is known: a payload of another event type is judged by
    // its type, not by the fields it lacks.
    #[schema(value_type = Payload)]
    payload: serde_json::Value,
}

/// The invitee a delivery is about.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = CalendlyInvitee)]
struct Payload {
    uri: String,
    email: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    rescheduled: bool,
    #[serde(default)]
    old_invitee: Option<String>,
    #[serde(default)]
    new_invitee: Option<String>,
    #[serde(default)]
    cancellation: Option<Cancellation>,
    #[serde(default)]
    questions_and_answers: Vec<QuestionAndAnswer>,
    #[serde(default)]
    text_reminder_number: Option<String>,
    /// Without it the delivery is kept as a dead letter.
    #[schema(value_type = ScheduledEvent, required = true)]
    scheduled_event: Option<ScheduledEvent>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = CalendlyCancellation)]
struct Cancellation {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    canceler_type: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = CalendlyAnswer)]
struct QuestionAndAnswer {
    question: String,
    #[serde(default)]
    answer: Option<String>,
}

/// The tour's window and host.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = CalendlyScheduledEvent)]
struct ScheduledEvent {
    start_time: DateTime<Utc>,
    end_time: DateTime<Utc>,
    #[serde(default)]
    event_type: Option<String>,
    #[serde(default)]
    event_memberships: Vec<Membership>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = CalendlyMembership)]
struct Membership {
    #[serde(default)]
    user_email: Option<String>,
    #[serde(default)]
    user: Option<String>,
}

/// What one invitee says about its booking, every field checked.
#[derive(Debug, Clone, PartialEq)]
pub struct InviteeFacts {
    pub invitee: InviteeRef,
    pub old_invitee: Option<InviteeRef>,
    pub email: Email,
    pub name: String,
    pub phone: String,
    pub timezone: String,
    pub tour: TourSlot,
    pub property_id: PropertyId,
    pub agent_id: AgentId,
    pub answers: BTreeMap<String, String>,
}

impl InviteeFacts {
    /// The booking request these facts describe, as booking `booking_id`.
    pub fn request(
        &self,
        booking_id: &BookingId,
        event_id: &str,
        request_id: &str,
    ) -> Result<ValidBooking, Unprocessable> {
        let request = InviteeBooking {
            invitee_uri: &self.invitee.uri,
            email: self.email.as_str(),
            name: &self.name,
            phone: &self.phone,
            timezone: &self.timezone,
            tour: self.tour.to_proto(),
            property_id: self.property_id.as_str(),
            agent_id: self.agent_id.as_str(),
            answers: &self.answers,
        }
        .request(booking_id, event_id, request_id);
        ValidBooking::parse(request).map_err(|e| Unprocessable(e.to_string()))
    }
}

/// A verified, parsed Calendly delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum CalendlyDelivery {
    /// `invitee.created`; `facts.old_invitee` is set when it is the create half of a reschedule.
    Created(InviteeFacts),
    /// `invitee.canceled`; `rescheduled_to` is set when it is the cancel half of a reschedule.
    Canceled {
        facts: InviteeFacts,
        rescheduled: bool,
        rescheduled_to: Option<InviteeRef>,
        reason: String,
        cancelled_by: String,
    },
}

/// Parses a verified body. Never panics, whatever the bytes.
pub fn parse(body: &[u8]) -> Result<CalendlyDelivery, Unprocessable> {
    let envelope: Envelope = serde_json::from_slice(body)
        .map_err(|e| Unprocessable(format!("not a Calendly webhook envelope: {e}")))?;
    if !EVENTS.contains(&envelope.event.as_str()) {
        return Err(Unprocessable(format!(
            "unsupported event type {:?}",
            envelope.event
        )));
    }
    let p: Payload = serde_json::from_value(envelope.payload)
        .map_err(|e| Unprocessable(format!("payload: {e}")))?;
    let invitee = InviteeRef::parse(&p.uri)?;
    let email = Email::parse(&p.email).map_err(|m| Unprocessable(format!("payload.email: {m}")))?;
    let scheduled = p
        .scheduled_event
        .ok_or_else(|| Unprocessable("payload.scheduled_event is missing".into()))?;
    let tour = TourSlot::new(scheduled.start_time, scheduled.end_time)
        .map_err(|m| Unprocessable(format!("payload.scheduled_event: {m}")))?;
    let old_invitee = p
        .old_invitee
        .as_deref()
        .map(InviteeRef::parse)
        .transpose()?;
    let new_invitee = p
        .new_invitee
        .as_deref()
        .map(InviteeRef::parse)
        .transpose()?;
    // Everything below is checked before anything is sent, naming the payload's own fields,
    // so an oversized or control-laden text is a dead letter that says which, not a booking.
    let mut errors = Vec::new();
    let property_id = PropertyId::parse(&property_id(scheduled.event_type.as_deref()))
        .map_err(|m| errors.push(FieldError::new("payload.scheduled_event.event_type", m)))
        .ok();
    let host = scheduled.event_memberships.first();
    let agent_id = AgentId::parse(&agent_id(
        host.and_then(|m| m.user_email.as_deref()),
        host.and_then(|m| m.user.as_deref()),
    ))
    .map_err(|m| {
        errors.push(FieldError::new(
            "payload.scheduled_event.event_memberships[0]",
            format!("host: {m}"),
        ))
    })
    .ok();
    if p.questions_and_answers.len() > caps::ANSWERS_MAX {
        errors.push(FieldError::new(
            "payload.questions_and_answers",
            format!(
                "at most {} answers (got {})",
                caps::ANSWERS_MAX,
                p.questions_and_answers.len()
            ),
        ));
    }
    let mut text = |field: &str, raw: Option<String>, cap| {
        FreeText::parse(field, raw.as_deref().unwrap_or_default(), cap)
            .map(FreeText::into_string)
            .map_err(|e| errors.push(e))
            .unwrap_or_default()
    };
    let name = text("payload.name", p.name, caps::LEAD_NAME);
    let phone = text(
        "payload.text_reminder_number",
        p.text_reminder_number,
        caps::LEAD_PHONE,
    );
    let timezone = text("payload.timezone", p.timezone, caps::LEAD_TIMEZONE);
    let cancellation = p.cancellation.unwrap_or(Cancellation {
        reason: None,
        canceler_type: None,
    });
    let reason = text(
        "payload.cancellation.reason",
        cancellation.reason,
        caps::REASON,
    );
    let answers = p
        .questions_and_answers
        .into_iter()
        .take(caps::ANSWERS_MAX)
        .enumerate()
        .map(|(i, qa)| {
            let field = format!("payload.questions_and_answers[{i}]");
            (
                text(
                    &format!("{field}.question"),
                    Some(qa.question),
                    caps::ANSWER_QUESTION,
                ),
                text(&format!("{field}.answer"), qa.answer, caps::ANSWER),
            )
        })
        .collect();
    let (Some(property_id), Some(agent_id), true) = (property_id, agent_id, errors.is_empty())
    else {
        return Err(Unprocessable(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        ));
    };
    let facts = InviteeFacts {
        invitee,
        old_invitee,
        email,
        name,
        phone,
        timezone,
        tour,
        property_id,
        agent_id,
        answers,
    };
    if envelope.event == "invitee.created" {
        return Ok(CalendlyDelivery::Created(facts));
    }
    Ok(CalendlyDelivery::Canceled {
        facts,
        rescheduled: p.rescheduled,
        rescheduled_to: new_invitee,
        reason,
        cancelled_by: match cancellation.canceler_type.as_deref() {
            Some("host") => "agent".into(),
            Some("invitee") => "lead".into(),
            _ => "scheduler".into(),
        },
    })
}

/// Event id of a delivery's `cancel` signal.
pub fn event_id(raw: String) -> Result<EventId, Unprocessable> {
    EventId::parse(&raw).map_err(|m| Unprocessable(format!("event id: {m}")))
}
