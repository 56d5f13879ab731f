//! Calendly v2 resources as far as we read them, and the checks a 2xx body must pass before
//! anything downstream trusts it.
//!
//! Only the fields the engine uses are declared; unknown fields are ignored, so Calendly
//! adding a field never breaks us. A field we rely on that is missing, mistyped or
//! inconsistent (an end before its start, a URI with no UUID in it) is a
//! [`ProviderError::BadResponse`] naming the field.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::{
    error::{Provider, ProviderError},
    http::Answer,
};

pub(crate) const PROVIDER: Provider = Provider::Calendly;

/// `status` of a scheduled event or an invitee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendlyStatus {
    Active,
    Canceled,
}

impl CalendlyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Canceled => "canceled",
        }
    }
}

/// `GET /users/me` → `resource`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CurrentUser {
    pub uri: String,
    pub current_organization: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub timezone: Option<String>,
}

/// `location` of a scheduled event (`{type, location?, join_url?}`), or `null`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct EventLocation {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// The address of a physical location.
    pub location: Option<String>,
    /// The link of a video-conference location.
    pub join_url: Option<String>,
}

/// `cancellation` of a canceled event or invitee.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Cancellation {
    pub canceled_by: Option<String>,
    pub reason: Option<String>,
    /// `invitee` or `host`.
    pub canceler_type: Option<String>,
}

/// A scheduled event (`/scheduled_events` items, and `scheduled_event` in webhook payloads).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ScheduledEvent {
    pub uri: String,
    pub status: CalendlyStatus,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub name: Option<String>,
    pub location: Option<EventLocation>,
    pub cancellation: Option<Cancellation>,
    /// URI of the event type (the property, see [`super::booking::property_id`]).
    pub event_type: Option<String>,
    /// The hosts (the agent, see [`super::booking::agent_id`]).
    #[serde(default)]
    pub event_memberships: Vec<EventMembership>,
}

/// One host of a scheduled event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct EventMembership {
    pub user: Option<String>,
    pub user_email: Option<String>,
}

impl ScheduledEvent {
    /// The property this event is about (shared mapping with the webhook shim).
    pub fn property_id(&self) -> String {
        super::booking::property_id(self.event_type.as_deref())
    }

    /// The agent hosting this event (shared mapping with the webhook shim).
    pub fn agent_id(&self) -> String {
        let host = self.event_memberships.first();
        super::booking::agent_id(
            host.and_then(|h| h.user_email.as_deref()),
            host.and_then(|h| h.user.as_deref()),
        )
    }

    /// The UUID at the end of [`Self::uri`] (checked non-empty by [`Validate`]).
    pub fn uuid(&self) -> &str {
        last_segment(&self.uri)
    }
}

/// One question of the booking form and the invitee's answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct QuestionAndAnswer {
    pub question: String,
    #[serde(default)]
    pub answer: String,
    #[serde(default)]
    pub position: u32,
}

/// An invitee (`/scheduled_events/{uuid}/invitees` items, the single invitee resource, and
/// the payload of `invitee.created`/`invitee.canceled` webhooks).
///
/// A reschedule is two invitees: the old one is canceled with `rescheduled: true` and
/// `new_invitee` set; the new one (on a new scheduled event) has `old_invitee` set. Both
/// links are invitee URIs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Invitee {
    pub uri: String,
    pub email: String,
    pub name: String,
    pub status: CalendlyStatus,
    pub timezone: Option<String>,
    #[serde(default)]
    pub rescheduled: bool,
    pub old_invitee: Option<String>,
    pub new_invitee: Option<String>,
    pub cancellation: Option<Cancellation>,
    #[serde(default)]
    pub questions_and_answers: Vec<QuestionAndAnswer>,
    /// The phone number the invitee gave for text reminders.
    pub text_reminder_number: Option<String>,
    /// URI of the invitee's scheduled event (API resources).
    pub event: Option<String>,
    /// The scheduled event itself (webhook payloads).
    pub scheduled_event: Option<ScheduledEvent>,
}

impl Invitee {
    /// The UUID at the end of [`Self::uri`].
    pub fn uuid(&self) -> &str {
        last_segment(&self.uri)
    }
}

/// `{resource: T}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Resource<T> {
    pub resource: T,
}

/// `{collection: [T], pagination: {next_page_token}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Page<T> {
    pub collection: Vec<T>,
    pub pagination: Pagination,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Pagination {
    pub next_page_token: Option<String>,
}

/// The last path segment of a resource URI.
pub fn last_segment(uri: &str) -> &str {
    uri.trim_end_matches('/').rsplit('/').next().unwrap_or("")
}

pub(crate) fn bad(message: impl Into<String>) -> ProviderError {
    ProviderError::BadResponse {
        provider: PROVIDER,
        message: message.into(),
    }
}

/// Semantic checks on a resource that deserialised.
pub(crate) trait Validate {
    fn validate(&self) -> Result<(), String>;
}

fn check_uri(field: &str, uri: &str) -> Result<(), String> {
    let parsed = url::Url::parse(uri).map_err(|e| format!("{field} {uri:?} is not a URL: {e}"))?;
    if last_segment(parsed.path()).is_empty() {
        return Err(format!("{field} {uri:?} names no resource"));
    }
    Ok(())
}

