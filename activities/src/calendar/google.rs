//! The Google Calendar v3 adapter: one event per booking, made idempotent by a client-chosen
//! event id.
//!
//! The event id is [`event_id_for`] the booking id (base32hex of a SHA-256 digest), so every
//! attempt of every activity names the same event. Insert answers 409 `duplicate` when the
//! id was ever used (deleted events included): then the event is read and converged to the
//! wanted state instead. Delete treats 404 and 410 as done. A 401 makes the
//! [`TokenProvider`] forget the token, refresh once and the call is sent once more; that is
//! token renewal, not a retry loop (retries belong to Temporal).

use chrono::{DateTime, SecondsFormat, Utc};
use data_encoding::BASE32HEX_NOPAD;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use crate::{
    config::GoogleCalendarConfig,
    error::{Provider, ProviderError, retry_delay},
    http::{Answer, Http},
    inputs::{
        BusyRange, CalendarEventOutput, CalendarOutcome, CheckFreeBusyInput,
        DeleteCalendarEventInput, EnsureCalendarEventInput, FreeBusyOutput, MoveCalendarEventInput,
    },
    token::{DEFAULT_ACCOUNT, TokenProvider},
};

const PROVIDER: Provider = Provider::GoogleCalendar;

/// The calendar event id of a booking: lowercase base32hex (`a-v0-9`, RFC 4648 "extended
/// hex", no padding) of the first 20 bytes of `sha256("booking:<id>")`: 32 characters,
/// deterministic, and valid whatever characters the booking id holds.
pub fn event_id_for(booking_id: &str) -> String {
    let digest = Sha256::digest(format!("booking:{booking_id}").as_bytes());
    BASE32HEX_NOPAD.encode(&digest[..20]).to_ascii_lowercase()
}

/// An event as far as we read it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarEvent {
    pub id: String,
    #[serde(default)]
    pub status: String,
    pub summary: Option<String>,
    #[serde(default)]
    pub start: EventTime,
    #[serde(default)]
    pub end: EventTime,
    pub updated: Option<String>,
    pub extended_properties: Option<ExtendedProperties>,
}

impl CalendarEvent {
    pub fn is_cancelled(&self) -> bool {
        self.status == "cancelled"
    }

