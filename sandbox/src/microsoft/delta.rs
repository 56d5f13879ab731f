//! `calendarView/delta`: an initial round of every live event overlapping a window, then
//! rounds of changes since a delta token, each paged with `@odata.nextLink` and closed
//! with `@odata.deltaLink`.
//!
//! A delta token is a position in the mailbox's change counter plus the window. Pages are
//! cut by insertion order (a cursor, not an offset), so a delete while a client pages
//! through never makes it skip an event; the final `deltaLink` holds the counter value of
//! the round's first page, so changes made meanwhile come again in the next round.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::call::GraphCall;
use super::error::GraphError;
use super::events::odata_json;
use super::model::StoredGraphEvent;
use super::user_key;
use crate::body::QueryPairs;
use crate::percent::segment;
use crate::state::Shared;
use crate::time;

type Result<T> = std::result::Result<T, GraphError>;

const DEFAULT_PAGE_SIZE: usize = 100;
const MAX_PAGE_SIZE: usize = 1000;

/// Query options that change tracking over calendarView refuses.
const UNSUPPORTED: &[&str] = &["$expand", "$filter", "$orderby", "$search", "$top"];

/// Where a round stands: everything a `$skiptoken` or `$deltatoken` must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cursor {
    /// Changes after this counter position; `None` for the initial round.
    since: Option<u64>,
    /// Counter position when the round started: the next delta token's position.
    snapshot: u64,
    /// Insertion order of the last event delivered in this round.
    after_order: u64,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    user: String,
}

fn encode(raw: &str) -> String {
    data_encoding::BASE64URL_NOPAD.encode(raw.as_bytes())
}

fn decode(token: &str) -> Option<String> {
    String::from_utf8(
        data_encoding::BASE64URL_NOPAD
            .decode(token.as_bytes())
            .ok()?,
    )
    .ok()
}

fn skip_token(epoch: &str, c: &Cursor) -> String {
    encode(&format!(
        "s|{epoch}|{}|{}|{}|{}|{}|{}",
        c.since.map_or_else(|| "-".to_owned(), |s| s.to_string()),
        c.snapshot,
        c.after_order,
        c.start.timestamp_micros(),
        c.end.timestamp_micros(),
        c.user
    ))
}

fn delta_token(
    epoch: &str,
    seq: u64,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    user: &str,
) -> String {
    encode(&format!(
        "d|{epoch}|{seq}|{}|{}|{user}",
        start.timestamp_micros(),
        end.timestamp_micros()
    ))
}

fn micros(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(raw.parse().ok()?)
}

fn parse_skip_token(token: &str, epoch: &str) -> Option<Cursor> {
    let raw = decode(token)?;
    let parts: Vec<&str> = raw.splitn(8, '|').collect();
    let [kind, token_epoch, since, snapshot, after, start, end, user] = parts.as_slice() else {
        return None;
    };
    (*kind == "s" && token_epoch == &epoch).then_some(())?;
    Some(Cursor {
        since: match *since {
            "-" => None,
            s => Some(s.parse().ok()?),
        },
        snapshot: snapshot.parse().ok()?,
        after_order: after.parse().ok()?,
        start: micros(start)?,
        end: micros(end)?,
        user: (*user).to_owned(),
    })
}

fn parse_delta_token(token: &str, epoch: &str) -> Option<Cursor> {
    let raw = decode(token)?;
    let parts: Vec<&str> = raw.splitn(6, '|').collect();
    let [kind, token_epoch, seq, start, end, user] = parts.as_slice() else {
        return None;
    };
    (*kind == "d" && token_epoch == &epoch).then_some(())?;
    let seq: u64 = seq.parse().ok()?;
    Some(Cursor {
        since: Some(seq),
        snapshot: 0,
        after_order: 0,
        start: micros(start)?,
        end: micros(end)?,
        user: (*user).to_owned(),
    })
}

fn window_param(query: &QueryPairs, name: &str) -> Result<DateTime<Utc>> {
    let raw = query.get(name).ok_or_else(|| {
        GraphError::bad_request(
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
        )
    })?;
    time::parse_rfc3339(raw)
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(raw.trim(), "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
        .ok_or_else(|| {
            GraphError::bad_request(
                "ErrorInvalidParameter",
                format!("The value '{raw}' of parameter '{name}' is invalid."),
            )
        })
}

/// `Prefer: odata.maxpagesize=N`.
fn page_size(headers: &HeaderMap) -> usize {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|pref| {
            let (name, value) = pref.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("odata.maxpagesize")
                .then(|| value.trim().trim_matches('"').parse::<usize>().ok())
                .flatten()
        })
        .next()
        .filter(|n| *n >= 1)
        .map_or(DEFAULT_PAGE_SIZE, |n| n.min(MAX_PAGE_SIZE))
}

fn removed(id: &str) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.event",
        "id": id,
        "@removed": {"reason": "deleted"},
    })
}

