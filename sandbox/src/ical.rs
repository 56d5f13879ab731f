//! iCalendar (ICS) feeds, as booking platforms that publish no webhooks serve them:
//! `GET /ical/feeds/{name}.ics` (`text/calendar`, RFC 5545: CRLF lines folded at 75 octets,
//! escaped text, `DTSTART` in UTC or with a `TZID`), with `ETag` and `Last-Modified`, and 304
//! for a matching `If-None-Match` or an `If-Modified-Since` not older than the last change.
//! Fault injection applies under `/ical/feeds/` like any path.
//!
//! Control under `/_sandbox/ical/feeds/{name}`: `PUT|DELETE events/{uid}` (add or replace;
//! a replace that moves the event raises its `SEQUENCE`), `POST events/{uid}/cancel`
//! (`STATUS:CANCELLED`), `PUT|DELETE raw` (serve exactly this body, e.g. garbage), `POST
//! empty` / `POST restore` (a valid calendar with no events, the events kept aside), `GET
//! requests` (`{fetches, notModified}`).

use std::collections::BTreeMap;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::state::Shared;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IcsEvent {
    pub uid: String,
    pub summary: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// An IANA zone: `DTSTART;TZID=<zone>:<local time>` instead of UTC.
    #[serde(default)]
    pub tzid: Option<String>,
    #[serde(default)]
    pub sequence: u32,
    #[serde(default)]
    pub cancelled: bool,
    #[serde(default)]
    pub attendee_email: Option<String>,
    #[serde(default)]
    pub attendee_name: Option<String>,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IcsFeed {
    pub events: BTreeMap<String, IcsEvent>,
    /// Served verbatim instead of the events.
    pub raw: Option<String>,
    /// Served as a calendar with no events.
    pub emptied: bool,
    pub last_modified: Option<DateTime<Utc>>,
    pub fetches: u64,
    pub not_modified: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IcalState {
    pub feeds: BTreeMap<String, IcsFeed>,
}

/// RFC 5545 TEXT escaping.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace("\r\n", "\\n")
        .replace('\n', "\\n")
}

/// Folds a content line at 75 octets (never inside a UTF-8 character), CRLF-terminated.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn timed(name: &str, t: DateTime<Utc>, tzid: Option<&str>) -> String {
    match tzid.and_then(|z| z.parse::<chrono_tz::Tz>().ok().map(|tz| (z, tz))) {
        Some((zone, tz)) => format!(
            "{name};TZID={zone}:{}",
            t.with_timezone(&tz).format("%Y%m%dT%H%M%S")
        ),
        None => format!("{name}:{}", utc(t)),
    }
}

impl IcsFeed {
    pub fn render(&self) -> String {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let stamp = utc(self.last_modified.unwrap_or_default());
        let mut out = String::new();
        for line in [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Booking Sandbox//ICS Feed//EN",
            "CALSCALE:GREGORIAN",
        ] {
            fold(line, &mut out);
        }
        let events: Vec<&IcsEvent> = if self.emptied {
            Vec::new()
        } else {
            self.events.values().collect()
        };
        let mut zones: Vec<&str> = events.iter().filter_map(|e| e.tzid.as_deref()).collect();
        zones.sort_unstable();
        zones.dedup();
        for zone in zones {
            for line in ["BEGIN:VTIMEZONE", &format!("TZID:{zone}"), "END:VTIMEZONE"] {
                fold(line, &mut out);
            }
        }
        for e in events {
            fold("BEGIN:VEVENT", &mut out);
            fold(&format!("UID:{}", escape(&e.uid)), &mut out);
            fold(&format!("DTSTAMP:{stamp}"), &mut out);
            fold(&timed("DTSTART", e.start, e.tzid.as_deref()), &mut out);
            fold(&timed("DTEND", e.end, e.tzid.as_deref()), &mut out);
            fold(&format!("SEQUENCE:{}", e.sequence), &mut out);
            fold(&format!("SUMMARY:{}", escape(&e.summary)), &mut out);
            if !e.description.is_empty() {
                fold(&format!("DESCRIPTION:{}", escape(&e.description)), &mut out);
            }
            let status = if e.cancelled {
                "CANCELLED"
            } else {
                "CONFIRMED"
            };
            fold(&format!("STATUS:{status}"), &mut out);
            if let Some(email) = &e.attendee_email {
                let cn = e
                    .attendee_name
                    .as_deref()
                    .map(|n| format!(";CN=\"{}\"", n.replace('"', "'")))
                    .unwrap_or_default();
                fold(&format!("ATTENDEE{cn}:mailto:{email}"), &mut out);
            }
            fold(&format!("LAST-MODIFIED:{stamp}"), &mut out);
            fold("END:VEVENT", &mut out);
        }
        fold("END:VCALENDAR", &mut out);
        out
    }

