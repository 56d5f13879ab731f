//! Activities of the reconciliation workflow: what the calendar holds, what the booking engine
//! believes, and the hand-offs that repair a missed webhook.
//!
//! The booking engine itself is reached through [`BookingDirectory`], a port the worker
//! implements with its Temporal client (this crate sits below the workflow crate, so it cannot
//! name the booking workflow's typed signals; the worker can). Reading what bookings believe
//! is a `status` query per booking; repairs are signal-with-start with the same ids the webhook
//! shim uses, so a late webhook after a repair is a duplicate the booking ignores.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    sync::Arc,
};

use booking_proto::v1::{BookingRequest, BookingSnapshot, CancelSignal, RescheduleSignal};
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt, future::BoxFuture};
use serde::{Deserialize, Serialize};
use temporalio_macros::activities;
use temporalio_sdk::{
    ApplicationFailure,
    activities::{ActivityContext, ActivityError},
};
use tracing::Instrument;

use crate::{
    calendar::{
        CalendarRef, Calendars,
        microsoft::{DeltaItem, DeltaPosition},
    },
    error::ProviderError,
    feeds::{FeedStateKept, KeepFeedStateInput},
    policy::activity,
};

/// Bookings queried at once by [`ReconcileActivities::booking_views`].
const QUERY_CONCURRENCY: usize = 8;

/// Why the booking engine could not answer or take a hand-off.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// Retryable: Temporal is unreachable, timed out, or no worker answered the query yet.
    #[error("the booking engine is unavailable: {0}")]
    Unavailable(String),
    /// Fatal: the request itself is refused (an invalid booking request, a closed booking
    /// whose id may not be reused); retrying cannot change the answer.
    #[error("the booking engine refused: {0}")]
    Refused(String),
}

impl DirectoryError {
    fn into_activity_error(self) -> ActivityError {
        let (type_name, non_retryable) = match &self {
            DirectoryError::Unavailable(_) => ("BookingEngineUnavailable", false),
            DirectoryError::Refused(_) => ("BookingEngineRefused", true),
        };
        ApplicationFailure::builder(self)
            .type_name(type_name.to_owned())
            .non_retryable(non_retryable)
            .build()
            .into()
    }
}

/// A repair handed to a booking: start it if it does not exist, then deliver the signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BookingCommand {
    /// The booking's creation was missed: start it (an existing booking is left alone).
    Start { request: BookingRequest },
    /// The cancellation was missed.
    Cancel {
        request: BookingRequest,
        signal: CancelSignal,
    },
    /// The reschedule was missed.
    Reschedule {
        request: BookingRequest,
        signal: RescheduleSignal,
    },
}

impl BookingCommand {
    /// The booking's request (what a start would start).
    pub fn request(&self) -> &BookingRequest {
        match self {
            Self::Start { request }
            | Self::Cancel { request, .. }
            | Self::Reschedule { request, .. } => request,
        }
    }

    pub fn booking_id(&self) -> &str {
        match self {
            Self::Start { request }
            | Self::Cancel { request, .. }
            | Self::Reschedule { request, .. } => &request.booking_id,
        }
    }
}

/// What [`BookingDirectory::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Applied {
    /// Handed to a running (or just started) booking.
    Delivered,
    /// The booking is closed; nothing was delivered.
    Closed,
}

/// What [`BookingDirectory::keep_calendar_positions`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionsKept {
    /// Written into the reconciliation schedule's input.
    InSchedule,
    /// The run was not started by the schedule (a manual or test run): nothing to write.
    NotScheduled,
}

/// `keep_calendar_positions`: the positions a run ended at, for the schedule's next run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepPositionsInput {
    /// The run's workflow id: only runs the schedule started write to it.
    pub run_workflow_id: String,
    pub positions: BTreeMap<String, MailboxPosition>,
}

/// The booking engine as reconciliation sees it (implemented by the worker over Temporal).
pub trait BookingDirectory: Send + Sync + fmt::Debug {
    /// Writes `positions` into the reconciliation schedule's input (see
    /// [`KeepPositionsInput`]); the rest of the input is left as it is.
    fn keep_calendar_positions(
        &self,
        input: KeepPositionsInput,
    ) -> BoxFuture<'_, Result<PositionsKept, DirectoryError>>;

    /// The booking's `status` snapshot, or `None` when no booking has this id.
    fn status<'a>(
        &'a self,
        booking_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<BookingSnapshot>, DirectoryError>>;

    /// Hands a repair to the booking (signal-with-start, existing booking reused).
    fn apply(&self, command: BookingCommand) -> BoxFuture<'_, Result<Applied, DirectoryError>>;