pub async fn delta(
    State(state): State<Shared>,
    GraphCall { path: user, root }: GraphCall<String>,
    headers: HeaderMap,
    query: QueryPairs,
) -> Result<Response> {
    let refused: Vec<&str> = UNSUPPORTED
        .iter()
        .copied()
        .filter(|name| query.has(name))
        .collect();
    if !refused.is_empty() {
        return Err(GraphError::bad_request(
            "ErrorInvalidUrlQuery",
            format!(
                "The following parameters are not supported with change tracking over the 'CalendarView' resource: '{}'.",
                refused.join(", ")
            ),
        ));
    }
    let key = user_key(&user);
    let size = page_size(&headers);
    let link_base = format!("{root}/users/{}/calendarView/delta", segment(&user));

    let body = state.read(|p| {
        let ms = &p.microsoft;
        let mailbox = ms.mailboxes.get(&key);
        let current_seq = mailbox.map_or(0, |m| m.change_seq);
        let valid = |c: &Cursor| c.user == key && c.since.is_none_or(|s| s <= current_seq);
        let cursor = if let Some(token) = query.get("$skiptoken") {
            parse_skip_token(token, &ms.delta_epoch)
                .filter(|c| valid(c) && c.snapshot <= current_seq)
                .ok_or_else(GraphError::sync_state_not_found)?
        } else if let Some(token) = query.get("$deltatoken") {
            let mut c = parse_delta_token(token, &ms.delta_epoch)
                .filter(valid)
                .ok_or_else(GraphError::sync_state_not_found)?;
            c.snapshot = current_seq;
            c
        } else {
            let start = window_param(&query, "startDateTime")?;
            let end = window_param(&query, "endDateTime")?;
            if end <= start {
                return Err(GraphError::invalid_parameter(
                    "The parameter 'EndDateTime' must be later than 'StartDateTime'.",
                ));
            }
            Cursor {
                since: None,
                snapshot: current_seq,
                after_order: 0,
                start,
                end,
                user: key.clone(),
            }
        };

        let mut candidates: Vec<&StoredGraphEvent> = mailbox
            .map(|m| {
                m.events
                    .values()
                    .filter(|e| e.order > cursor.after_order)
                    .filter(|e| match cursor.since {
                        None => !e.deleted && e.overlaps(cursor.start, cursor.end),
                        Some(since) => e.change_seq > since,
                    })
                    .collect()
            })
            .unwrap_or_default();
        candidates.sort_by_key(|e| e.order);
        let more = candidates.len() > size;
        candidates.truncate(size);
        let items: Vec<Value> = candidates
            .iter()
            .map(|e| {
                if e.deleted || !e.overlaps(cursor.start, cursor.end) {
                    removed(&e.id)
                } else {
                    e.to_json(&user, None)
                }
            })
            .collect();
        let mut body = json!({
            "@odata.context": format!("{root}/$metadata#Collection(event)"),
            "value": items,
        });
        if more {
            let next = Cursor {
                after_order: candidates.last().map_or(cursor.after_order, |e| e.order),
                ..cursor
            };
            body["@odata.nextLink"] = json!(format!(
                "{link_base}?$skiptoken={}",
                skip_token(&ms.delta_epoch, &next)
            ));
        } else {
            body["@odata.deltaLink"] = json!(format!(
                "{link_base}?$deltatoken={}",
                delta_token(
                    &ms.delta_epoch,
                    cursor.snapshot,
                    cursor.start,
                    cursor.end,
                    &key
                )
            ));
        }
        Ok(body)
    })?;
    Ok(odata_json(StatusCode::OK, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        time::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn tokens_round_trip_and_are_bound_to_the_epoch() {
        let c = Cursor {
            since: Some(3),
            snapshot: 9,
            after_order: 4,
            start: at("2026-12-01T00:00:00Z"),
            end: at("2026-12-31T00:00:00Z"),
            user: "a|b@x.test".into(),
        };
        let t = skip_token("e1", &c);
        assert_eq!(parse_skip_token(&t, "e1"), Some(c.clone()));
        assert_eq!(parse_skip_token(&t, "e2"), None);
        assert_eq!(parse_delta_token(&t, "e1"), None);
        let d = delta_token("e1", 7, c.start, c.end, "u@x.test");
        let parsed = parse_delta_token(&d, "e1").unwrap();
        assert_eq!((parsed.since, parsed.user.as_str()), (Some(7), "u@x.test"));
        assert_eq!(parse_delta_token("garbage!", "e1"), None);
    }

    #[test]
    fn page_size_comes_from_prefer() {
        let mut h = HeaderMap::new();
        assert_eq!(page_size(&h), DEFAULT_PAGE_SIZE);
        h.insert(
            "prefer",
            "outlook.timezone=\"UTC\", odata.maxpagesize=2"
                .parse()
                .unwrap(),
        );
        assert_eq!(page_size(&h), 2);
    }
}
