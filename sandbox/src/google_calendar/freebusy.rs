//! `freebusy.query`: busy ranges per calendar, clipped to the window and merged.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::GoogleError;
use super::{GoogleAuth, resolve_calendar};
use crate::body::JsonBody;
use crate::state::Shared;
use crate::time;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreeBusyRequest {
    time_min: Option<String>,
    time_max: Option<String>,
    #[serde(default)]
    items: Vec<FreeBusyItem>,
}

#[derive(Debug, Deserialize)]
pub struct FreeBusyItem {
    id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FreeBusyResponse {
    kind: &'static str,
    time_min: String,
    time_max: String,
    calendars: BTreeMap<String, CalendarBusy>,
}

#[derive(Debug, Serialize)]
pub struct CalendarBusy {
    busy: Vec<BusyRange>,
}

#[derive(Debug, Serialize)]
pub struct BusyRange {
    start: String,
    end: String,
}

fn required_time(raw: Option<&str>, name: &str) -> Result<DateTime<Utc>, GoogleError> {
    let raw = raw.ok_or_else(|| GoogleError::required(format!("Missing {name} parameter.")))?;
    time::parse_rfc3339(raw)
        .ok_or_else(|| GoogleError::bad_request(format!("Invalid value for: {name}")))
}

/// Sorted, non-overlapping ranges (touching ranges are joined, as Google does).
fn merge(mut ranges: Vec<(DateTime<Utc>, DateTime<Utc>)>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    ranges.sort();
    let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

pub async fn query(
    State(state): State<Shared>,
    _: GoogleAuth,
    JsonBody(request, _): JsonBody<FreeBusyRequest, GoogleError>,
) -> Result<Json<FreeBusyResponse>, GoogleError> {
    let min = required_time(request.time_min.as_deref(), "timeMin")?;
    let max = required_time(request.time_max.as_deref(), "timeMax")?;
    if max <= min {
        return Err(GoogleError::time_range_empty());
    }
    let calendars = state.read(|p| {
        request
            .items
            .iter()
            .map(|item| {
                let events = p
                    .google_calendar
                    .calendars
                    .get(&resolve_calendar(&state, &item.id))
                    .map(|c| c.events.values().collect::<Vec<_>>())
                    .unwrap_or_default();
                let ranges = events
                    .into_iter()
                    .filter(|s| {
                        !s.event.is_cancelled()
                            && s.event.transparency.as_deref() != Some("transparent")
                    })
                    .filter(|s| s.start_at < max && s.end_at > min && s.end_at > s.start_at)
                    .map(|s| (s.start_at.max(min), s.end_at.min(max)))
                    .collect();
                let busy = merge(ranges)
                    .into_iter()
                    .map(|(start, end)| BusyRange {
                        start: time::seconds(start),
                        end: time::seconds(end),
                    })
                    .collect();
                (item.id.clone(), CalendarBusy { busy })
            })
            .collect()
    });
    Ok(Json(FreeBusyResponse {
        kind: "calendar#freeBusy",
        time_min: time::seconds(min),
        time_max: time::seconds(max),
        calendars,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32) -> DateTime<Utc> {
        chrono::TimeZone::with_ymd_and_hms(&Utc, 2030, 1, 1, h, 0, 0).unwrap()
    }

    #[test]
    fn overlapping_and_touching_ranges_merge() {
        let merged = merge(vec![
            (t(12), t(13)),
            (t(9), t(10)),
            (t(10), t(11)),
            (t(12), t(14)),
        ]);
        assert_eq!(merged, vec![(t(9), t(11)), (t(12), t(14))]);
    }
}
