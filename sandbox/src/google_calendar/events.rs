//! `events.insert`, `get`, `patch`, `update` and `delete`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::error::GoogleError;
use super::model::{
    Event, EventInput, Person, Reminders, Span, StoredEvent, is_valid_event_id, merge_patch,
};
use super::{GoogleAuth, resolve_calendar};
use crate::body::{JsonBody, PathParams};
use crate::state::Shared;
use crate::time;

type Result<T> = std::result::Result<T, GoogleError>;

fn new_event_id() -> String {
    // base32hex of a v4 uuid: 26 characters from [0-9a-v], as Google's own ids.
    data_encoding::BASE32HEX_NOPAD
        .encode(uuid::Uuid::new_v4().as_bytes())
        .to_ascii_lowercase()
}

fn etag(updated: DateTime<Utc>, change_seq: u64) -> String {
    format!("\"{}{:03}\"", updated.timestamp_millis(), change_seq % 1000)
}

fn html_link(event_id: &str, calendar_id: &str) -> String {
    let eid = data_encoding::BASE64_NOPAD.encode(format!("{event_id} {calendar_id}").as_bytes());
    format!("https://www.google.com/calendar/event?eid={eid}")
}

/// Writes the fields of a validated input onto an event.
fn apply(event: &mut Event, input: EventInput) {
    event.status = input.status.unwrap_or_else(|| "confirmed".into());
    event.summary = input.summary;
    event.description = input.description;
    event.location = input.location;
    if let Some(start) = input.start {
        event.start = start;
    }
    if let Some(end) = input.end {
        event.end = end;
    }
    event.attendees = input
        .attendees
        .unwrap_or_default()
        .into_iter()
        .map(|mut a| {
            a.response_status
                .get_or_insert_with(|| "needsAction".into());
            a
        })
        .collect();
    event.extended_properties = input
        .extended_properties
        .filter(|p| !p.private.is_empty() || !p.shared.is_empty());
    event.transparency = input.transparency;
}

pub async fn insert(
    State(state): State<Shared>,
    _: GoogleAuth,
    PathParams(calendar_id, _): PathParams<String, GoogleError>,
    JsonBody(input, _): JsonBody<EventInput, GoogleError>,
) -> Result<Json<Event>> {
    let calendar_id = resolve_calendar(&state, &calendar_id);
    let id = match &input.id {
        Some(id) if !is_valid_event_id(id) => {
            return Err(GoogleError::invalid("Invalid resource id value."));
        }
        Some(id) => id.clone(),
        None => new_event_id(),
    };
    let span = input.validate()?;
    let owner = state.config.google_primary_calendar.clone();
    let event = state.change(|p| {
        let store = &mut p.google_calendar;
        let calendar = store.calendars.entry(calendar_id.clone()).or_default();
        // Deleted events keep their id forever: this is what makes insert idempotent.
        if calendar.events.contains_key(&id) {
            return Err(GoogleError::duplicate());
        }
        store.change_seq += 1;
        let now = time::now();
        let mut event = Event {
            kind: "calendar#event".into(),
            etag: etag(now, store.change_seq),
            id: id.clone(),
            status: "confirmed".into(),
            html_link: html_link(&id, &calendar_id),
            created: time::millis(now),
            updated: time::millis(now),
            summary: None,
            description: None,
            location: None,
            creator: Person {
                email: owner.clone(),
                is_self: Some(true),
            },
            organizer: Person {
                email: calendar_id.clone(),
                is_self: Some(calendar_id == owner),
            },
            start: Default::default(),
            end: Default::default(),
            ical_uid: format!("{id}@google.com"),
            sequence: 0,
            attendees: Vec::new(),
            extended_properties: None,
            transparency: None,
            reminders: Reminders::default(),
            event_type: "default".into(),
        };
        apply(&mut event, input);
        calendar.next_order += 1;
        calendar.events.insert(
            id.clone(),
            StoredEvent {
                event: event.clone(),
                change_seq: store.change_seq,
                order: calendar.next_order,
                updated_at: now,
                start_at: span.start,
                end_at: span.end,
            },
        );
        Ok(event)
    })?;
    Ok(Json(event))
}

