//! What an operator asks the engine, as library functions the `bookings` CLI (and tests) call:
//! find bookings by email or status (visibility queries on the search attributes), the one
//! worklist of things needing a human (dead letters and bookings flagged `NeedsAttention`),
//! and retry / skip of a worklist item.
//!
//! Visibility is eventually consistent: a booking started a moment ago may not be listed yet.
//! Reading one booking by id (its `status` query) is always current.

use booking_proto::{
    domain::{BookingId, EventId},
    time::from_timestamp,
    v1::BookingSnapshot,
};
use booking_workflows::{
    dead_letter::{self, DeadLetterState, DeadLetterWorkflow, OperatorDecision},
    search_attributes::{BOOKING_STATUS, CUSTOMER_EMAIL, TOUR_START},
};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::Serialize;
use temporalio_client::{
    Client, WorkflowListOptions, WorkflowQueryOptions, WorkflowSignalOptions,
    errors::{WorkflowInteractionError, WorkflowQueryError},
};

use crate::booking_client::{self, BookingClientError, BookingSignal};

/// What can go wrong answering an operator.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// Fatal: the argument is wrong (a malformed id, an unknown status); fix it.
    #[error("{0}")]
    Invalid(String),
    /// Fatal: nothing has this id.
    #[error("{0}")]
    NotFound(String),
    /// Retryable: Temporal did not answer or refused for a passing reason.
    #[error("Temporal refused the call: {0}")]
    Temporal(String),
}

impl From<BookingClientError> for OperatorError {
    fn from(e: BookingClientError) -> Self {
        match e {
            BookingClientError::Invalid(_) | BookingClientError::AlreadyExists(_) => {
                OperatorError::Invalid(e.to_string())
            }
            BookingClientError::NotFound(id) => {
                OperatorError::NotFound(format!("no booking {id} (see `bookings list`)"))
            }
            BookingClientError::Temporal(m) => OperatorError::Temporal(m),
        }
    }
}

/// One booking in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BookingRow {
    pub booking_id: String,
    pub workflow_id: String,
    pub status: String,
    pub email: String,
    #[serde(serialize_with = "rfc3339")]
    pub tour_start: Option<DateTime<Utc>>,
    /// `Running`, `Completed`, ... (the workflow's execution status).
    pub execution: String,
}

/// Every booking once: a booking that continued as new has closed runs behind its latest one,
/// and those are not bookings of their own.
const BOOKINGS: &str = "WorkflowType = 'BookingWorkflow' AND ExecutionStatus != 'ContinuedAsNew'";

/// Times as every `--json` answer writes them: RFC 3339 with a `+00:00` offset, the form of
/// the booking snapshot's canonical proto3 JSON (`show`), so one parser reads them all.
fn rfc3339<S: serde::Serializer>(time: &Option<DateTime<Utc>>, out: S) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => out.serialize_str(&time.to_rfc3339()),
        None => out.serialize_none(),
    }
}

