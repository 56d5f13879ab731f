//! `events.list`: filters, paging and incremental sync.
//!
//! Paging and sync tokens are positions in the calendar-wide change counter. A page token
//! remembers the counter value of the first page, and the last page's `nextSyncToken` is
//! that value: changes made while a client pages through are delivered by its next sync
//! instead of being lost.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::error::GoogleError;
use super::model::{Event, StoredEvent};
use super::{GoogleAuth, resolve_calendar};
use crate::body::{PathParams, QueryPairs};
use crate::state::Shared;
use crate::time;

type Result<T> = std::result::Result<T, GoogleError>;

const DEFAULT_MAX_RESULTS: usize = 250;
const MAX_RESULTS_CAP: usize = 2500;

/// Parameters that Google refuses together with `syncToken`.
const NOT_WITH_SYNC_TOKEN: &[&str] = &[
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
];

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventList {
    kind: &'static str,
    etag: String,
    summary: String,
    updated: String,
    time_zone: &'static str,
    access_role: &'static str,
    default_reminders: Vec<()>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_sync_token: Option<String>,
    items: Vec<Event>,
}

fn encode(raw: &str) -> String {
    data_encoding::BASE64URL_NOPAD.encode(raw.as_bytes())
}

fn decode(token: &str) -> Option<String> {
    let raw = data_encoding::BASE64URL_NOPAD
        .decode(token.as_bytes())
        .ok()?;
    String::from_utf8(raw).ok()
}

fn sync_token(epoch: &str, seq: u64, calendar_id: &str) -> String {
    encode(&format!("s:{epoch}:{seq}:{calendar_id}"))
}

/// The change-counter position of a sync token, if it is still valid for this calendar.
fn parse_sync_token(token: &str, epoch: &str, calendar_id: &str, current_seq: u64) -> Option<u64> {
    let raw = decode(token)?;
    let mut parts = raw.splitn(4, ':');
    let (kind, token_epoch, seq, cal) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let seq: u64 = seq.parse().ok()?;
    (kind == "s" && token_epoch == epoch && cal == calendar_id && seq <= current_seq).then_some(seq)
}

fn page_token(offset: usize, snapshot_seq: u64) -> String {
    encode(&format!("p:{offset}:{snapshot_seq}"))
}

fn parse_page_token(token: &str) -> Option<(usize, u64)> {
    let raw = decode(token)?;
    let mut parts = raw.splitn(3, ':');
    (parts.next()? == "p").then_some(())?;
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

fn time_param(query: &QueryPairs, name: &str) -> Result<Option<DateTime<Utc>>> {
    query
        .get(name)
        .map(|raw| {
            time::parse_rfc3339(raw)
                .ok_or_else(|| GoogleError::bad_request(format!("Invalid value for: {name}")))
        })
        .transpose()
}

/// `key=value` filters on extended properties; all must match.
fn property_filters(query: &QueryPairs, name: &str) -> Result<Vec<(String, String)>> {
    query
        .all(name)
        .map(|raw| {
            raw.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| GoogleError::invalid(format!("Invalid value for: {name}")))
        })
        .collect()
}

struct Filters {
    show_deleted: bool,
    time_min: Option<DateTime<Utc>>,
    time_max: Option<DateTime<Utc>>,
    updated_min: Option<DateTime<Utc>>,
    private: Vec<(String, String)>,
    shared: Vec<(String, String)>,
    ical_uid: Option<String>,
    text: Option<String>,
    /// Incremental sync: only changes after this counter position, deleted ones included.
    changed_after: Option<u64>,
}

impl Filters {
    fn keep(&self, stored: &StoredEvent) -> bool {
        let event = &stored.event;
        if let Some(seq) = self.changed_after {
            return stored.change_seq > seq;
        }
        // "When updatedMin is specified, entries deleted since this time will always be
        // included regardless of showDeleted."
        let updated_ok = self.updated_min.is_none_or(|min| stored.updated_at >= min);
        if !updated_ok {
            return false;
        }
        if event.is_cancelled() && !self.show_deleted && self.updated_min.is_none() {
            return false;
        }
        if self.time_min.is_some_and(|min| stored.end_at <= min) {
            return false;
        }
        if self.time_max.is_some_and(|max| stored.start_at >= max) {
            return false;
        }
        let props = event.extended_properties.as_ref();
        let has = |map: Option<&std::collections::BTreeMap<String, String>>, k: &str, v: &str| {
            map.and_then(|m| m.get(k)).is_some_and(|x| x == v)
        };
        if !self
            .private
            .iter()
            .all(|(k, v)| has(props.map(|p| &p.private), k, v))
        {
            return false;
        }
        if !self
            .shared
            .iter()
            .all(|(k, v)| has(props.map(|p| &p.shared), k, v))
        {
            return false;
        }
        if self
            .ical_uid
            .as_ref()
            .is_some_and(|uid| &event.ical_uid != uid)
        {
            return false;
        }
        if let Some(text) = &self.text {
            let needle = text.to_lowercase();
            let hay = [&event.summary, &event.description, &event.location]
                .into_iter()
                .flatten()
                .cloned()
                .chain(event.attendees.iter().map(|a| a.email.clone()))
                .collect::<Vec<_>>()
                .join("\n")
                .to_lowercase();
            if !hay.contains(&needle) {
                return false;
            }
        }
        true
    }
}

