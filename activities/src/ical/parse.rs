//! A feed's body as events. What the poll cannot book is skipped with a reason, never
//! guessed: all-day events (no time to tour), recurring events (a platform's bookings are
//! single), events without a UID or start, and times in a zone the tz database does not know.
//! A body that is not an iCalendar at all is a [`FeedError`], which holds the feed for an
//! operator rather than reading as "no events".

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use icalendar::parser::{Component, Property, read_calendar, unfold};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedEvent {
    pub uid: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub sequence: u32,
    /// `STATUS:CANCELLED`.
    pub cancelled: bool,
    pub summary: String,
    pub description: String,
    /// The first `ATTENDEE`'s `mailto:` address, else the `ORGANIZER`'s.
    pub attendee_email: Option<String>,
    /// Its `CN`.
    pub attendee_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedEvent {
    pub uid: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedFeed {
    /// By UID; a UID listed twice keeps its highest `SEQUENCE`.
    pub events: Vec<FeedEvent>,
    pub skipped: Vec<SkippedEvent>,
}

/// The body is not an iCalendar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    #[error("{0}")]
    Malformed(String),
}

fn prop<'a>(c: &'a Component<'_>, name: &str) -> Option<&'a Property<'a>> {
    c.properties
        .iter()
        .find(|p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn param<'a>(p: &'a Property<'_>, key: &str) -> Option<&'a str> {
    p.params
        .iter()
        .find(|x| x.key.as_str().eq_ignore_ascii_case(key))
        .and_then(|x| x.val.as_ref())
        .map(|v| v.as_str().trim_matches('"'))
}

/// RFC 5545 TEXT unescaping: `\n`, `\,`, `\;`, `\\`.
fn text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out.trim().to_owned()
}

/// A DATE-TIME property as an instant: UTC (`...Z`), with a `TZID` from the tz database, or
/// floating (no zone; read as UTC, which is what platforms that omit zones publish).
fn instant(p: &Property<'_>) -> Result<DateTime<Utc>, String> {
    let raw = p.val.as_str().trim();
    if param(p, "VALUE").is_some_and(|v| v.eq_ignore_ascii_case("DATE"))
        || (raw.len() == 8 && NaiveDate::parse_from_str(raw, "%Y%m%d").is_ok())
    {
        return Err("an all-day event has no tour time".into());
    }
    if let Some(utc) = raw.strip_suffix('Z') {
        let naive = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S")
            .map_err(|_| format!("{} {raw:?} is not a date-time", p.name.as_str()))?;
        return Ok(Utc.from_utc_datetime(&naive));
    }
    let naive = NaiveDateTime::parse_from_str(raw, "%Y%m%dT%H%M%S")
        .map_err(|_| format!("{} {raw:?} is not a date-time", p.name.as_str()))?;
    match param(p, "TZID") {
        None => Ok(Utc.from_utc_datetime(&naive)),
        Some(zone) => {
            let tz: chrono_tz::Tz = zone
                .parse()
                .map_err(|_| format!("TZID {zone:?} is not a zone of the tz database"))?;
            // A time skipped by a DST change does not exist: refused. One repeated by it: its
            // first occurrence, as calendars show it.
            tz.from_local_datetime(&naive)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| format!("{raw} does not exist in {zone} (a daylight-saving gap)"))
        }
    }
}

/// `PT1H30M`, `P1D`, `PT45M`: the ISO 8601 durations feeds use for `DURATION`.
fn duration(raw: &str) -> Option<Duration> {
    let rest = raw.trim().strip_prefix('P')?;
    let (days, time) = rest.split_once('T').unwrap_or((rest, ""));
    let mut total = Duration::zero();
    let mut number = String::new();
    for (part, in_time) in [(days, false), (time, true)] {
        for c in part.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let n: i64 = number.parse().ok()?;
            number.clear();
            total += match (c, in_time) {
                ('W', false) => Duration::weeks(n),
                ('D', false) => Duration::days(n),
                ('H', true) => Duration::hours(n),
                ('M', true) => Duration::minutes(n),
                ('S', true) => Duration::seconds(n),
                _ => return None,
            };
        }
    }
    (number.is_empty() && total > Duration::zero()).then_some(total)
}

fn mailto(p: &Property<'_>) -> Option<(String, Option<String>)> {
    let raw = p.val.as_str().trim();
    let address = raw
        .strip_prefix("mailto:")
        .or_else(|| raw.strip_prefix("MAILTO:"))?
        .trim();
    (!address.is_empty()).then(|| {
        (
            address.to_owned(),
            param(p, "CN").map(str::to_owned).filter(|n| !n.is_empty()),
        )
    })
}