    /// Writes what a feed's poll learned into the feed's schedule input (see
    /// [`crate::feeds`]); the feed's configuration is left as it is.
    fn keep_feed_state(
        &self,
        input: KeepFeedStateInput,
    ) -> BoxFuture<'_, Result<FeedStateKept, DirectoryError>>;
}

/// `list_calendar_changes`: every event with a booking id changed since `updated_min`
/// (Google) or since the mailbox's last delta position (Microsoft).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListCalendarChangesInput {
    pub updated_min: DateTime<Utc>,
    /// The window a Microsoft delta round covers when it starts over (calendarView delta is
    /// bounded by start times); unset in runs recorded before Microsoft support.
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: Option<DateTime<Utc>>,
    /// Where each Microsoft mailbox's delta rounds stand, by wire calendar id, as the previous
    /// run left them (see [`CalendarChanges::positions`]).
    #[serde(default)]
    pub positions: BTreeMap<String, MailboxPosition>,
}

/// A Microsoft mailbox's delta position plus the bookings its events belong to: a deleted
/// event comes back from delta as its id alone, so the booking it belonged to must be known
/// from an earlier round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxPosition {
    pub delta: DeltaPosition,
    /// Graph event id -> booking id, for the engine's events in the round's window.
    #[serde(default)]
    pub bookings: BTreeMap<String, String>,
}

/// One booking's calendar event, as the calendar holds it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarEventView {
    pub calendar_id: String,
    pub event_id: String,
    pub booking_id: String,
    /// Deleted (Google keeps deleted events listable as `cancelled`).
    pub cancelled: bool,
    pub summary: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarChanges {
    pub events: Vec<CalendarEventView>,
    /// Each Microsoft mailbox's position after this listing, for the next run's input.
    #[serde(default)]
    pub positions: BTreeMap<String, MailboxPosition>,
}