/// Quotes a value for a visibility query.
fn quoted(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

async fn list(client: &Client, query: String) -> Result<Vec<BookingRow>, OperatorError> {
    let executions: Vec<_> = client
        .list_workflows(query, WorkflowListOptions::default())
        .try_collect()
        .await
        .map_err(|e| OperatorError::Temporal(e.to_string()))?;
    Ok(executions
        .into_iter()
        .map(|w| {
            let attrs = w.search_attributes();
            let tour_start = attrs.get(&TOUR_START).and_then(|t| {
                DateTime::<Utc>::from_timestamp(t.seconds(), t.nanos().max(0) as u32)
            });
            BookingRow {
                booking_id: BookingId::from_workflow_id(w.id())
                    .map(|b| b.to_string())
                    .unwrap_or_else(|| w.id().to_owned()),
                workflow_id: w.id().to_owned(),
                status: attrs.get(&BOOKING_STATUS).unwrap_or_default(),
                email: attrs.get(&CUSTOMER_EMAIL).unwrap_or_default(),
                tour_start,
                execution: format!("{:?}", w.status()),
            }
        })
        .collect())
}

/// Bookings of the lead with this email (the `CustomerEmail` search attribute), newest first.
pub async fn find_by_email(client: &Client, email: &str) -> Result<Vec<BookingRow>, OperatorError> {
    let email = booking_proto::domain::Email::parse(email)
        .map_err(|m| OperatorError::Invalid(format!("email {email:?}: {m}")))?;
    list(
        client,
        format!("{BOOKINGS} AND CustomerEmail = {}", quoted(email.as_str())),
    )
    .await
}

/// The statuses `list --status` accepts, as the `BookingStatus` search attribute spells them.
pub const STATUSES: &[&str] = &[
    "PENDING_CONFIRMATION",
    "CONFIRMED",
    "CANCELLED",
    "TOUR_COMPLETE",
];

/// Bookings, optionally only those in `status`.
pub async fn list_bookings(
    client: &Client,
    status: Option<&str>,
) -> Result<Vec<BookingRow>, OperatorError> {
    let mut query = BOOKINGS.to_owned();
    if let Some(status) = status {
        let status = status.to_ascii_uppercase();
        if !STATUSES.contains(&status.as_str()) {
            return Err(OperatorError::Invalid(format!(
                "unknown status {status:?}; one of {}",
                STATUSES.join(", ")
            )));
        }
        query.push_str(&format!(" AND BookingStatus = {}", quoted(&status)));
    }
    list(client, query).await
}

/// What an operator sees of one booking.
#[derive(Debug, Clone, Serialize)]
pub struct BookingView {
    pub snapshot: BookingSnapshot,
    /// Where the booking opens in the Temporal Web UI.
    pub ui_url: String,
}

/// A booking by id, or the newest booking of a lead by email.
pub async fn show(
    client: &Client,
    id_or_email: &str,
    ui: &UiLink,
) -> Result<BookingView, OperatorError> {
    let booking_id = if id_or_email.contains('@') {
        let found = find_by_email(client, id_or_email).await?;
        let first = found.into_iter().next().ok_or_else(|| {
            OperatorError::NotFound(format!(
                "no booking for {id_or_email} (visibility may lag a new booking by a second)"
            ))
        })?;
        parse_booking_id(&first.booking_id)?
    } else {
        parse_booking_id(id_or_email)?
    };
    let snapshot = booking_client::status(client, &booking_id).await?;
    Ok(BookingView {
        snapshot,
        ui_url: ui.workflow(&booking_id.workflow_id()),
    })
}

/// A booking id, or the workflow id the Temporal UI shows.
pub fn parse_booking_id(raw: &str) -> Result<BookingId, OperatorError> {
    BookingId::from_workflow_id(raw)
        .map(Ok)
        .unwrap_or_else(|| BookingId::parse(raw))
        .map_err(|m| OperatorError::Invalid(format!("booking id {raw:?}: {m}")))
}

/// Links into the Temporal Web UI.
#[derive(Debug, Clone)]
pub struct UiLink {
    pub base: String,
    pub namespace: String,
}

impl UiLink {
    /// `BOOKINGS_TEMPORAL_UI_URL` (default `http://127.0.0.1:8233`, the dev server's UI) and
    /// `TEMPORAL_NAMESPACE` (default `default`).
    pub fn from_env() -> Self {
        Self {
            base: std::env::var("BOOKINGS_TEMPORAL_UI_URL")
                .unwrap_or_else(|_| "http://127.0.0.1:8233".into()),
            namespace: std::env::var("TEMPORAL_NAMESPACE").unwrap_or_else(|_| "default".into()),
        }
    }

    pub fn workflow(&self, workflow_id: &str) -> String {
        format!(
            "{}/namespaces/{}/workflows/{}",
            self.base.trim_end_matches('/'),
            self.namespace,
            workflow_id
        )
    }
}

/// What kind of item a worklist row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkItemKind {
    /// A webhook the shim could not process.
    DeadLetter,
    /// A booking whose step failed for good (`NeedsAttention`).
    Booking,
}

/// One row of the worklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkItem {
    /// What `retry` / `skip` take: the booking id, or the dead letter's workflow id.
    pub id: String,
    pub kind: WorkItemKind,
    #[serde(serialize_with = "rfc3339")]
    pub since: Option<DateTime<Utc>>,
    pub step: String,
    pub error: String,
}

const DEAD_LETTERS: &str = "WorkflowType = 'DeadLetterWorkflow' AND ExecutionStatus = 'Running'";
const NEEDS_ATTENTION: &str =
    "WorkflowType = 'BookingWorkflow' AND NeedsAttention = true AND ExecutionStatus = 'Running'";