    fn etag(body: &str) -> String {
        let digest = Sha256::digest(body.as_bytes());
        format!("\"{}\"", hex::encode(&digest[..8]))
    }

    fn touch(&mut self) {
        // HTTP dates have whole seconds; a change must always move past the last one.
        let now = crate::time::now().trunc_subsecs(0);
        self.last_modified = Some(match self.last_modified {
            Some(last) if last >= now => last + chrono::Duration::seconds(1),
            _ => now,
        });
    }
}

pub fn router() -> Router<Shared> {
    Router::new().route("/feeds/{file}", get(serve))
}

async fn serve(
    State(app): State<Shared>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(name) = file.strip_suffix(".ics") else {
        return (StatusCode::NOT_FOUND, "feeds end in .ics").into_response();
    };
    let served = app.change(|p| {
        let feed = p.ical.feeds.get_mut(name)?;
        feed.fetches += 1;
        let body = feed.render();
        let etag = IcsFeed::etag(&body);
        let modified = feed.last_modified.unwrap_or_default();
        let matches = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
        let unchanged_since = headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
            .is_some_and(|since| modified <= since);
        let not_modified =
            matches || (!headers.contains_key(header::IF_NONE_MATCH) && unchanged_since);
        if not_modified {
            feed.not_modified += 1;
        }
        Some((body, etag, modified, not_modified))
    });
    let Some((body, etag, modified, not_modified)) = served else {
        return (StatusCode::NOT_FOUND, format!("no feed {name}")).into_response();
    };
    let last_modified = modified.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    if not_modified {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::LAST_MODIFIED, last_modified)],
        )
            .into_response();
    }
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_owned(),
            ),
            (header::ETAG, etag),
            (header::LAST_MODIFIED, last_modified),
        ],
        body,
    )
        .into_response()
}

pub fn control_router() -> Router<Shared> {
    Router::new()
        .route(
            "/feeds/{name}/events/{uid}",
            put(put_event).delete(delete_event),
        )
        .route("/feeds/{name}/events/{uid}/cancel", post(cancel_event))
        .route("/feeds/{name}/raw", put(put_raw).delete(delete_raw))
        .route("/feeds/{name}/empty", post(empty))
        .route("/feeds/{name}/restore", post(restore))
        .route("/feeds/{name}/requests", get(requests))
        .route("/feeds/{name}", get(show))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventBody {
    summary: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    #[serde(default)]
    tzid: Option<String>,
    #[serde(default)]
    sequence: Option<u32>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    attendee_email: Option<String>,
    #[serde(default)]
    attendee_name: Option<String>,
    #[serde(default)]
    description: String,
}

fn bad(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": message.into() })),
    )
        .into_response()
}

async fn put_event(
    State(app): State<Shared>,
    Path((name, uid)): Path<(String, String)>,
    Json(body): Json<EventBody>,
) -> Response {
    if body.end <= body.start {
        return bad("end must be after start");
    }
    if let Some(zone) = &body.tzid
        && zone.parse::<chrono_tz::Tz>().is_err()
    {
        return bad(format!("tzid {zone:?} is not an IANA zone"));
    }
    let cancelled = match body.status.as_deref() {
        None | Some("CONFIRMED") => false,
        Some("CANCELLED") => true,
        Some(other) => return bad(format!("status {other:?} is not CONFIRMED or CANCELLED")),
    };
    let event = app.change(|p| {
        let feed = p.ical.feeds.entry(name).or_default();
        let previous = feed.events.get(&uid);
        let moved = previous.is_some_and(|e| (e.start, e.end) != (body.start, body.end));
        let sequence = body.sequence.unwrap_or_else(|| match previous {
            Some(e) if moved => e.sequence + 1,
            Some(e) => e.sequence,
            None => 0,
        });
        let event = IcsEvent {
            uid: uid.clone(),
            summary: body.summary,
            start: body.start,
            end: body.end,
            tzid: body.tzid,
            sequence,
            cancelled,
            attendee_email: body.attendee_email,
            attendee_name: body.attendee_name,
            description: body.description,
        };
        feed.events.insert(uid, event.clone());
        feed.touch();
        event
    });
    Json(event).into_response()
}

