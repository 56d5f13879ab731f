//! The booking engine as reconciliation's activities reach it: the worker's own Temporal
//! client, typed against [`BookingWorkflow`] (the activities crate cannot name it).

use std::time::Duration;

use booking_activities::{
    feeds::{FeedPollInput, FeedStateKept, KeepFeedStateInput},
    reconcile::{
        Applied, BookingCommand, BookingDirectory, DirectoryError, KeepPositionsInput,
        PositionsKept,
    },
};
use booking_proto::{domain::BookingId, v1::BookingSnapshot};
use booking_workflows::{
    booking::client::{BookingCallError, BookingClient, OnExisting, Started, StartingSignal},
    feeds::FeedPollWorkflow,
    reconcile::{ReconcileConfig, ReconcileWorkflow, SCHEDULE_ID, WORKFLOW_ID_PREFIX},
};
use futures::{FutureExt, future::BoxFuture};
use temporalio_client::{Client, tonic::Code};

/// Longest wait for one query or hand-off; the activity's retry policy takes it from there.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// [`BookingDirectory`] over the booking client, starting bookings on its task queue as the
/// webhook shim does (a running booking is reused, a closed one never started again).
#[derive(Clone, Debug)]
pub struct TemporalDirectory {
    bookings: BookingClient,
}

impl TemporalDirectory {
    pub fn new(client: Client, task_queue: impl Into<String>) -> Self {
        Self {
            bookings: BookingClient::new(client, task_queue),
        }
    }

    fn client(&self) -> &Client {
        self.bookings.client()
    }
}

async fn bounded<T>(
    call: impl Future<Output = Result<T, DirectoryError>>,
) -> Result<T, DirectoryError> {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| {
            Err(DirectoryError::Unavailable(
                "Temporal did not answer".into(),
            ))
        })
}

/// Reconciliation's reading of a call's failure: retry what may pass, report the rest.
fn directory_error(e: BookingCallError) -> DirectoryError {
    match e {
        BookingCallError::Unavailable(why) => DirectoryError::Unavailable(why),
        refused => DirectoryError::Refused(refused.to_string()),
    }
}

fn applied(started: Started) -> Applied {
    match started {
        Started::Running => Applied::Delivered,
        Started::AlreadyClosed => Applied::Closed,
    }
}

impl TemporalDirectory {
    async fn keep_positions(
        &self,
        input: KeepPositionsInput,
    ) -> Result<PositionsKept, DirectoryError> {
        if !input
            .run_workflow_id
            .starts_with(&format!("{WORKFLOW_ID_PREFIX}-"))
        {
            return Ok(PositionsKept::NotScheduled);
        }
        let unavailable = |e: &dyn std::fmt::Display| DirectoryError::Unavailable(e.to_string());
        let handle = self.client().get_schedule_handle(SCHEDULE_ID);
        let description = match handle.describe(Default::default()).await {
            Ok(d) => d,
            Err(temporalio_client::schedules::ScheduleError::Rpc(status))
                if status.code() == Code::NotFound =>
            {
                return Ok(PositionsKept::NotScheduled);
            }
            Err(e) => return Err(unavailable(&e)),
        };
        let temporalio_client::schedules::ScheduleDescriptionAction::StartWorkflow(action) =
            description.action()
        else {
            return Ok(PositionsKept::NotScheduled);
        };
        if action.workflow_type() != booking_workflows::reconcile::WORKFLOW_TYPE
            || action.task_queue() != self.bookings.task_queue()
        {
            return Ok(PositionsKept::NotScheduled);
        }
        let mut config: ReconcileConfig = action
            .args()
            .await
            .map_err(|e| unavailable(&e))?
            .unwrap_or_default();
        config.calendar_positions = input.positions;
        let task_queue = self.bookings.task_queue().to_owned();
        handle
            .update(
                move |update| {
                    update.set_action(
                        temporalio_client::schedules::ScheduleAction::start_workflow(
                            ReconcileWorkflow::run,
                            config,
                            task_queue,
                            WORKFLOW_ID_PREFIX,
                        ),
                    );
                },
                Default::default(),
            )
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(PositionsKept::InSchedule)
    }
}

