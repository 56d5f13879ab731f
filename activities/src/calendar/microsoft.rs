//! The Microsoft Graph v1.0 adapter: one event per booking in the default calendar of a
//! Microsoft 365 mailbox (`/users/{user}/calendar/events`), with app-only access.
//!
//! Graph chooses event ids itself, so a booking's event is found by what we write into it: a
//! single-value extended property [`BOOKING_ID_PROPERTY`] holding the booking id, read back
//! with `$filter=singleValueExtendedProperties/Any(...)`. Creation sends Graph's
//! `transactionId` ([`transaction_id_for`] the booking id), so two attempts racing past the
//! lookup still make one event: Graph answers the second POST with the first event. Delete
//! treats 404 `ErrorItemNotFound` as done.
//!
//! Every request asks for times in UTC (`Prefer: outlook.timezone="UTC"`), so the
//! `dateTime` strings Graph returns (no offset) read as UTC. A 401 renews the token once, as
//! the Google adapter does; 429 and 503/504 carry `Retry-After`, which becomes the next
//! retry's delay (see [`crate::error`]).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use crate::{
    config::MicrosoftGraphConfig,
    error::{Provider, ProviderError, retry_delay},
    http::{Answer, Http},
    inputs::{
        BusyRange, CalendarEventOutput, CalendarOutcome, CheckFreeBusyInput,
        DeleteCalendarEventInput, EnsureCalendarEventInput, FreeBusyOutput, MoveCalendarEventInput,
    },
    token::{MICROSOFT_ACCOUNT, TokenProvider},
};

const PROVIDER: Provider = Provider::MicrosoftGraph;

/// The extended property carrying the booking id: a `String` property named `booking_id` in
/// this engine's own property set (a GUID chosen once; it must never change, or existing
/// events stop being found).
pub const BOOKING_ID_PROPERTY: &str =
    "String {8f2b6c1e-4d7a-4f0e-9b3c-5a1d2e7f6c40} Name booking_id";