fn with_feed(app: &Shared, name: &str, f: impl FnOnce(&mut IcsFeed) -> bool) -> Response {
    let found = app.change(|p| match p.ical.feeds.get_mut(name) {
        Some(feed) => {
            let changed = f(feed);
            if changed {
                feed.touch();
            }
            changed
        }
        None => false,
    });
    if found {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no such feed or event" })),
        )
            .into_response()
    }
}

async fn delete_event(
    State(app): State<Shared>,
    Path((name, uid)): Path<(String, String)>,
) -> Response {
    with_feed(&app, &name, |feed| feed.events.remove(&uid).is_some())
}

async fn cancel_event(
    State(app): State<Shared>,
    Path((name, uid)): Path<(String, String)>,
) -> Response {
    with_feed(&app, &name, |feed| match feed.events.get_mut(&uid) {
        Some(e) => {
            e.cancelled = true;
            e.sequence += 1;
            true
        }
        None => false,
    })
}

async fn put_raw(State(app): State<Shared>, Path(name): Path<String>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body).into_owned();
    app.change(|p| {
        let feed = p.ical.feeds.entry(name).or_default();
        feed.raw = Some(text);
        feed.touch();
    });
    StatusCode::NO_CONTENT.into_response()
}

async fn delete_raw(State(app): State<Shared>, Path(name): Path<String>) -> Response {
    with_feed(&app, &name, |feed| feed.raw.take().is_some())
}

async fn empty(State(app): State<Shared>, Path(name): Path<String>) -> Response {
    with_feed(&app, &name, |feed| {
        !std::mem::replace(&mut feed.emptied, true)
    })
}

async fn restore(State(app): State<Shared>, Path(name): Path<String>) -> Response {
    with_feed(&app, &name, |feed| {
        std::mem::replace(&mut feed.emptied, false)
    })
}

async fn requests(State(app): State<Shared>, Path(name): Path<String>) -> Response {
    match app.read(|p| p.ical.feeds.get(&name).map(|f| (f.fetches, f.not_modified))) {
        Some((fetches, not_modified)) => {
            Json(json!({ "fetches": fetches, "notModified": not_modified })).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no such feed" })),
        )
            .into_response(),
    }
}

async fn show(State(app): State<Shared>, Path(name): Path<String>) -> Response {
    match app.read(|p| p.ical.feeds.get(&name).cloned()) {
        Some(feed) => Json(feed).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no such feed" })),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn event(uid: &str) -> IcsEvent {
        let start = Utc.with_ymd_and_hms(2026, 7, 10, 13, 0, 0).unwrap();
        IcsEvent {
            uid: uid.into(),
            summary:
                "Sunset cruise, with a summary long enough that the line must be folded twice over"
                    .into(),
            start,
            end: start + chrono::Duration::hours(2),
            tzid: Some("Europe/London".into()),
            sequence: 2,
            cancelled: true,
            attendee_email: Some("jo@example.com".into()),
            attendee_name: Some("Jo Sailor".into()),
            description: String::new(),
        }
    }

    #[test]
    fn a_feed_renders_as_folded_crlf_lines_with_zones_and_status() {
        let mut feed = IcsFeed::default();
        feed.events.insert("a".into(), event("a"));
        let body = feed.render();
        assert!(body.starts_with("BEGIN:VCALENDAR\r\n") && body.ends_with("END:VCALENDAR\r\n"));
        assert!(body.lines().all(|l| l.len() <= 76), "{body}");
        assert!(body.contains("DTSTART;TZID=Europe/London:20260710T140000\r\n"));
        assert!(
            body.contains("STATUS:CANCELLED\r\nATTENDEE;CN=\"Jo Sailor\":mailto:jo@example.com")
        );
        assert!(body.contains("SUMMARY:Sunset cruise\\, with"));
        assert!(body.contains("\r\n "), "folded");
        feed.emptied = true;
        assert!(!feed.render().contains("VEVENT"));
        feed.raw = Some("garbage".into());
        assert_eq!(feed.render(), "garbage");
    }

    #[test]
    fn every_change_moves_last_modified_and_the_etag() {
        let mut feed = IcsFeed::default();
        feed.touch();
        let first = (feed.last_modified, IcsFeed::etag(&feed.render()));
        feed.events.insert("a".into(), event("a"));
        feed.touch();
        assert!(feed.last_modified > first.0);
        assert_ne!(IcsFeed::etag(&feed.render()), first.1);
    }
}
