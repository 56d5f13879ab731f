//! Calendly deliveries: parsing a verified body into typed facts, and deciding which booking it
//! belongs to.
//!
//! # Booking ids and reschedule chains
//!
//! A booking is keyed by the Calendly invitee that **started** its chain: booking id
//! `cal-<root invitee uuid>`. Calendly has no reschedule event; a reschedule is a cancel of the
//! old invitee (`rescheduled: true`, `new_invitee` set) and a create of a new invitee
//! (`old_invitee` set), in either order, and a chain A → B → C repeats that. Every invitee of the
//! chain must land on booking `cal-A`.
//!
//! The root is found by following `old_invitee` links back through the Calendly API
//! (`GET /scheduled_events/{event}/invitees/{invitee}`), which is the source of truth and
//! strongly consistent: no dependence on Temporal's eventually consistent visibility, and no
//! extra workflow per invitee. A chain of n reschedules costs at most n reads, and chains are
//! short (a lead moves a tour a handful of times); the walk is capped at [`MAX_CHAIN`] hops so
//! a corrupt loop becomes a dead letter rather than a hang. When Calendly cannot be reached the
//! delivery is answered 503 and Calendly redelivers it later.
//!
//! Both halves of a reschedule send the **same** `reschedule` signal: event id
//! `<new invitee uri>#created`, the new invitee's window and URI (the cancel half reads them
//! from the API). Whichever half arrives first moves the booking; the other is a duplicate
//! the workflow ignores, so the order does not matter and the cancel half never cancels.
//! Before sending it the shim checks that the new invitee is still active: a late redelivery of
//! an old reschedule (B after the chain moved on to C) must not move the tour back.
//!
//! Every signal is sent with signal-with-start from the delivery's own facts, so a cancel or a
//! reschedule that overtakes the creation it follows still lands on one booking, and the late
//! creation is then a no-op (conflict policy "use existing").

use std::collections::BTreeMap;

use booking_activities::scheduler::{
    booking::{
        InviteeBooking, agent_id, booking_id_for_invitee, canceled_event_id, created_event_id,
        property_id,
    },
    client::CalendlyClient,
    model::CalendlyStatus,
};
use booking_proto::domain::{
    AgentId, BookingId, Email, EventId, FieldError, FreeText, PropertyId, TourSlot, ValidBooking,
    caps,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// The longest reschedule chain followed before the delivery is judged broken.
pub const MAX_CHAIN: usize = 50;

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

#[derive(Debug, Deserialize)]
struct Envelope {
    event: String,
    /// Read only once the event type is known: a payload of another event type is judged by
    /// its type, not by the fields it lacks.
    payload: serde_json::Value,
}

#[derive(Debug, Deserialize)]
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
    scheduled_event: Option<ScheduledEvent>,
}

#[derive(Debug, Deserialize)]
struct Cancellation {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    canceler_type: Option<String>,
}

#[derive(Debug, Deserialize)]
struct QuestionAndAnswer {
    question: String,
    #[serde(default)]
    answer: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ScheduledEvent {
    start_time: DateTime<Utc>,
    end_time: DateTime<Utc>,
    #[serde(default)]
    event_type: Option<String>,
    #[serde(default)]
    event_memberships: Vec<Membership>,
}

#[derive(Debug, Deserialize)]
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
    if !matches!(
        envelope.event.as_str(),
        "invitee.created" | "invitee.canceled"
    ) {
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

/// Why the Calendly API could not answer a chain question.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// Retryable: Calendly is unreachable, rate-limiting or failing; answered 503 so Calendly
    /// redelivers later.
    #[error("Calendly API unavailable: {0}")]
    Unavailable(String),
    /// Fatal: the chain is broken (an invitee is gone, a loop, a bad URI); dead-lettered.
    #[error("{0}")]
    Broken(String),
}

impl From<Unprocessable> for ChainError {
    fn from(e: Unprocessable) -> Self {
        ChainError::Broken(e.0)
    }
}

/// The current state of one invitee, read from the API.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveInvitee {
    pub active: bool,
    pub old_invitee: Option<InviteeRef>,
}

/// Follows reschedule chains through the Calendly API.
#[derive(Debug, Clone)]
pub struct Chains {
    client: CalendlyClient,
}