impl Validate for CurrentUser {
    fn validate(&self) -> Result<(), String> {
        check_uri("uri", &self.uri)?;
        check_uri("current_organization", &self.current_organization)
    }
}

impl Validate for ScheduledEvent {
    fn validate(&self) -> Result<(), String> {
        check_uri("scheduled event uri", &self.uri)?;
        if self.end_time < self.start_time {
            return Err(format!(
                "scheduled event {} ends ({}) before it starts ({})",
                self.uri, self.end_time, self.start_time
            ));
        }
        Ok(())
    }
}

impl Validate for Invitee {
    fn validate(&self) -> Result<(), String> {
        check_uri("invitee uri", &self.uri)?;
        if !self.email.contains('@') {
            return Err(format!(
                "invitee {} has no usable email ({:?})",
                self.uri, self.email
            ));
        }
        for (field, link) in [
            ("old_invitee", &self.old_invitee),
            ("new_invitee", &self.new_invitee),
            ("event", &self.event),
        ] {
            if let Some(link) = link {
                check_uri(field, link)?;
            }
        }
        if let Some(event) = &self.scheduled_event {
            event.validate()?;
        }
        Ok(())
    }
}

/// Reads a 2xx body as `T` and validates it; either failure is a `BadResponse` saying what
/// was wrong (`what` names the request, e.g. `GET /users/me`).
pub(crate) fn parse<T: DeserializeOwned>(answer: &Answer, what: &str) -> Result<T, ProviderError> {
    serde_json::from_str(&answer.body)
        .map_err(|e| bad(format!("{what}: unreadable {} body: {e}", answer.status)))
}

pub(crate) fn parse_resource<T: DeserializeOwned + Validate>(
    answer: &Answer,
    what: &str,
) -> Result<T, ProviderError> {
    let Resource { resource } = parse::<Resource<T>>(answer, what)?;
    resource
        .validate()
        .map_err(|reason| bad(format!("{what}: {reason}")))?;
    Ok(resource)
}

pub(crate) fn parse_page<T: DeserializeOwned + Validate>(
    answer: &Answer,
    what: &str,
) -> Result<Page<T>, ProviderError> {
    let page = parse::<Page<T>>(answer, what)?;
    for item in &page.collection {
        item.validate()
            .map_err(|reason| bad(format!("{what}: {reason}")))?;
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &str) -> Answer {
        Answer {
            provider: PROVIDER,
            status: 200,
            headers: Default::default(),
            body: body.to_owned(),
        }
    }

    #[test]
    fn uuids_are_the_last_uri_segment() {
        assert_eq!(
            last_segment("https://api.calendly.com/scheduled_events/AB12"),
            "AB12"
        );
        assert_eq!(last_segment("https://x/y/AB12/"), "AB12");
    }

    #[test]
    fn an_event_ending_before_it_starts_is_a_bad_response() {
        let body = r#"{"collection":[{"uri":"https://x/scheduled_events/E1","status":"active",
            "start_time":"2030-05-06T10:00:00.000000Z","end_time":"2030-05-06T09:00:00.000000Z"}],
            "pagination":{"next_page_token":null}}"#;
        let err = parse_page::<ScheduledEvent>(&answer(body), "GET /scheduled_events").unwrap_err();
        assert_eq!(err.type_name(), "ProviderBadResponse");
        assert!(err.to_string().contains("ends"), "{err}");
    }

    #[test]
    fn missing_or_mistyped_fields_are_named() {
        let body = r#"{"resource":{"uri":"https://x/users/U1"}}"#;
        let err = parse_resource::<CurrentUser>(&answer(body), "GET /users/me").unwrap_err();
        assert!(err.to_string().contains("current_organization"), "{err}");
        let body = r#"{"collection":[{"uri":"https://x/scheduled_events/E1","status":"maybe",
            "start_time":"2030-05-06T10:00:00Z","end_time":"2030-05-06T11:00:00Z"}],"pagination":{}}"#;
        let err = parse_page::<ScheduledEvent>(&answer(body), "list").unwrap_err();
        assert!(err.to_string().contains("maybe"), "{err}");
    }

    #[test]
    fn a_webhook_payload_reads_as_an_invitee() {
        let body = r#"{"resource":{"uri":"https://x/scheduled_events/E2/invitees/I2",
            "email":"lee@example.com","name":"Lee","status":"active","timezone":"Europe/Paris",
            "rescheduled":false,"old_invitee":"https://x/scheduled_events/E1/invitees/I1",
            "new_invitee":null,"questions_and_answers":[{"question":"Pets?","answer":"No","position":0}],
            "scheduled_event":{"uri":"https://x/scheduled_events/E2","status":"active",
              "start_time":"2030-05-06T10:00:00.000000Z","end_time":"2030-05-06T10:30:00.000000Z",
              "location":{"type":"physical","location":"1 Main St"}}}}"#;
        let invitee = parse_resource::<Invitee>(&answer(body), "payload").unwrap();
        assert_eq!(invitee.uuid(), "I2");
        assert_eq!(last_segment(invitee.old_invitee.as_deref().unwrap()), "I1");
        let event = invitee.scheduled_event.unwrap();
        assert_eq!(
            event.location.unwrap().location.as_deref(),
            Some("1 Main St")
        );
        assert_eq!(invitee.questions_and_answers[0].answer, "No");
    }
}
