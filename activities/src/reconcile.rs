//! Activities of the reconciliation workflow: what the calendar holds, what the booking engine
//! believes, and the hand-offs that repair a missed webhook.
//!
//! The booking engine itself is reached through [`BookingDirectory`], a port the worker
//! implements with its Temporal client (this crate sits below the workflow crate, so it cannot
//! name the booking workflow's typed signals; the worker can). Reading what bookings believe
//! is a `status` query per booking; repairs are signal-with-start with the same ids the webhook
//! shim uses, so a late webhook after a repair is a duplicate the booking ignores.

use std::{collections::BTreeSet, fmt, sync::Arc};

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

use crate::{calendar::CalendarClient, policy::activity};

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

/// The booking engine as reconciliation sees it (implemented by the worker over Temporal).
pub trait BookingDirectory: Send + Sync + fmt::Debug {
    /// The booking's `status` snapshot, or `None` when no booking has this id.
    fn status<'a>(
        &'a self,
        booking_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<BookingSnapshot>, DirectoryError>>;

    /// Hands a repair to the booking (signal-with-start, existing booking reused).
    fn apply(&self, command: BookingCommand) -> BoxFuture<'_, Result<Applied, DirectoryError>>;
}

/// `list_calendar_changes`: every event with a booking id changed since `updated_min`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListCalendarChangesInput {
    pub updated_min: DateTime<Utc>,
}

/// One booking's calendar event, as the calendar holds it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarEventView {
    pub calendar_id: String,
    pub event_id: String,
    pub booking_id: String,
    /// Deleted (Google keeps deleted events listable as `cancelled`).
    pub cancelled: bool,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub start: Option<DateTime<Utc>>,
    #[serde(default)]
    pub end: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarChanges {
    pub events: Vec<CalendarEventView>,
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
    #[serde(default)]
    pub snapshot: Option<BookingSnapshot>,
}

/// The clients reconciliation's own activities use.
#[derive(Debug, Clone)]
pub struct ReconcileActivities {
    calendar: CalendarClient,
    directory: Arc<dyn BookingDirectory>,
}

impl ReconcileActivities {
    pub fn new(calendar: CalendarClient, directory: Arc<dyn BookingDirectory>) -> Self {
        Self {
            calendar,
            directory,
        }
    }

    /// Every calendar bookings may live on: the default one and each agent's.
    fn calendars(&self) -> BTreeSet<String> {
        let config = self.calendar.config();
        std::iter::once(config.default_calendar_id.clone())
            .chain(config.agent_calendars.values().cloned())
            .collect()
    }
}

#[activities]
impl ReconcileActivities {
    /// Events carrying a `booking_id` private property changed since `updated_min` on every
    /// configured calendar, deleted ones included. Read-only.
    #[activity(name = activity::LIST_CALENDAR_CHANGES)]
    pub async fn list_calendar_changes(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ListCalendarChangesInput,
    ) -> Result<CalendarChanges, ActivityError> {
        let mut events = Vec::new();
        for calendar_id in self.calendars() {
            let listed = self
                .calendar
                .list_changed_events(&calendar_id, input.updated_min, None)
                .await
                .map_err(|e| e.into_activity_error())?;
            events.extend(listed.into_iter().filter_map(|event| {
                Some(CalendarEventView {
                    calendar_id: calendar_id.clone(),
                    booking_id: event.booking_id()?.to_owned(),
                    cancelled: event.is_cancelled(),
                    start: event.start.instant(),
                    end: event.end.instant(),
                    summary: event.summary,
                    event_id: event.id,
                })
            }));
        }
        Ok(CalendarChanges { events })
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