fn api_error(e: booking_activities::error::ProviderError) -> ChainError {
    if e.is_retryable() {
        ChainError::Unavailable(e.to_string())
    } else {
        ChainError::Broken(e.to_string())
    }
}

impl Chains {
    pub fn new(client: CalendlyClient) -> Self {
        Self { client }
    }

    pub async fn invitee(&self, invitee: &InviteeRef) -> Result<LiveInvitee, ChainError> {
        let live = self
            .client
            .invitee(&invitee.event_uuid, &invitee.uuid)
            .await
            .map_err(api_error)?;
        Ok(LiveInvitee {
            active: live.status == CalendlyStatus::Active,
            old_invitee: live
                .old_invitee
                .as_deref()
                .map(InviteeRef::parse)
                .transpose()?,
        })
    }

    /// The window of the scheduled event `event_uuid`.
    pub async fn tour(&self, event_uuid: &str) -> Result<TourSlot, ChainError> {
        let event = self
            .client
            .scheduled_event(event_uuid)
            .await
            .map_err(api_error)?;
        TourSlot::new(event.start_time, event.end_time).map_err(ChainError::Broken)
    }

    /// The invitee that started the chain `start` belongs to; `start_old` is what the delivery
    /// already said about `start`'s predecessor (saves one read).
    pub async fn root(
        &self,
        start: &InviteeRef,
        start_old: Option<&InviteeRef>,
    ) -> Result<InviteeRef, ChainError> {
        let mut current = start.clone();
        let mut previous = start_old.cloned();
        for _ in 0..MAX_CHAIN {
            match previous {
                None => return Ok(current),
                Some(older) => {
                    previous = self.invitee(&older).await?.old_invitee;
                    current = older;
                }
            }
        }
        Err(ChainError::Broken(format!(
            "the reschedule chain of {} is longer than {MAX_CHAIN}",
            start.uri
        )))
    }
}