fn event(c: &Component<'_>) -> Result<FeedEvent, SkippedEvent> {
    let uid = prop(c, "UID")
        .map(|p| text(p.val.as_str()))
        .filter(|u| !u.is_empty());
    let skip = |reason: String| SkippedEvent {
        uid: uid.clone(),
        reason,
    };
    let Some(uid_value) = uid.clone() else {
        return Err(skip("the event has no UID".into()));
    };
    if prop(c, "RRULE").is_some() {
        return Err(skip("a recurring event (RRULE) is not a booking".into()));
    }
    let start =
        instant(prop(c, "DTSTART").ok_or_else(|| skip("no DTSTART".into()))?).map_err(skip)?;
    let end = match (prop(c, "DTEND"), prop(c, "DURATION")) {
        (Some(end), _) => instant(end).map_err(skip)?,
        (None, Some(d)) => {
            start
                + duration(d.val.as_str())
                    .ok_or_else(|| skip(format!("DURATION {:?} is unreadable", d.val.as_str())))?
        }
        (None, None) => start + Duration::hours(1),
    };
    if end <= start {
        return Err(skip("the event ends before it starts".into()));
    }
    let sequence = match prop(c, "SEQUENCE") {
        None => 0,
        Some(p) => p
            .val
            .as_str()
            .trim()
            .parse()
            .map_err(|_| skip(format!("SEQUENCE {:?} is not a number", p.val.as_str())))?,
    };
    let attendee = c
        .properties
        .iter()
        .filter(|p| p.name.as_str().eq_ignore_ascii_case("ATTENDEE"))
        .find_map(mailto)
        .or_else(|| prop(c, "ORGANIZER").and_then(mailto));
    Ok(FeedEvent {
        uid: uid_value,
        start,
        end,
        sequence,
        cancelled: prop(c, "STATUS")
            .is_some_and(|p| p.val.as_str().trim().eq_ignore_ascii_case("CANCELLED")),
        summary: prop(c, "SUMMARY")
            .map(|p| text(p.val.as_str()))
            .unwrap_or_default(),
        description: prop(c, "DESCRIPTION")
            .map(|p| text(p.val.as_str()))
            .unwrap_or_default(),
        attendee_email: attendee.as_ref().map(|(a, _)| a.clone()),
        attendee_name: attendee.and_then(|(_, n)| n),
    })
}