impl TemporalDirectory {
    /// Replaces the knowledge in the feed's schedule input, keeping the configuration an
    /// operator may have changed meanwhile, and clears a one-off `--accept-drop`.
    async fn keep_feed(&self, input: KeepFeedStateInput) -> Result<FeedStateKept, DirectoryError> {
        if !input
            .run_workflow_id
            .starts_with(&format!("{}-", input.feed.run_id_prefix()))
        {
            return Ok(FeedStateKept::NotScheduled);
        }
        let unavailable = |e: &dyn std::fmt::Display| DirectoryError::Unavailable(e.to_string());
        let handle = self.client().get_schedule_handle(input.feed.schedule_id());
        let description = match handle.describe(Default::default()).await {
            Ok(d) => d,
            Err(temporalio_client::schedules::ScheduleError::Rpc(status))
                if status.code() == Code::NotFound =>
            {
                return Ok(FeedStateKept::NotScheduled);
            }
            Err(e) => return Err(unavailable(&e)),
        };
        let temporalio_client::schedules::ScheduleDescriptionAction::StartWorkflow(action) =
            description.action()
        else {
            return Ok(FeedStateKept::NotScheduled);
        };
        if action.workflow_type() != booking_workflows::feeds::WORKFLOW_TYPE {
            return Ok(FeedStateKept::NotScheduled);
        }
        let task_queue = action.task_queue().to_owned();
        let Some(mut current) = action
            .args::<FeedPollInput>()
            .await
            .map_err(|e| unavailable(&e))?
        else {
            return Ok(FeedStateKept::NotScheduled);
        };
        current.known = input.known;
        current.accept_drop = false;
        let prefix = input.feed.run_id_prefix();
        handle
            .update(
                move |update| {
                    update.set_action(
                        temporalio_client::schedules::ScheduleAction::start_workflow(
                            FeedPollWorkflow::run,
                            current,
                            task_queue,
                            prefix,
                        ),
                    );
                },
                Default::default(),
            )
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(FeedStateKept::InSchedule)
    }
}

impl BookingDirectory for TemporalDirectory {
    fn keep_feed_state(
        &self,
        input: KeepFeedStateInput,
    ) -> BoxFuture<'_, Result<FeedStateKept, DirectoryError>> {
        bounded(self.keep_feed(input)).boxed()
    }

    fn keep_calendar_positions(
        &self,
        input: KeepPositionsInput,
    ) -> BoxFuture<'_, Result<PositionsKept, DirectoryError>> {
        bounded(self.keep_positions(input)).boxed()
    }

    fn status<'a>(
        &'a self,
        booking_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<BookingSnapshot>, DirectoryError>> {
        async move {
            let Ok(id) = BookingId::parse(booking_id) else {
                // An id no booking can have (a hand-made calendar property): no such booking.
                return Ok(None);
            };
            bounded(async {
                match self.bookings.status(&id).await {
                    Ok(snapshot) => Ok(Some(snapshot)),
                    Err(BookingCallError::NotFound(_)) => Ok(None),
                    Err(other) => Err(directory_error(other)),
                }
            })
            .await
        }
        .boxed()
    }

    fn apply(&self, command: BookingCommand) -> BoxFuture<'_, Result<Applied, DirectoryError>> {
        async move {
            let booking =
                BookingClient::parse(command.request().clone()).map_err(directory_error)?;
            bounded(async {
                let started = match command {
                    BookingCommand::Start { .. } => {
                        self.bookings.start(&booking, OnExisting::Reuse).await
                    }
                    BookingCommand::Cancel { signal, .. } => {
                        self.bookings
                            .signal_with_start(&booking, StartingSignal::Cancel(signal))
                            .await
                    }
                    BookingCommand::Reschedule { signal, .. } => {
                        self.bookings
                            .signal_with_start(&booking, StartingSignal::Reschedule(signal))
                            .await
                    }
                };
                started.map(applied).map_err(directory_error)
            })
            .await
        }
        .boxed()
    }
}