    /// Our booking id, from `extendedProperties.private.booking_id`.
    pub fn booking_id(&self) -> Option<&str> {
        self.extended_properties
            .as_ref()?
            .private
            .get("booking_id")
            .map(String::as_str)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventTime {
    pub date_time: Option<String>,
    pub date: Option<String>,
}

impl EventTime {
    pub fn instant(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(self.date_time.as_deref()?)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ExtendedProperties {
    #[serde(default)]
    pub private: std::collections::BTreeMap<String, String>,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn time_json(t: DateTime<Utc>) -> Value {
    json!({ "dateTime": rfc3339(t), "timeZone": "UTC" })
}

/// The first `errors[].reason` of a Google error body.
fn google_reason(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    v["error"]["errors"][0]["reason"]
        .as_str()
        .map(str::to_owned)
}

/// Google's classification on top of the generic one: 403 rate-limit reasons are retryable
/// (with the provider's delay); any other 403 is fatal.
fn classify(answer: Answer) -> ProviderError {
    let reason = google_reason(&answer.body);
    match (answer.status, reason.as_deref()) {
        (403, Some("rateLimitExceeded" | "userRateLimitExceeded")) => ProviderError::RateLimited {
            provider: PROVIDER,
            status: 403,
            retry_after: retry_delay(&answer.headers),
            body: answer.body,
        },
        _ => answer.into_error(),
    }
}

/// Calendar v3 client acting as the [`DEFAULT_ACCOUNT`] Google account.
#[derive(Debug, Clone)]
pub struct GoogleCalendar {
    http: Http,
    config: GoogleCalendarConfig,
    tokens: TokenProvider,
}

impl GoogleCalendar {
    pub fn new(http: Http, config: GoogleCalendarConfig, tokens: TokenProvider) -> Self {
        Self {
            http,
            config,
            tokens,
        }
    }

    fn url(&self, segments: &[&str]) -> Url {
        crate::http::endpoint(&self.config.base_url, segments.iter().copied())
    }

    /// Sends an authorised request (see [`TokenProvider::send_authorised`]).
    async fn call(
        &self,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Answer, ProviderError> {
        self.tokens
            .send_authorised(&self.http, PROVIDER, DEFAULT_ACCOUNT, build)
            .await
    }

    pub async fn get_event(
        &self,
        calendar_id: &str,
        event_id: &str,
    ) -> Result<CalendarEvent, ProviderError> {
        let url = self.url(&["calendars", calendar_id, "events", event_id]);
        let answer = self.call(|c| c.get(url.clone())).await?;
        if answer.is_success() {
            answer.json()
        } else {
            Err(classify(answer))
        }
    }

    async fn patch_event(
        &self,
        calendar_id: &str,
        event_id: &str,
        patch: &Value,
    ) -> Result<Answer, ProviderError> {
        let url = self.url(&["calendars", calendar_id, "events", event_id]);
        self.call(|c| c.patch(url.clone()).json(patch)).await
    }

    /// Makes the booking's event exist with the wanted time and summary (insert, or on 409
    /// `duplicate` read and converge; a deleted event of a live booking is restored).
    pub async fn ensure_event(
        &self,
        calendar_id: &str,
        input: &EnsureCalendarEventInput,
    ) -> Result<CalendarEventOutput, ProviderError> {
        let event_id = event_id_for(&input.booking_id);
        let mut body = json!({
            "id": event_id,
            "summary": input.summary,
            "start": time_json(input.start),
            "end": time_json(input.end),
            "extendedProperties": { "private": { "booking_id": input.booking_id } },
        });
        if let Some(d) = &input.description {
            body["description"] = json!(d);
        }
        if let Some(l) = &input.location {
            body["location"] = json!(l);
        }
        if !input.attendee_emails.is_empty() {
            body["attendees"] = input
                .attendee_emails
                .iter()
                .map(|e| json!({ "email": e }))
                .collect();
        }
        let url = self.url(&["calendars", calendar_id, "events"]);
        let answer = self.call(|c| c.post(url.clone()).json(&body)).await?;
        let output = |outcome| CalendarEventOutput {
            booking_id: input.booking_id.clone(),
            calendar_id: input.calendar_id.clone(),
            event_id: event_id.clone(),
            outcome,
        };
        if answer.is_success() {
            return Ok(output(CalendarOutcome::Created));
        }
        if !(answer.status == 409 && google_reason(&answer.body).as_deref() == Some("duplicate")) {
            return Err(classify(answer));
        }
        // An earlier attempt (or a retried request) made it: converge.
        let existing = self.get_event(calendar_id, &event_id).await?;
        let mut patch = Map::new();
        if existing.summary.as_deref() != Some(input.summary.as_str()) {
            patch.insert("summary".into(), json!(input.summary));
        }
        if existing.start.instant() != Some(input.start)
            || existing.end.instant() != Some(input.end)
        {
            patch.insert("start".into(), time_json(input.start));
            patch.insert("end".into(), time_json(input.end));
        }
        let outcome = if existing.is_cancelled() {
            patch.insert("status".into(), json!("confirmed"));
            CalendarOutcome::Restored
        } else if patch.is_empty() {
            return Ok(output(CalendarOutcome::Unchanged));
        } else {
            CalendarOutcome::Updated
        };
        let answer = self
            .patch_event(calendar_id, &event_id, &Value::Object(patch))
            .await?;
        if answer.is_success() {
            Ok(output(outcome))
        } else {
            Err(classify(answer))
        }
    }

    /// Moves the booking's event (PATCH of start and end). An event that does not exist is
    /// [`ProviderError::NotFound`] (fatal): the workflow should ensure it instead.
    pub async fn move_event(
        &self,
        calendar_id: &str,
        input: &MoveCalendarEventInput,
    ) -> Result<CalendarEventOutput, ProviderError> {
        let event_id = event_id_for(&input.booking_id);
        let patch = json!({ "start": time_json(input.start), "end": time_json(input.end) });
        let answer = self.patch_event(calendar_id, &event_id, &patch).await?;
        if answer.is_success() {
            Ok(CalendarEventOutput {
                booking_id: input.booking_id.clone(),
                calendar_id: input.calendar_id.clone(),
                event_id,
                outcome: CalendarOutcome::Moved,
            })
        } else {
            Err(classify(answer))
        }
    }

    /// Deletes the booking's event; already deleted (410) or unknown (404) is done too.
    pub async fn delete_event(
        &self,
        calendar_id: &str,
        input: &DeleteCalendarEventInput,
    ) -> Result<CalendarEventOutput, ProviderError> {
        let event_id = event_id_for(&input.booking_id);
        let url = self.url(&["calendars", calendar_id, "events", &event_id]);
        let answer = self.call(|c| c.delete(url.clone())).await?;
        let outcome = match answer.status {
            200..=299 => CalendarOutcome::Deleted,
            404 | 410 => CalendarOutcome::AlreadyGone,
            _ => return Err(classify(answer)),
        };
        Ok(CalendarEventOutput {
            booking_id: input.booking_id.clone(),
            calendar_id: input.calendar_id.clone(),
            event_id,
            outcome,
        })
    }

    /// Busy ranges of the calendar within the window (`POST /freeBusy`). Note that the
    /// booking's own event counts as busy if it already exists.
    pub async fn free_busy(
        &self,
        calendar_id: &str,
        input: &CheckFreeBusyInput,
    ) -> Result<FreeBusyOutput, ProviderError> {
        let body = json!({
            "timeMin": rfc3339(input.start),
            "timeMax": rfc3339(input.end),
            "items": [{ "id": calendar_id }],
        });
        let url = self.url(&["freeBusy"]);
        let answer = self.call(|c| c.post(url.clone()).json(&body)).await?;
        if !answer.is_success() {
            return Err(classify(answer));
        }
        let value: Value = answer.json()?;
        let calendars = value["calendars"].as_object().cloned().unwrap_or_default();
        let entry = calendars
            .get(calendar_id)
            .or_else(|| {
                (calendars.len() == 1)
                    .then(|| calendars.values().next())
                    .flatten()
            })
            .ok_or_else(|| ProviderError::BadResponse {
                provider: PROVIDER,
                message: format!("freeBusy answer has no entry for {calendar_id}"),
            })?;
        if let Some(errors) = entry["errors"].as_array().filter(|e| !e.is_empty()) {
            return Err(ProviderError::Rejected {
                provider: PROVIDER,
                status: 200,
                body: Value::Array(errors.clone()).to_string(),
            });
        }
        let busy: Vec<BusyRange> = serde_json::from_value(entry["busy"].clone()).map_err(|e| {
            ProviderError::BadResponse {
                provider: PROVIDER,
                message: format!("freeBusy busy ranges: {e}"),
            }
        })?;
        Ok(FreeBusyOutput::judge(input, busy))
    }

    /// Every event of the calendar changed since `updated_min`, deleted ones included
    /// (`showDeleted`), optionally only the one carrying `booking_id`
    /// (`privateExtendedProperty`). Follows `nextPageToken` to the end.
    pub async fn list_changed_events(
        &self,
        calendar_id: &str,
        updated_min: DateTime<Utc>,
        booking_id: Option<&str>,
    ) -> Result<Vec<CalendarEvent>, ProviderError> {
        let mut events = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut url = self.url(&["calendars", calendar_id, "events"]);
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("updatedMin", &rfc3339(updated_min))
                    .append_pair("showDeleted", "true")
                    .append_pair("singleEvents", "true")
                    .append_pair("maxResults", "250");
                if let Some(id) = booking_id {
                    q.append_pair("privateExtendedProperty", &format!("booking_id={id}"));
                }
                if let Some(token) = &page_token {
                    q.append_pair("pageToken", token);
                }
            }
            let answer = self.call(|c| c.get(url.clone())).await?;
            if !answer.is_success() {
                return Err(classify(answer));
            }
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Page {
                #[serde(default)]
                items: Vec<CalendarEvent>,
                #[serde(default)]
                next_page_token: Option<String>,
            }
            let page: Page = answer.json()?;
            events.extend(page.items);
            match page.next_page_token {
                Some(token) if !token.is_empty() => page_token = Some(token),
                _ => return Ok(events),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_deterministic_base32hex() {
        let id = event_id_for("bk-1");
        assert_eq!(id, event_id_for("bk-1"));
        assert_ne!(id, event_id_for("bk-2"));
        assert_eq!(id.len(), 32);
        assert!(
            id.chars().all(|c| matches!(c, 'a'..='v' | '0'..='9')),
            "{id}"
        );
        // Any booking id, even one Google would refuse as an event id, maps to a valid one.
        assert_eq!(event_id_for("ÄÖ/ü?#").len(), 32);
    }

    #[test]
    fn rate_limit_403_is_retryable_other_403_is_fatal() {
        let answer = |reason: &str| {
            Answer {
            provider: PROVIDER,
            status: 403,
            headers: Default::default(),
            body: json!({"error": {"code": 403, "message": "m", "errors": [{"domain": "usageLimits", "reason": reason, "message": "m"}]}}).to_string(),
        }
        };
        assert!(classify(answer("rateLimitExceeded")).is_retryable());
        assert!(classify(answer("userRateLimitExceeded")).is_retryable());
        let fatal = classify(answer("forbidden"));
        assert!(!fatal.is_retryable());
        assert_eq!(fatal.type_name(), "ProviderAuthRejected");
    }
}