/// Parses a feed's body (see the module doc).
pub fn parse_feed(body: &str) -> Result<ParsedFeed, FeedError> {
    let body = body.trim_start_matches('\u{feff}');
    let unfolded = unfold(body);
    let first = unfolded.trim_start().lines().next().unwrap_or_default();
    if !first.trim().eq_ignore_ascii_case("BEGIN:VCALENDAR") {
        return Err(FeedError::Malformed(format!(
            "the body does not start with BEGIN:VCALENDAR (it starts {:?})",
            first.chars().take(60).collect::<String>()
        )));
    }
    if !unfolded.contains("END:VCALENDAR") {
        return Err(FeedError::Malformed(
            "the body has no END:VCALENDAR (truncated?)".into(),
        ));
    }
    let calendar = read_calendar(&unfolded).map_err(|e| {
        FeedError::Malformed(format!(
            "not a valid iCalendar: {}",
            e.lines().take(4).collect::<Vec<_>>().join(" ")
        ))
    })?;
    let mut by_uid: BTreeMap<String, FeedEvent> = BTreeMap::new();
    let mut skipped = Vec::new();
    for c in calendar
        .components
        .iter()
        .filter(|c| c.name.as_str().eq_ignore_ascii_case("VEVENT"))
    {
        match event(c) {
            Ok(e) => match by_uid.get(&e.uid) {
                Some(kept) if kept.sequence >= e.sequence => {}
                _ => {
                    by_uid.insert(e.uid.clone(), e);
                }
            },
            Err(s) => skipped.push(s),
        }
    }
    Ok(ParsedFeed {
        events: by_uid.into_values().collect(),
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(events: &str) -> String {
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//GetMyBoat//EN\r\n{events}END:VCALENDAR\r\n"
        )
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn events_read_in_utc_and_in_their_zones_across_daylight_saving() {
        let body = feed(concat!(
            "BEGIN:VEVENT\r\nUID:a@x\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:20261210T140000Z\r\nDTEND:20261210T160000Z\r\n",
            "SUMMARY:Sunset cruise\\, 4 guests\r\nATTENDEE;CN=Jo Sailor;ROLE=REQ-PARTICIPANT:mailto:jo@example.com\r\nEND:VEVENT\r\n",
            "BEGIN:VEVENT\r\nUID:b@x\r\nDTSTART;TZID=Europe/London:20260710T140000\r\nDURATION:PT90M\r\nSEQUENCE:3\r\n",
            "STATUS:CANCELLED\r\nORGANIZER:mailto:owner@example.com\r\nEND:VEVENT\r\n",
            "BEGIN:VEVENT\r\nUID:c@x\r\nDTSTART;TZID=America/New_York:20261210T090000\r\nDTEND;TZID=America/New_York:20261210T100000\r\nEND:VEVENT\r\n",
        ));
        let parsed = parse_feed(&body).unwrap();
        assert_eq!(parsed.skipped, []);
        let [a, b, c] = &parsed.events[..] else {
            panic!("{parsed:?}")
        };
        assert_eq!(
            (a.start, a.end),
            (utc(2026, 12, 10, 14, 0), utc(2026, 12, 10, 16, 0))
        );
        assert_eq!(a.summary, "Sunset cruise, 4 guests");
        assert_eq!(a.attendee_email.as_deref(), Some("jo@example.com"));
        assert_eq!(a.attendee_name.as_deref(), Some("Jo Sailor"));
        // British summer time: UTC+1.
        assert_eq!(
            (b.start, b.end),
            (utc(2026, 7, 10, 13, 0), utc(2026, 7, 10, 14, 30))
        );
        assert!(b.cancelled);
        assert_eq!(b.sequence, 3);
        assert_eq!(b.attendee_email.as_deref(), Some("owner@example.com"));
        // Eastern standard time: UTC-5.
        assert_eq!(c.start, utc(2026, 12, 10, 14, 0));
    }

    #[test]
    fn folded_lines_are_unfolded() {
        let body = feed(
            "BEGIN:VEVENT\r\nUID:long@x\r\nDTSTART:20261210T140000Z\r\nSUMMARY:A very long summary that a\r\n  platform folded\r\nEND:VEVENT\r\n",
        );
        let parsed = parse_feed(&body).unwrap();
        assert_eq!(
            parsed.events[0].summary,
            "A very long summary that a platform folded"
        );
        assert_eq!(
            parsed.events[0].end,
            utc(2026, 12, 10, 15, 0),
            "an hour by default"
        );
    }

    #[test]
    fn what_cannot_be_booked_is_skipped_with_its_reason() {
        let body = feed(concat!(
            "BEGIN:VEVENT\r\nUID:allday@x\r\nDTSTART;VALUE=DATE:20261210\r\nEND:VEVENT\r\n",
            "BEGIN:VEVENT\r\nUID:weekly@x\r\nDTSTART:20261210T140000Z\r\nRRULE:FREQ=WEEKLY\r\nEND:VEVENT\r\n",
            "BEGIN:VEVENT\r\nDTSTART:20261210T140000Z\r\nEND:VEVENT\r\n",
            "BEGIN:VEVENT\r\nUID:mars@x\r\nDTSTART;TZID=Mars/Olympus:20261210T140000\r\nEND:VEVENT\r\n",
        ));
        let parsed = parse_feed(&body).unwrap();
        assert!(parsed.events.is_empty());
        let reasons: Vec<_> = parsed.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(reasons[0].contains("all-day"));
        assert!(reasons[1].contains("RRULE"));
        assert!(reasons[2].contains("UID"));
        assert!(reasons[3].contains("Mars/Olympus"));
    }

    #[test]
    fn a_uid_listed_twice_keeps_its_highest_sequence() {
        let body = feed(concat!(
            "BEGIN:VEVENT\r\nUID:a@x\r\nSEQUENCE:2\r\nDTSTART:20261211T140000Z\r\nEND:VEVENT\r\n",
            "BEGIN:VEVENT\r\nUID:a@x\r\nSEQUENCE:1\r\nDTSTART:20261210T140000Z\r\nEND:VEVENT\r\n",
        ));
        let parsed = parse_feed(&body).unwrap();
        assert_eq!(parsed.events.len(), 1);
        assert_eq!(parsed.events[0].start, utc(2026, 12, 11, 14, 0));
    }

    #[test]
    fn garbage_is_malformed_and_an_empty_calendar_is_empty() {
        for garbage in [
            "<html><body>502 Bad Gateway</body></html>",
            "",
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:cut",
        ] {
            assert!(
                matches!(parse_feed(garbage), Err(FeedError::Malformed(_))),
                "{garbage:?}"
            );
        }
        assert_eq!(parse_feed(&feed("")).unwrap(), ParsedFeed::default());
    }
}