/// The one worklist: open dead letters and bookings needing attention, oldest first.
pub async fn worklist(client: &Client) -> Result<Vec<WorkItem>, OperatorError> {
    let mut items = Vec::new();
    for row in list(client, DEAD_LETTERS.to_owned()).await? {
        let state = dead_letter_details(client, &row.workflow_id).await?;
        items.push(WorkItem {
            id: row.workflow_id,
            kind: WorkItemKind::DeadLetter,
            since: DateTime::parse_from_rfc3339(&state.letter.received_at)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            step: format!("webhook:{}", state.letter.source),
            error: state.letter.reason,
        });
    }
    for row in list(client, NEEDS_ATTENTION.to_owned()).await? {
        let id = parse_booking_id(&row.booking_id)?;
        let snapshot = match booking_client::status(client, &id).await {
            Ok(s) => s,
            // Finished between the listing and the query: no longer on the worklist.
            Err(BookingClientError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        if !snapshot.needs_attention {
            // Visibility lags: the booking was retried or skipped a moment ago.
            continue;
        }
        let failure = snapshot.last_failure.clone().unwrap_or_default();
        items.push(WorkItem {
            id: row.booking_id,
            kind: WorkItemKind::Booking,
            since: failure.at.as_ref().and_then(from_timestamp),
            step: failure.step,
            error: format!("{}: {}", failure.error_type, failure.message),
        });
    }
    items.sort_by(|a, b| a.since.cmp(&b.since).then_with(|| a.id.cmp(&b.id)));
    Ok(items)
}

async fn dead_letter_details(
    client: &Client,
    workflow_id: &str,
) -> Result<DeadLetterState, OperatorError> {
    client
        .get_workflow_handle::<DeadLetterWorkflow>(workflow_id)
        .query(
            DeadLetterWorkflow::details,
            (),
            WorkflowQueryOptions::default(),
        )
        .await
        .map_err(|e| match e {
            WorkflowQueryError::NotFound(_) => {
                OperatorError::NotFound(format!("no dead letter {workflow_id}"))
            }
            other => OperatorError::Temporal(other.to_string()),
        })
}

/// What `retry` / `skip` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Handled {
    pub id: String,
    pub kind: WorkItemKind,
    /// The signal sent: `retry`, `skip`, `resolve` or `discard`.
    pub signal: String,
}

/// `retry`: runs a booking's failed step again; for a dead letter, there is nothing the engine
/// can re-run (the payload could not be parsed), so the operator's retry means "I re-entered
/// it by hand": the letter is resolved.
pub async fn retry(client: &Client, id: &str, operator: &str) -> Result<Handled, OperatorError> {
    act(client, id, operator, true).await
}

/// `skip`: gives up a booking's failed step, or discards a dead letter.
pub async fn skip(client: &Client, id: &str, operator: &str) -> Result<Handled, OperatorError> {
    act(client, id, operator, false).await
}

async fn act(
    client: &Client,
    id: &str,
    operator: &str,
    retry: bool,
) -> Result<Handled, OperatorError> {
    if id.starts_with(dead_letter::WORKFLOW_ID_PREFIX) {
        let handle = client.get_workflow_handle::<DeadLetterWorkflow>(id);
        let decision = OperatorDecision {
            operator: operator.to_owned(),
            note: if retry { "re-submitted" } else { "skipped" }.to_owned(),
        };
        let options = WorkflowSignalOptions::default();
        let sent = if retry {
            handle
                .signal(DeadLetterWorkflow::resolve, decision, options)
                .await
        } else {
            handle
                .signal(DeadLetterWorkflow::discard, decision, options)
                .await
        };
        sent.map_err(|e| match e {
            WorkflowInteractionError::NotFound(_) => {
                OperatorError::NotFound(format!("no open dead letter {id}"))
            }
            other => OperatorError::Temporal(other.to_string()),
        })?;
        return Ok(Handled {
            id: id.to_owned(),
            kind: WorkItemKind::DeadLetter,
            signal: if retry { "resolve" } else { "discard" }.to_owned(),
        });
    }
    let booking = parse_booking_id(id)?;
    // A fresh event id: every operator command is a new action the booking must not ignore.
    let event =
        EventId::parse(&format!("cli-{}", uuid::Uuid::new_v4())).map_err(OperatorError::Invalid)?;
    let signal = if retry {
        BookingSignal::Retry
    } else {
        BookingSignal::Skip {
            reason: format!("skipped by {operator}"),
        }
    };
    booking_client::signal(client, &booking, &event, signal).await?;
    Ok(Handled {
        id: booking.to_string(),
        kind: WorkItemKind::Booking,
        signal: if retry { "retry" } else { "skip" }.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn listings_write_times_as_the_snapshot_does() {
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap();
        let row = BookingRow {
            booking_id: "bk-1".into(),
            workflow_id: "booking-bk-1".into(),
            status: "CONFIRMED".into(),
            email: "ada@example.com".into(),
            tour_start: Some(start),
            execution: "Running".into(),
        };
        let json = serde_json::to_value(&row).unwrap();
        let snapshot = serde_json::to_value(booking_proto::time::to_timestamp(start)).unwrap();
        assert_eq!(json["tour_start"], "2026-12-01T15:00:00+00:00");
        assert_eq!(json["tour_start"], snapshot, "find and show agree");
        let none = BookingRow {
            tour_start: None,
            ..row
        };
        assert!(serde_json::to_value(&none).unwrap()["tour_start"].is_null());
    }
}