/// Deleted events are still returned, with `status: cancelled` (as Google does).
pub async fn get(
    State(state): State<Shared>,
    _: GoogleAuth,
    PathParams((calendar_id, event_id), _): PathParams<(String, String), GoogleError>,
) -> Result<Json<Event>> {
    let calendar_id = resolve_calendar(&state, &calendar_id);
    state
        .read(|p| {
            p.google_calendar
                .calendars
                .get(&calendar_id)
                .and_then(|c| c.events.get(&event_id))
                .map(|s| s.event.clone())
        })
        .map(Json)
        .ok_or_else(GoogleError::not_found)
}

/// Only the given fields change; nested objects merge, arrays are replaced.
pub async fn patch(
    State(state): State<Shared>,
    _: GoogleAuth,
    PathParams((calendar_id, event_id), _): PathParams<(String, String), GoogleError>,
    JsonBody(body, _): JsonBody<Value, GoogleError>,
) -> Result<Json<Event>> {
    if !body.is_object() {
        return Err(GoogleError::bad_request("Parse Error"));
    }
    rewrite(&state, &calendar_id, &event_id, |current| {
        let mut merged = serde_json::to_value(EventInput::from(current)).unwrap_or_default();
        merge_patch(&mut merged, &body);
        serde_json::from_value(merged)
            .map_err(|e| GoogleError::invalid(format!("Invalid value: {e}")))
    })
}

/// Full replacement: fields not given are cleared.
pub async fn update(
    State(state): State<Shared>,
    _: GoogleAuth,
    PathParams((calendar_id, event_id), _): PathParams<(String, String), GoogleError>,
    JsonBody(input, _): JsonBody<EventInput, GoogleError>,
) -> Result<Json<Event>> {
    rewrite(&state, &calendar_id, &event_id, |_| Ok(input))
}

fn rewrite(
    state: &Shared,
    calendar_id: &str,
    event_id: &str,
    new_input: impl FnOnce(&Event) -> Result<EventInput>,
) -> Result<Json<Event>> {
    let calendar_id = resolve_calendar(state, calendar_id);
    state.change(|p| {
        let store = &mut p.google_calendar;
        let stored = store
            .calendars
            .get_mut(&calendar_id)
            .and_then(|c| c.events.get_mut(event_id))
            .ok_or_else(GoogleError::not_found)?;
        let mut input = new_input(&stored.event)?;
        // The id is not writable; a different one in the body is ignored.
        input.id = Some(stored.event.id.clone());
        let Span { start, end } = input.validate()?;
        let moved = start != stored.start_at || end != stored.end_at;
        store.change_seq += 1;
        let now = time::now();
        let event = &mut stored.event;
        apply(event, input);
        if moved {
            event.sequence += 1;
        }
        event.updated = time::millis(now);
        event.etag = etag(now, store.change_seq);
        stored.change_seq = store.change_seq;
        stored.updated_at = now;
        stored.start_at = start;
        stored.end_at = end;
        Ok(Json(stored.event.clone()))
    })
}

/// 204; the event stays, cancelled. A second delete is 410 `deleted`.
pub async fn delete(
    State(state): State<Shared>,
    _: GoogleAuth,
    PathParams((calendar_id, event_id), _): PathParams<(String, String), GoogleError>,
) -> Result<StatusCode> {
    let calendar_id = resolve_calendar(&state, &calendar_id);
    state.change(|p| {
        let store = &mut p.google_calendar;
        let stored = store
            .calendars
            .get_mut(&calendar_id)
            .and_then(|c| c.events.get_mut(&event_id))
            .ok_or_else(GoogleError::not_found)?;
        if stored.event.is_cancelled() {
            return Err(GoogleError::deleted());
        }
        store.change_seq += 1;
        let now = time::now();
        stored.event.status = "cancelled".into();
        stored.event.updated = time::millis(now);
        stored.event.etag = etag(now, store.change_seq);
        stored.change_seq = store.change_seq;
        stored.updated_at = now;
        Ok(StatusCode::NO_CONTENT)
    })
}