/// Graph's `transactionId` for a booking's event: a UUID-shaped digest of
/// `sha256("booking:<id>")`, deterministic across attempts and workers.
pub fn transaction_id_for(booking_id: &str) -> String {
    let d = Sha256::digest(format!("booking:{booking_id}").as_bytes());
    let hex: String = d[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// An event as far as we read it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphEvent {
    pub id: String,
    pub subject: Option<String>,
    pub start: Option<GraphTime>,
    pub end: Option<GraphTime>,
    #[serde(default)]
    pub is_cancelled: bool,
    pub transaction_id: Option<String>,
    #[serde(default)]
    pub single_value_extended_properties: Vec<ExtendedProperty>,
    /// Present on delta items for deleted events (and events that left the window).
    #[serde(default, rename = "@removed")]
    pub removed: Option<Value>,
}

impl GraphEvent {
    /// Our booking id, when the request expanded [`BOOKING_ID_PROPERTY`].
    pub fn booking_id(&self) -> Option<&str> {
        self.single_value_extended_properties
            .iter()
            .find(|p| p.id.eq_ignore_ascii_case(BOOKING_ID_PROPERTY))
            .map(|p| p.value.as_str())
    }

    pub fn start_instant(&self) -> Option<DateTime<Utc>> {
        self.start.as_ref()?.instant()
    }

    pub fn end_instant(&self) -> Option<DateTime<Utc>> {
        self.end.as_ref()?.instant()
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExtendedProperty {
    pub id: String,
    #[serde(default)]
    pub value: String,
}

/// Graph's `dateTimeTimeZone`: a wall-clock time without offset plus a zone name.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphTime {
    pub date_time: String,
    #[serde(default)]
    pub time_zone: String,
}

impl GraphTime {
    /// The instant, for times in UTC (what `Prefer: outlook.timezone="UTC"` asks for).
    pub fn instant(&self) -> Option<DateTime<Utc>> {
        if !self.time_zone.eq_ignore_ascii_case("UTC") {
            return None;
        }
        NaiveDateTime::parse_from_str(self.date_time.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(|t| t.and_utc())
    }
}

fn time_json(t: DateTime<Utc>) -> Value {
    json!({ "dateTime": t.format("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": "UTC" })
}

/// Graph's error body `{"error":{"code","message","innerError":{"request-id"}}}`, as the
/// failure's message: `code: message (request-id …)`; any other body is kept whole.
fn provider_message(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return body.to_owned();
    };
    let (Some(code), Some(message)) = (v["error"]["code"].as_str(), v["error"]["message"].as_str())
    else {
        return body.to_owned();
    };
    match v["error"]["innerError"]["request-id"].as_str() {
        Some(id) => format!("{code}: {message} (request-id {id})"),
        None => format!("{code}: {message}"),
    }
}

fn error_code(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    v["error"]["code"].as_str().map(str::to_owned)
}

/// Graph's classification: the generic one (429 and 5xx retryable with `Retry-After`, 401/403
/// fatal, 404 not found, other 4xx rejected), with Graph's `code: message` as the body.
fn classify(answer: Answer) -> ProviderError {
    let delay = retry_delay(&answer.headers);
    ProviderError::from_status(
        answer.provider,
        answer.status,
        delay,
        provider_message(&answer.body),
    )
}

/// One item of a `calendarView/delta` round.
// Items live only for one round and are consumed by value; boxing the event buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum DeltaItem {
    /// Created or updated (booking id not included: delta cannot expand properties).
    Changed(GraphEvent),
    /// Deleted, or moved out of the round's window.
    Removed { event_id: String },
}

/// Where a mailbox's delta rounds stand: kept by reconciliation between runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct DeltaPosition {
    /// The `@odata.deltaLink` of the last complete round.
    pub delta_link: String,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
}

/// A complete delta round.
#[derive(Debug, Clone, PartialEq)]
pub struct DeltaRound {
    pub items: Vec<DeltaItem>,
    pub position: DeltaPosition,
    /// The round started over (no position, or Graph no longer knew it: 410
    /// `SyncStateNotFound`), so `items` is everything in the window rather than changes.
    pub full: bool,
}

/// Pages followed in one round before giving up (a runaway `nextLink` chain).
const MAX_DELTA_PAGES: usize = 2_000;

/// Graph v1.0 client acting as the app registration of [`MICROSOFT_ACCOUNT`].
#[derive(Debug, Clone)]
pub struct GraphCalendar {
    http: Http,
    config: MicrosoftGraphConfig,
    tokens: TokenProvider,
}

impl GraphCalendar {
    pub fn new(http: Http, config: MicrosoftGraphConfig, tokens: TokenProvider) -> Self {
        Self {
            http,
            config,
            tokens,
        }
    }

    /// `{base}/users/{user}/…`.
    fn url(&self, user: &str, segments: &[&str]) -> Url {
        let path = ["users", user].into_iter();
        crate::http::endpoint(&self.config.base_url, path.chain(segments.iter().copied()))
    }

    /// Sends an authorised request asking for UTC times (see
    /// [`TokenProvider::send_authorised`]).
    async fn call(
        &self,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Answer, ProviderError> {
        let build =
            |client: &reqwest::Client| build(client).header("Prefer", "outlook.timezone=\"UTC\"");
        self.tokens
            .send_authorised(&self.http, PROVIDER, MICROSOFT_ACCOUNT, build)
            .await
    }

    fn expand_booking_id() -> String {
        format!("singleValueExtendedProperties($filter=id eq '{BOOKING_ID_PROPERTY}')")
    }

    /// The booking's event in `user`'s calendar, if it has one.
    pub async fn find_event(
        &self,
        user: &str,
        booking_id: &str,
    ) -> Result<Option<GraphEvent>, ProviderError> {
        let mut url = self.url(user, &["calendar", "events"]);
        // OData string literals double their single quotes.
        let literal = booking_id.replace('\'', "''");
        url.query_pairs_mut()
            .append_pair(
                "$filter",
                &format!(
                    "singleValueExtendedProperties/Any(ep: ep/id eq '{BOOKING_ID_PROPERTY}' \
                     and ep/value eq '{literal}')"
                ),
            )
            .append_pair("$expand", &Self::expand_booking_id())
            .append_pair("$top", "10");
        let answer = self.call(|c| c.get(url.clone())).await?;
        if !answer.is_success() {
            return Err(classify(answer));
        }
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            value: Vec<GraphEvent>,
        }
        let page: Page = answer.json()?;
        let mut found = page
            .value
            .into_iter()
            .filter(|e| e.booking_id() == Some(booking_id));
        let first = found.next();
        if found.next().is_some() {
            tracing::warn!(
                booking_id,
                user,
                "more than one Graph event carries this booking id; the first is used"
            );
        }
        Ok(first)
    }

    /// The booking id an event carries, or `None` for an event that is not ours or is gone.
    pub async fn booking_id_of(
        &self,
        user: &str,
        event_id: &str,
    ) -> Result<Option<GraphEvent>, ProviderError> {
        let mut url = self.url(user, &["calendar", "events", event_id]);
        url.query_pairs_mut()
            .append_pair("$expand", &Self::expand_booking_id());
        let answer = self.call(|c| c.get(url.clone())).await?;
        match answer.status {
            200..=299 => Ok(Some(answer.json()?)),
            404 => Ok(None),
            _ => Err(classify(answer)),
        }
    }

    async fn patch_event(
        &self,
        user: &str,
        event_id: &str,
        patch: &Value,
    ) -> Result<(), ProviderError> {
        let url = self.url(user, &["calendar", "events", event_id]);
        let answer = self.call(|c| c.patch(url.clone()).json(patch)).await?;
        if answer.is_success() {
            Ok(())
        } else {
            Err(classify(answer))
        }
    }

    fn output(
        &self,
        booking_id: &str,
        calendar_id: &str,
        event_id: String,
        outcome: CalendarOutcome,
    ) -> CalendarEventOutput {
        CalendarEventOutput {
            booking_id: booking_id.to_owned(),
            calendar_id: calendar_id.to_owned(),
            event_id,
            outcome,
        }
    }

    /// Makes the booking's event exist with the wanted time and subject: found by its
    /// booking id and converged, or created (deduplicated by `transactionId`).
    pub async fn ensure_event(
        &self,
        user: &str,
        input: &EnsureCalendarEventInput,
    ) -> Result<CalendarEventOutput, ProviderError> {
        if let Some(existing) = self.find_event(user, &input.booking_id).await? {
            let mut patch = Map::new();
            if existing.subject.as_deref() != Some(input.summary.as_str()) {
                patch.insert("subject".into(), json!(input.summary));
            }
            if existing.start_instant() != Some(input.start)
                || existing.end_instant() != Some(input.end)
            {
                patch.insert("start".into(), time_json(input.start));
                patch.insert("end".into(), time_json(input.end));
            }
            let outcome = if patch.is_empty() {
                CalendarOutcome::Unchanged
            } else {
                self.patch_event(user, &existing.id, &Value::Object(patch))
                    .await?;
                CalendarOutcome::Updated
            };
            return Ok(self.output(&input.booking_id, &input.calendar_id, existing.id, outcome));
        }
        let mut body = json!({
            "subject": input.summary,
            "start": time_json(input.start),
            "end": time_json(input.end),
            "transactionId": transaction_id_for(&input.booking_id),
            "singleValueExtendedProperties": [
                { "id": BOOKING_ID_PROPERTY, "value": input.booking_id }
            ],
        });
        if let Some(d) = &input.description {
            body["body"] = json!({ "contentType": "text", "content": d });
        }
        if let Some(l) = &input.location {
            body["location"] = json!({ "displayName": l });
        }
        if !input.attendee_emails.is_empty() {
            body["attendees"] = input
                .attendee_emails
                .iter()
                .map(|e| json!({ "emailAddress": { "address": e }, "type": "required" }))
                .collect();
        }
        let url = self.url(user, &["calendar", "events"]);
        let answer = self.call(|c| c.post(url.clone()).json(&body)).await?;
        if !answer.is_success() {
            return Err(classify(answer));
        }
        let created: GraphEvent = answer.json()?;
        Ok(self.output(
            &input.booking_id,
            &input.calendar_id,
            created.id,
            CalendarOutcome::Created,
        ))
    }

    /// Moves the booking's event. No event is [`ProviderError::NotFound`] (fatal): the
    /// workflow ensures it instead.
    pub async fn move_event(
        &self,
        user: &str,
        input: &MoveCalendarEventInput,
    ) -> Result<CalendarEventOutput, ProviderError> {
        let Some(existing) = self.find_event(user, &input.booking_id).await? else {
            return Err(ProviderError::NotFound {
                provider: PROVIDER,
                body: format!(
                    "no event in {user}'s calendar carries booking {}",
                    input.booking_id
                ),
            });
        };
        let patch = json!({ "start": time_json(input.start), "end": time_json(input.end) });
        self.patch_event(user, &existing.id, &patch).await?;
        Ok(self.output(
            &input.booking_id,
            &input.calendar_id,
            existing.id,
            CalendarOutcome::Moved,
        ))
    }

    /// Deletes the booking's event; none found, or 404 `ErrorItemNotFound`, is done too.
    pub async fn delete_event(
        &self,
        user: &str,
        input: &DeleteCalendarEventInput,
    ) -> Result<CalendarEventOutput, ProviderError> {
        let Some(existing) = self.find_event(user, &input.booking_id).await? else {
            return Ok(self.output(
                &input.booking_id,
                &input.calendar_id,
                String::new(),
                CalendarOutcome::AlreadyGone,
            ));
        };
        let url = self.url(user, &["calendar", "events", &existing.id]);
        let answer = self.call(|c| c.delete(url.clone())).await?;
        let outcome = match answer.status {
            200..=299 => CalendarOutcome::Deleted,
            404 if error_code(&answer.body).as_deref() == Some("ErrorItemNotFound") => {
                CalendarOutcome::AlreadyGone
            }
            _ => return Err(classify(answer)),
        };
        Ok(self.output(&input.booking_id, &input.calendar_id, existing.id, outcome))
    }

    /// Busy ranges of the mailbox within the window (`POST /calendar/getSchedule`). Items whose
    /// status is `busy`, `tentative` or `oof` count; `free` and `workingElsewhere` do not.
    pub async fn free_busy(
        &self,
        user: &str,
        input: &CheckFreeBusyInput,
    ) -> Result<FreeBusyOutput, ProviderError> {
        let body = json!({
            "schedules": [user],
            "startTime": time_json(input.start),
            "endTime": time_json(input.end),
            "availabilityViewInterval": 15,
        });
        let url = self.url(user, &["calendar", "getSchedule"]);
        let answer = self.call(|c| c.post(url.clone()).json(&body)).await?;
        if !answer.is_success() {
            return Err(classify(answer));
        }
        let value: Value = answer.json()?;
        let schedules = value["value"].as_array().cloned().unwrap_or_default();
        let entry = schedules
            .iter()
            .find(|s| {
                s["scheduleId"]
                    .as_str()
                    .is_some_and(|id| id.eq_ignore_ascii_case(user))
            })
            .or_else(|| (schedules.len() == 1).then(|| &schedules[0]))
            .ok_or_else(|| ProviderError::BadResponse {
                provider: PROVIDER,
                message: format!("getSchedule answer has no entry for {user}"),
            })?;
        if entry["error"].is_object() {
            return Err(ProviderError::Rejected {
                provider: PROVIDER,
                status: 200,
                body: format!(
                    "{}: {}",
                    entry["error"]["responseCode"].as_str().unwrap_or("error"),
                    entry["error"]["message"].as_str().unwrap_or_default()
                ),
            });
        }
        let mut busy = Vec::new();
        for item in entry["scheduleItems"].as_array().into_iter().flatten() {
            let status = item["status"].as_str().unwrap_or("busy");
            if !matches!(status, "busy" | "tentative" | "oof") {
                continue;
            }
            let time = |key: &str| {
                serde_json::from_value::<GraphTime>(item[key].clone())
                    .ok()
                    .and_then(|t| t.instant())
                    .ok_or_else(|| ProviderError::BadResponse {
                        provider: PROVIDER,
                        message: format!("getSchedule item without a UTC {key}: {item}"),
                    })
            };
            busy.push(BusyRange {
                start: time("start")?,
                end: time("end")?,
            });
        }
        Ok(FreeBusyOutput::judge(input, busy))
    }

    /// One `calendarView/delta` round for `user`: from `position` when given (the changes
    /// since), else a full round over `[window_start, window_end)`. A position Graph no longer
    /// knows (410 `SyncStateNotFound`) starts a full round over the same window.
    pub async fn delta_round(
        &self,
        user: &str,
        position: Option<&DeltaPosition>,
        window_start: DateTime<Utc>,
        window_end: DateTime<Utc>,
    ) -> Result<DeltaRound, ProviderError> {
        if let Some(position) = position {
            let link = Url::parse(&position.delta_link).map_err(|e| ProviderError::Rejected {
                provider: PROVIDER,
                status: 0,
                body: format!("stored delta link is not a URL: {e}"),
            })?;
            match self
                .follow(link, position.window_start, position.window_end, false)
                .await
            {
                Err(ProviderError::Rejected { status: 410, .. }) => {
                    tracing::info!(
                        user,
                        "Graph no longer knows the delta position; starting a full round"
                    );
                }
                other => return other,
            }
        }
        let mut url = self.url(user, &["calendarView", "delta"]);
        url.query_pairs_mut()
            .append_pair("startDateTime", &window_start.to_rfc3339())
            .append_pair("endDateTime", &window_end.to_rfc3339());
        self.follow(url, window_start, window_end, true).await
    }

    /// Follows `nextLink`s to the round's `deltaLink`.
    async fn follow(
        &self,
        first: Url,
        window_start: DateTime<Utc>,
        window_end: DateTime<Utc>,
        full: bool,
    ) -> Result<DeltaRound, ProviderError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            value: Vec<GraphEvent>,
            #[serde(default, rename = "@odata.nextLink")]
            next_link: Option<String>,
            #[serde(default, rename = "@odata.deltaLink")]
            delta_link: Option<String>,
        }
        let mut items = Vec::new();
        let mut url = first;
        for _ in 0..MAX_DELTA_PAGES {
            let answer = self
                .call(|c| c.get(url.clone()).header("Prefer", "odata.maxpagesize=100"))
                .await?;
            if !answer.is_success() {
                return Err(classify(answer));
            }
            let page: Page = answer.json()?;
            items.extend(page.value.into_iter().map(|event| match event.removed {
                Some(_) => DeltaItem::Removed { event_id: event.id },
                None => DeltaItem::Changed(event),
            }));
            let next = match (page.next_link, page.delta_link) {
                (Some(next), _) => next,
                (None, Some(delta_link)) => {
                    return Ok(DeltaRound {
                        items,
                        position: DeltaPosition {
                            delta_link,
                            window_start,
                            window_end,
                        },
                        full,
                    });
                }
                (None, None) => {
                    return Err(ProviderError::BadResponse {
                        provider: PROVIDER,
                        message: "a delta page with neither @odata.nextLink nor @odata.deltaLink"
                            .into(),
                    });
                }
            };
            url = Url::parse(&next).map_err(|e| ProviderError::BadResponse {
                provider: PROVIDER,
                message: format!("@odata.nextLink is not a URL: {e}"),
            })?;
        }
        Err(ProviderError::BadResponse {
            provider: PROVIDER,
            message: format!("a delta round ran past {MAX_DELTA_PAGES} pages"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_ids_are_deterministic_and_uuid_shaped() {
        let id = transaction_id_for("bk-1");
        assert_eq!(id, transaction_id_for("bk-1"));
        assert_ne!(id, transaction_id_for("bk-2"));
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
    }

    #[test]
    fn graph_times_read_as_utc_only() {
        let t = GraphTime {
            date_time: "2026-12-05T14:00:00.0000000".into(),
            time_zone: "UTC".into(),
        };
        assert_eq!(
            t.instant(),
            Some("2026-12-05T14:00:00Z".parse::<DateTime<Utc>>().unwrap())
        );
        let paris = GraphTime {
            time_zone: "Romance Standard Time".into(),
            ..t
        };
        assert_eq!(paris.instant(), None);
    }

    #[test]
    fn graph_errors_keep_code_message_and_request_id() {
        let body = json!({"error": {"code": "ErrorItemNotFound", "message": "The specified object was not found in the store.", "innerError": {"request-id": "r-1"}}}).to_string();
        assert_eq!(
            provider_message(&body),
            "ErrorItemNotFound: The specified object was not found in the store. (request-id r-1)"
        );
        assert_eq!(provider_message("<html>"), "<html>");
    }

    #[test]
    fn throttling_and_unavailability_are_retryable_with_the_asked_delay() {
        for status in [429, 503, 504] {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
            let err = classify(Answer {
                provider: PROVIDER,
                status,
                headers,
                body: json!({"error": {"code": "TooManyRequests", "message": "Please retry again later."}}).to_string(),
            });
            assert!(err.is_retryable(), "{status}");
            let delay = match &err {
                ProviderError::RateLimited { retry_after, .. }
                | ProviderError::Unavailable { retry_after, .. } => *retry_after,
                _ => None,
            };
            assert_eq!(delay, Some(std::time::Duration::from_secs(7)), "{status}");
            assert!(
                err.to_string().contains("TooManyRequests: Please retry"),
                "{err}"
            );
        }
        let forbidden = classify(Answer {
            provider: PROVIDER,
            status: 403,
            headers: Default::default(),
            body: json!({"error": {"code": "ErrorAccessDenied", "message": "Access is denied."}})
                .to_string(),
        });
        assert!(!forbidden.is_retryable());
    }
}
