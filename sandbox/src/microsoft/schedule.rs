//! `calendar/getSchedule`: free/busy items and the availability view of each schedule.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::call::GraphCall;
use super::error::GraphError;
use super::events::odata_json;
use super::model::{DateTimeTimeZone, StoredGraphEvent, date_time_time_zone};
use super::user_key;
use crate::body::JsonBody;
use crate::state::Shared;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleRequest {
    #[serde(default)]
    schedules: Vec<String>,
    start_time: Option<DateTimeTimeZone>,
    end_time: Option<DateTimeTimeZone>,
    #[serde(default)]
    availability_view_interval: Option<i64>,
}

/// The availability-view digit of a `showAs` status (`0` free).
fn digit(show_as: &str) -> u8 {
    match show_as {
        "tentative" => 1,
        "busy" => 2,
        "oof" => 3,
        "workingElsewhere" => 4,
        _ => 0,
    }
}

/// When several events share an interval, the strongest status shows.
fn rank(d: u8) -> u8 {
    match d {
        3 => 4,
        2 => 3,
        1 => 2,
        4 => 1,
        _ => 0,
    }
}

fn working_hours() -> Value {
    json!({
        "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
        "startTime": "08:00:00.0000000",
        "endTime": "17:00:00.0000000",
        "timeZone": {"name": "UTC"},
    })
}

fn availability_view(
    items: &[&StoredGraphEvent],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    interval: chrono::Duration,
) -> String {
    let mut view = String::new();
    let mut slot = start;
    while slot < end {
        let slot_end = (slot + interval).min(end);
        let best = items
            .iter()
            .filter(|e| e.overlaps(slot, slot_end))
            .map(|e| digit(&e.show_as))
            .max_by_key(|d| rank(*d))
            .unwrap_or(0);
        view.push(char::from(b'0' + best));
        slot = slot_end;
    }
    view
}

pub async fn get_schedule(
    State(state): State<Shared>,
    GraphCall { root, .. }: GraphCall<String>,
    JsonBody(request, _): JsonBody<ScheduleRequest, GraphError>,
) -> Result<Response, GraphError> {
    let missing =
        |name: &str| GraphError::invalid_parameter(format!("The parameter '{name}' is required."));
    if request.schedules.is_empty() {
        return Err(missing("Schedules"));
    }
    let start = request
        .start_time
        .as_ref()
        .ok_or_else(|| missing("StartTime"))?
        .instant()?;
    let end = request
        .end_time
        .as_ref()
        .ok_or_else(|| missing("EndTime"))?
        .instant()?;
    if end <= start {
        return Err(GraphError::invalid_parameter(
            "The parameter 'EndTime' must be later than 'StartTime'.",
        ));
    }
    let minutes = request.availability_view_interval.unwrap_or(30);
    if !(5..=1440).contains(&minutes) {
        return Err(GraphError::invalid_parameter(
            "The parameter 'AvailabilityViewInterval' must be between 5 and 1440.",
        ));
    }
    let interval = chrono::Duration::minutes(minutes);
    let value: Vec<Value> = state.read(|p| {
        request
            .schedules
            .iter()
            .map(|schedule| {
                if !crate::email::is_valid(schedule) {
                    return json!({
                        "scheduleId": schedule,
                        "availabilityView": "",
                        "error": {
                            "message": format!("Invalid SMTP address '{schedule}'."),
                            "responseCode": "ErrorInvalidSmtpAddress",
                        },
                    });
                }
                let mut items: Vec<&StoredGraphEvent> = p
                    .microsoft
                    .mailboxes
                    .get(&user_key(schedule))
                    .map(|m| {
                        m.events
                            .values()
                            .filter(|e| {
                                !e.deleted
                                    && e.show_as != "free"
                                    && e.show_as != "unknown"
                                    && e.overlaps(start, end)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                items.sort_by_key(|e| (e.start_at, e.order));
                let schedule_items: Vec<Value> = items
                    .iter()
                    .map(|e| {
                        json!({
                            "isPrivate": false,
                            "status": e.show_as,
                            "subject": e.subject,
                            "location": e.location,
                            "isMeeting": !e.attendees.is_empty(),
                            "isRecurring": false,
                            "isException": false,
                            "isReminderSet": true,
                            "start": date_time_time_zone(e.start_at),
                            "end": date_time_time_zone(e.end_at),
                        })
                    })
                    .collect();
                json!({
                    "scheduleId": schedule,
                    "availabilityView": availability_view(&items, start, end, interval),
                    "scheduleItems": schedule_items,
                    "workingHours": working_hours(),
                })
            })
            .collect()
    });
    Ok(odata_json(
        StatusCode::OK,
        json!({
            "@odata.context": format!("{root}/$metadata#Collection(microsoft.graph.scheduleInformation)"),
            "value": value,
        }),
    ))
}
