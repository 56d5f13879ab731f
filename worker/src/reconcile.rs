//! The booking engine as reconciliation's activities reach it: the worker's own Temporal
//! client, typed against [`BookingWorkflow`] (the activities crate cannot name it).

use std::time::Duration;

use booking_activities::reconcile::{
    Applied, BookingCommand, BookingDirectory, DirectoryError, KeepPositionsInput, PositionsKept,
};
use booking_proto::{
    domain::{BookingId, ValidBooking},
    v1::{BookingRequest, BookingSnapshot},
};
use booking_workflows::{
    BookingWorkflow,
    booking::summary,
    reconcile::{ReconcileConfig, ReconcileWorkflow, SCHEDULE_ID, WORKFLOW_ID_PREFIX},
};
use futures::{FutureExt, future::BoxFuture};
use temporalio_client::{
    Client, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowQueryOptions,
    WorkflowStartOptions,
    errors::{WorkflowQueryError, WorkflowStartError},
    tonic::Code,
};

/// Longest wait for one query or hand-off; the activity's retry policy takes it from there.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// [`BookingDirectory`] over a Temporal client, starting bookings on `task_queue`.
#[derive(Clone)]
pub struct TemporalDirectory {
    client: Client,
    task_queue: String,
}

impl std::fmt::Debug for TemporalDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemporalDirectory")
            .field("task_queue", &self.task_queue)
            .finish_non_exhaustive()
    }
}

impl TemporalDirectory {
    pub fn new(client: Client, task_queue: impl Into<String>) -> Self {
        Self {
            client,
            task_queue: task_queue.into(),
        }
    }

    /// As the webhook shim starts bookings: an existing run is reused, and a closed booking's
    /// id is never started again. The UI's list shows the booking's summary from the start.
    fn start_options(
        &self,
        request: &BookingRequest,
    ) -> Result<WorkflowStartOptions, DirectoryError> {
        let booking = ValidBooking::parse(request.clone()).map_err(|e| {
            DirectoryError::Refused(format!("booking {:?}: {e}", request.booking_id))
        })?;
        Ok(
            WorkflowStartOptions::new(self.task_queue.clone(), booking.booking_id.workflow_id())
                .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
                .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
                .static_summary(summary::start_summary(&booking))
                .static_details(summary::start_details(&booking))
                .build(),
        )
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

fn started<T>(result: Result<T, WorkflowStartError>) -> Result<Applied, DirectoryError> {
    match result {
        Ok(_) => Ok(Applied::Delivered),
        Err(WorkflowStartError::AlreadyStarted { .. }) => Ok(Applied::Closed),
        Err(WorkflowStartError::Rpc(status)) if status.code() == Code::AlreadyExists => {
            Ok(Applied::Closed)
        }
        Err(WorkflowStartError::Rpc(status)) if status.code() == Code::InvalidArgument => Err(
            DirectoryError::Refused(format!("Temporal refused the start: {status}")),
        ),
        Err(other) => Err(DirectoryError::Unavailable(other.to_string())),
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
        let handle = self.client.get_schedule_handle(SCHEDULE_ID);
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
            || action.task_queue() != self.task_queue
        {
            return Ok(PositionsKept::NotScheduled);
        }
        let mut config: ReconcileConfig = action
            .args()
            .await
            .map_err(|e| unavailable(&e))?
            .unwrap_or_default();
        config.calendar_positions = input.positions;
        let task_queue = self.task_queue.clone();
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

impl BookingDirectory for TemporalDirectory {
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
                match self
                    .client
                    .get_workflow_handle::<BookingWorkflow>(id.workflow_id())
                    .query(BookingWorkflow::status, (), WorkflowQueryOptions::default())
                    .await
                {
                    Ok(snapshot) => Ok(Some(snapshot)),
                    Err(WorkflowQueryError::NotFound(_)) => Ok(None),
                    Err(other) => Err(DirectoryError::Unavailable(other.to_string())),
                }
            })
            .await
        }
        .boxed()
    }

    fn apply(&self, command: BookingCommand) -> BoxFuture<'_, Result<Applied, DirectoryError>> {
        async move {
            let options = self.start_options(command.request())?;
            bounded(async {
                match command {
                    BookingCommand::Start { request } => started(
                        self.client
                            .start_workflow(BookingWorkflow::run, request, options)
                            .await,
                    ),
                    BookingCommand::Cancel { request, signal } => started(
                        self.client
                            .signal_with_start_workflow(
                                BookingWorkflow::run,
                                request,
                                BookingWorkflow::cancel,
                                signal,
                                options,
                            )
                            .await,
                    ),
                    BookingCommand::Reschedule { request, signal } => started(
                        self.client
                            .signal_with_start_workflow(
                                BookingWorkflow::run,
                                request,
                                BookingWorkflow::reschedule,
                                signal,
                                options,
                            )
                            .await,
                    ),
                }
            })
            .await
        }
        .boxed()
    }
}