/// Event id of a delivery's `cancel` signal.
pub fn event_id(raw: String) -> Result<EventId, Unprocessable> {
    EventId::parse(&raw).map_err(|m| Unprocessable(format!("event id: {m}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://sandbox/calendly/scheduled_events";

    fn body(event: &str, extra: serde_json::Value) -> Vec<u8> {
        let mut payload = serde_json::json!({
            "uri": format!("{BASE}/EV1/invitees/INV1"),
            "email": "Lead@Example.com",
            "name": "Lead",
            "timezone": "Europe/Paris",
            "rescheduled": false,
            "old_invitee": null,
            "new_invitee": null,
            "questions_and_answers": [{"question": "Budget?", "answer": "1M"}],
            "scheduled_event": {
                "uri": format!("{BASE}/EV1"),
                "start_time": "2030-01-01T09:00:00.000000Z",
                "end_time": "2030-01-01T09:30:00.000000Z",
                "event_type": "http://sandbox/calendly/event_types/TYPE1",
                "event_memberships": [{"user_email": "agent@sandbox.test"}]
            }
        });
        if let (Some(p), Some(e)) = (payload.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                p.insert(k.clone(), v.clone());
            }
        }
        serde_json::to_vec(&serde_json::json!({"event": event, "payload": payload})).unwrap()
    }

    #[test]
    fn a_creation_parses_into_facts() {
        let CalendlyDelivery::Created(facts) =
            parse(&body("invitee.created", serde_json::json!({}))).unwrap()
        else {
            panic!("a creation");
        };
        assert_eq!(facts.invitee.uuid, "INV1");
        assert_eq!(facts.email.as_str(), "lead@example.com");
        assert_eq!(facts.property_id.as_str(), "TYPE1");
        assert_eq!(facts.agent_id.as_str(), "agent@sandbox.test");
        assert_eq!(facts.answers["Budget?"], "1M");
        let booking = facts.invitee.booking_id().unwrap();
        assert_eq!(booking.as_str(), "cal-INV1");
        let valid = facts.request(&booking, "e1", "r1").unwrap();
        assert_eq!(valid.request.request_id, "r1");
    }

    #[test]
    fn the_cancel_half_of_a_reschedule_names_its_successor() {
        let delivery = parse(&body(
            "invitee.canceled",
            serde_json::json!({
                "rescheduled": true,
                "new_invitee": format!("{BASE}/EV2/invitees/INV2"),
                "cancellation": {"reason": "busy", "canceler_type": "invitee"}
            }),
        ))
        .unwrap();
        let CalendlyDelivery::Canceled {
            rescheduled,
            rescheduled_to,
            cancelled_by,
            ..
        } = delivery
        else {
            panic!("a cancel");
        };
        assert!(rescheduled);
        assert_eq!(rescheduled_to.unwrap().uuid, "INV2");
        assert_eq!(cancelled_by, "lead");
    }

    #[test]
    fn unprocessable_payloads_say_why() {
        for (b, why) in [
            (
                body("invitee.no_show", serde_json::json!({})),
                "unsupported",
            ),
            (
                body("invitee.created", serde_json::json!({"email": "nope"})),
                "email",
            ),
            (
                body(
                    "invitee.created",
                    serde_json::json!({"scheduled_event": null}),
                ),
                "scheduled_event",
            ),
            (
                body("invitee.created", serde_json::json!({"uri": "http://x/y"})),
                "invitee URI",
            ),
            (b"[]".to_vec(), "envelope"),
        ] {
            let err = parse(&b).unwrap_err();
            assert!(err.0.contains(why), "{err} should mention {why}");
        }
    }

    #[test]
    fn an_oversized_invitee_name_is_a_dead_letter_naming_the_field() {
        let err = parse(&body(
            "invitee.created",
            serde_json::json!({"name": "N".repeat(10_000)}),
        ))
        .unwrap_err();
        assert!(
            err.0.starts_with("payload.name: must be at most 200"),
            "{err}"
        );
    }

    #[test]
    fn every_bad_text_of_a_delivery_is_named_at_once() {
        let err = parse(&body(
            "invitee.canceled",
            serde_json::json!({
                "name": "Lead\u{1b}[2J",
                "timezone": "Europe/Paris\n",
                "text_reminder_number": "9".repeat(41),
                "questions_and_answers": [{"question": "Budget?", "answer": "a".repeat(2_001)}],
                "cancellation": {"reason": "bye\u{7}", "canceler_type": "invitee"}
            }),
        ))
        .unwrap_err();
        for field in [
            "payload.name:",
            "payload.text_reminder_number:",
            "payload.cancellation.reason:",
            "payload.questions_and_answers[0].answer:",
        ] {
            assert!(err.0.contains(field), "{err} should name {field}");
        }
        // A trailing line break is padding, trimmed like any other.
        assert!(!err.0.contains("payload.timezone"), "{err}");
    }

    #[test]
    fn host_and_event_type_ids_are_checked_and_trimmed() {
        let mut v = body("invitee.created", serde_json::json!({}));
        let text = String::from_utf8(v.clone()).unwrap();
        v = text
            .replace("agent@sandbox.test", " agent@sandbox.test ")
            .into_bytes();
        let CalendlyDelivery::Created(facts) = parse(&v).unwrap() else {
            panic!("a creation");
        };
        assert_eq!(facts.agent_id.as_str(), "agent@sandbox.test");
        let bad = text.replace("agent@sandbox.test", "agent/x@sandbox.test");
        let err = parse(bad.as_bytes()).unwrap_err();
        assert!(err.0.contains("event_memberships[0]"), "{err}");
        let long = text.replace("TYPE1", &"T".repeat(200));
        let err = parse(long.as_bytes()).unwrap_err();
        assert!(
            err.0.contains("payload.scheduled_event.event_type"),
            "{err}"
        );
    }

    #[test]
    fn invitee_uris_parse_strictly() {
        let r = InviteeRef::parse(&format!("{BASE}/EV/invitees/IN-1")).unwrap();
        assert_eq!((r.event_uuid.as_str(), r.uuid.as_str()), ("EV", "IN-1"));
        assert!(InviteeRef::parse(&format!("{BASE}/EV/invitees/a b")).is_err());
        assert!(InviteeRef::parse("invitees/x").is_err());
        let long = format!(
            "{BASE}/{}/EV/invitees/IN-1",
            "x".repeat(InviteeRef::MAX_URI_LEN)
        );
        assert!(InviteeRef::parse(&long).unwrap_err().0.contains("at most"));
        assert!(r.created_event_id().ends_with("#created"));
    }
}