/// `booking_views`: what the engine believes about each of these bookings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingViewsInput {
    pub booking_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BookingViews {
    /// One entry per asked id, in the order asked; `snapshot` is `None` for unknown ids.
    pub bookings: Vec<BookingView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingView {
    pub booking_id: String,
    pub snapshot: Option<BookingSnapshot>,
}

/// The clients reconciliation's own activities use.
#[derive(Debug, Clone)]
pub struct ReconcileActivities {
    calendars: Calendars,
    /// Every calendar bookings may live on: the default one and each agent's.
    configured: BTreeSet<CalendarRef>,
    directory: Arc<dyn BookingDirectory>,
}

impl ReconcileActivities {
    pub fn new(
        calendars: Calendars,
        configured: BTreeSet<CalendarRef>,
        directory: Arc<dyn BookingDirectory>,
    ) -> Self {
        Self {
            calendars,
            configured,
            directory,
        }
    }

    async fn google_changes(
        &self,
        calendar_id: &str,
        updated_min: DateTime<Utc>,
    ) -> Result<Vec<CalendarEventView>, ProviderError> {
        let listed = self
            .calendars
            .google()
            .list_changed_events(calendar_id, updated_min, None)
            .await?;
        Ok(listed
            .into_iter()
            .filter_map(|event| {
                Some(CalendarEventView {
                    calendar_id: calendar_id.to_owned(),
                    booking_id: event.booking_id()?.to_owned(),
                    cancelled: event.is_cancelled(),
                    start: event.start.instant(),
                    end: event.end.instant(),
                    summary: event.summary,
                    event_id: event.id,
                })
            })
            .collect())
    }

    /// One delta round of a mailbox. Changed events the position does not know are read once
    /// to learn their booking id (delta cannot expand extended properties); events without a
    /// `transactionId` were not made by the engine and are skipped unread.
    async fn microsoft_changes(
        &self,
        calendar: &CalendarRef,
        user: &str,
        input: &ListCalendarChangesInput,
        now: DateTime<Utc>,
    ) -> Result<(Vec<CalendarEventView>, MailboxPosition), ProviderError> {
        let wire = calendar.to_wire();
        let window_start = input.window_start.unwrap_or(input.updated_min);
        let window_end = input.window_end.unwrap_or(now + chrono::Duration::days(60));
        // A round's window is fixed when it starts; once a quarter of the wanted horizon has
        // passed beyond it, start a new round so tours far ahead stay covered.
        let slack = (window_end - window_start) / 4;
        let previous = input
            .positions
            .get(&wire)
            .filter(|p| p.delta.window_end + slack >= window_end);
        let graph = self.calendars.microsoft();
        let round = graph
            .delta_round(user, previous.map(|p| &p.delta), window_start, window_end)
            .await?;
        let mut bookings = match previous {
            Some(p) if !round.full => p.bookings.clone(),
            _ => BTreeMap::new(),
        };
        let mut views = Vec::new();
        for item in round.items {
            match item {
                DeltaItem::Removed { event_id } => {
                    if let Some(booking_id) = bookings.remove(&event_id) {
                        views.push(CalendarEventView {
                            calendar_id: wire.clone(),
                            event_id,
                            booking_id,
                            cancelled: true,
                            summary: None,
                            start: None,
                            end: None,
                        });
                    }
                }
                DeltaItem::Changed(event) => {
                    let booking_id = match bookings.get(&event.id) {
                        Some(known) => known.clone(),
                        None if event.transaction_id.is_none() => continue,
                        None => match graph.booking_id_of(user, &event.id).await? {
                            Some(read) => match read.booking_id() {
                                Some(id) => id.to_owned(),
                                None => continue,
                            },
                            None => continue,
                        },
                    };
                    bookings.insert(event.id.clone(), booking_id.clone());
                    views.push(CalendarEventView {
                        calendar_id: wire.clone(),
                        booking_id,
                        cancelled: event.is_cancelled,
                        start: event.start_instant(),
                        end: event.end_instant(),
                        summary: event.subject,
                        event_id: event.id,
                    });
                }
            }
        }
        Ok((
            views,
            MailboxPosition {
                delta: round.position,
                bookings,
            },
        ))
    }
}

#[activities]
impl ReconcileActivities {
    /// Events carrying a booking id changed on every configured calendar, deleted ones
    /// included: on Google since `updated_min`, on Microsoft since the mailbox's position.
    /// Read-only (a delta round only moves the position it returns).
    #[activity(name = activity::LIST_CALENDAR_CHANGES)]
    pub async fn list_calendar_changes(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ListCalendarChangesInput,
    ) -> Result<CalendarChanges, ActivityError> {
        let now = Utc::now();
        let mut changes = CalendarChanges::default();
        for calendar in &self.configured {
            let listed = match calendar {
                CalendarRef::Google(id) => self.google_changes(id, input.updated_min).await,
                CalendarRef::Microsoft(user) => self
                    .microsoft_changes(calendar, user, &input, now)
                    .await
                    .map(|(views, position)| {
                        changes.positions.insert(calendar.to_wire(), position);
                        views
                    }),
            };
            changes
                .events
                .extend(listed.map_err(ProviderError::into_activity_error)?);
        }
        Ok(changes)
    }

    /// The `status` snapshot of each booking (none for an id no booking has). Read-only.
    #[activity(name = activity::BOOKING_VIEWS)]
    pub async fn booking_views(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: BookingViewsInput,
    ) -> Result<BookingViews, ActivityError> {
        let directory = &self.directory;
        let bookings = futures::stream::iter(input.booking_ids)
            .map(|booking_id| async move {
                let snapshot = directory.status(&booking_id).await?;
                Ok::<_, DirectoryError>(BookingView {
                    booking_id,
                    snapshot,
                })
            })
            .buffered(QUERY_CONCURRENCY)
            .try_collect()
            .await
            .map_err(DirectoryError::into_activity_error)?;
        Ok(BookingViews { bookings })
    }

    /// Keeps the Microsoft delta positions a scheduled run ended at in the schedule's input,
    /// so the next run continues from them. Idempotent: it writes the same positions again.
    #[activity(name = activity::KEEP_CALENDAR_POSITIONS)]
    pub async fn keep_calendar_positions(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: KeepPositionsInput,
    ) -> Result<PositionsKept, ActivityError> {
        self.directory
            .keep_calendar_positions(input)
            .await
            .map_err(DirectoryError::into_activity_error)
    }

    /// Keeps what a feed's scheduled poll learned in the feed's schedule, for its next run.
    /// Idempotent: it writes the same knowledge again.
    #[activity(name = activity::KEEP_FEED_STATE)]
    pub async fn keep_feed_state(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: KeepFeedStateInput,
    ) -> Result<FeedStateKept, ActivityError> {
        self.directory
            .keep_feed_state(input)
            .await
            .map_err(DirectoryError::into_activity_error)
    }

    /// Hands one repair to its booking. Idempotent: the booking ignores event ids it has seen
    /// and an existing booking is never started twice.
    #[activity(name = activity::APPLY_BOOKING_COMMAND)]
    pub async fn apply_booking_command(
        self: Arc<Self>,
        _ctx: ActivityContext,
        command: BookingCommand,
    ) -> Result<Applied, ActivityError> {
        let booking_id = command.booking_id().to_owned();
        let span = tracing::info_span!(
            "activity",
            activity = activity::APPLY_BOOKING_COMMAND,
            booking_id
        );
        self.directory
            .apply(command)
            .instrument(span)
            .await
            .map_err(DirectoryError::into_activity_error)
    }
}