#[derive(Clone, Copy)]
enum Order {
    Inserted,
    StartTime,
    Updated,
}

pub async fn list(
    State(state): State<Shared>,
    _: GoogleAuth,
    PathParams(calendar_id, _): PathParams<String, GoogleError>,
    query: QueryPairs,
) -> Result<Json<EventList>> {
    let calendar_id = resolve_calendar(&state, &calendar_id);
    let max_results = match query.get("maxResults") {
        None => DEFAULT_MAX_RESULTS,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(MAX_RESULTS_CAP),
            _ => return Err(GoogleError::invalid("Invalid value for: maxResults")),
        },
    };
    let single_events = query.flag("singleEvents").unwrap_or(false);
    let order = match query.get("orderBy") {
        None => Order::Inserted,
        Some("startTime") if single_events => Order::StartTime,
        Some("updated") => Order::Updated,
        Some(_) => {
            return Err(GoogleError::bad_request(
                "The requested ordering is not available for the particular query.",
            ));
        }
    };
    let sync = query.get("syncToken");
    if sync.is_some()
        && let Some(bad) = NOT_WITH_SYNC_TOKEN.iter().find(|p| query.has(p))
    {
        return Err(GoogleError::invalid(format!(
            "Sync token cannot be used with {bad}."
        )));
    }
    let page = query
        .get("pageToken")
        .map(|t| {
            parse_page_token(t).ok_or_else(|| GoogleError::invalid("Invalid page token value."))
        })
        .transpose()?;

    let mut filters = Filters {
        show_deleted: query.flag("showDeleted").unwrap_or(false),
        time_min: time_param(&query, "timeMin")?,
        time_max: time_param(&query, "timeMax")?,
        updated_min: time_param(&query, "updatedMin")?,
        private: property_filters(&query, "privateExtendedProperty")?,
        shared: property_filters(&query, "sharedExtendedProperty")?,
        ical_uid: query.get("iCalUID").map(str::to_owned),
        text: query.get("q").map(str::to_owned),
        changed_after: None,
    };
    if let (Some(min), Some(max)) = (filters.time_min, filters.time_max)
        && max <= min
    {
        return Err(GoogleError::time_range_empty());
    }

    state.read(|p| {
        let store = &p.google_calendar;
        if let Some(token) = sync {
            let seq = parse_sync_token(token, &store.epoch, &calendar_id, store.change_seq)
                .ok_or_else(GoogleError::full_sync_required)?;
            filters.changed_after = Some(seq);
        }
        let (offset, snapshot_seq) = page.unwrap_or((0, store.change_seq));
        let mut matching: Vec<&StoredEvent> = store
            .calendars
            .get(&calendar_id)
            .map(|c| c.events.values().filter(|s| filters.keep(s)).collect())
            .unwrap_or_default();
        match order {
            Order::Inserted => matching.sort_by_key(|s| s.order),
            Order::StartTime => matching.sort_by_key(|s| (s.start_at, s.order)),
            Order::Updated => matching.sort_by_key(|s| (s.updated_at, s.order)),
        }
        let total = matching.len();
        let items: Vec<Event> = matching
            .into_iter()
            .skip(offset)
            .take(max_results)
            .map(|s| s.event.clone())
            .collect();
        let next_offset = offset + items.len();
        let more = next_offset < total;
        Ok(Json(EventList {
            kind: "calendar#events",
            etag: format!("\"{snapshot_seq}\""),
            summary: calendar_id.clone(),
            updated: time::millis(time::now()),
            time_zone: "UTC",
            access_role: "owner",
            default_reminders: Vec::new(),
            next_page_token: more.then(|| page_token(next_offset, snapshot_seq)),
            next_sync_token: (!more).then(|| sync_token(&store.epoch, snapshot_seq, &calendar_id)),
            items,
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_tokens_are_bound_to_epoch_calendar_and_known_positions() {
        let t = sync_token("e1", 5, "cal@x.com");
        assert_eq!(parse_sync_token(&t, "e1", "cal@x.com", 9), Some(5));
        assert_eq!(parse_sync_token(&t, "e2", "cal@x.com", 9), None);
        assert_eq!(parse_sync_token(&t, "e1", "other", 9), None);
        assert_eq!(parse_sync_token(&t, "e1", "cal@x.com", 4), None);
        assert_eq!(parse_sync_token("garbage", "e1", "cal@x.com", 9), None);
    }

    #[test]
    fn page_tokens_round_trip() {
        assert_eq!(parse_page_token(&page_token(50, 7)), Some((50, 7)));
        assert_eq!(parse_page_token(&sync_token("e", 1, "c")), None);
    }
}
