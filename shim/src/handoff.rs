//! Handing deliveries to Temporal: the only place the shim calls it.
//!
//! Every call is bounded by the configured hand-off timeout (the SDK client retries transient
//! RPC failures internally, which would otherwise hold a webhook sender's connection for
//! minutes) and classified into [`HandoffError`], whose variant alone decides the HTTP answer.
//!
//! It also records how long hand-offs take (`shim_handoff_duration_seconds`, see
//! [`Handoff::timed`]): the one place that metric is observed.

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use booking_proto::{
    domain::{BookingId, ValidBooking},
    v1::{
        BookingRequest, CancelSignal, ChangeAccepted, ChangeRequest, QuestionnaireVisitedSignal,
        RescheduleSignal, TourCompleteSignal, change_request::Change,
    },
};
use booking_workflows::{
    BookingWorkflow,
    booking::VISIT_ALREADY_RECORDED,
    dead_letter::{self, DeadLetter, DeadLetterWorkflow},
};
use temporalio_client::{
    Client, WorkflowExecuteUpdateOptions, WorkflowIdConflictPolicy, WorkflowIdReusePolicy,
    WorkflowSignalOptions, WorkflowStartOptions,
    errors::{WorkflowInteractionError, WorkflowStartError, WorkflowUpdateError},
    tonic::Code,
};

use crate::metrics::Metrics;

/// Why a hand-off did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandoffError {
    /// Retryable: Temporal is not connected, did not answer in time, or refused for a passing
    /// reason. Answered 503 with `Retry-After`.
    #[error("Temporal is unavailable: {0}")]
    Unavailable(String),
    /// Fatal for this request: no booking has this id.
    #[error("no such booking")]
    NotFound,
    /// Fatal for this request: the booking exists but is closed (finished or cancelled and
    /// done), so it can take no more changes.
    #[error("the booking is closed")]
    Closed,
    /// Fatal for this request: the booking refused the change (its state does not allow it);
    /// carries the booking's reason, safe to show the lead.
    #[error("the booking refused the change: {0}")]
    Refused(String),
}

/// What a start did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// A new booking workflow runs (or the same one, started by an earlier delivery).
    Running,
    /// The booking ran before and is closed: a redelivery of its creation, nothing to do.
    AlreadyClosed,
}

/// The Temporal side of the shim: the task queue, the timeout, and the hand-off latency metric.
#[derive(Clone)]
pub struct Handoff {
    pub task_queue: String,
    pub timeout: Duration,
    pub metrics: Arc<Metrics>,
}

fn is_unavailable(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::ResourceExhausted
            | Code::Aborted
            | Code::Internal
            | Code::Unknown
            | Code::Cancelled
    )
}

impl Handoff {
    /// Runs one request's whole hand-off of `kind` (`calendly`, `form`, `link`, `operator`):
    /// the Temporal calls it makes and, for Calendly, the API reads a reschedule needs and the
    /// dead letter an unprocessable delivery becomes. Records its duration, whatever its
    /// outcome, as one observation of `shim_handoff_duration_seconds`.
    pub async fn timed<T>(&self, kind: &'static str, handoff: impl Future<Output = T>) -> T {
        let began = Instant::now();
        let outcome = handoff.await;
        self.metrics.observe_handoff(kind, began.elapsed());
        outcome
    }

    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, HandoffError>>,
    ) -> Result<T, HandoffError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .unwrap_or_else(|_| {
                Err(HandoffError::Unavailable(format!(
                    "no answer within {}ms",
                    self.timeout.as_millis()
                )))
            })
    }

    fn start_options(&self, workflow_id: String) -> WorkflowStartOptions {
        // UseExisting: a redelivery while the booking runs is a no-op. RejectDuplicate: a
        // redelivery after it closed must not start a second booking under the same id.
        WorkflowStartOptions::new(self.task_queue.clone(), workflow_id)
            .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
            .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
            .build()
    }

    /// Starts the booking's workflow unless it exists.
    pub async fn start_booking(
        &self,
        client: &Client,
        booking: &ValidBooking,
    ) -> Result<Started, HandoffError> {
        let options = self.start_options(booking.booking_id.workflow_id());
        self.bounded(async {
            match client
                .start_workflow(BookingWorkflow::run, booking.request.clone(), options)
                .await
            {
                Ok(_) => Ok(Started::Running),
                Err(e) => start_error(e).map(|()| Started::AlreadyClosed),
            }
        })
        .await
    }

    /// Sends `signal` to the booking, starting it from `request` first if it does not exist
    /// (a cancel or reschedule that overtook the creation it follows).
    pub async fn signal_with_start(
        &self,
        client: &Client,
        booking: &ValidBooking,
        signal: BookingSignal,
    ) -> Result<Started, HandoffError> {
        let options = self.start_options(booking.booking_id.workflow_id());
        let request: BookingRequest = booking.request.clone();
        self.bounded(async {
            let result = match signal {
                BookingSignal::Reschedule(s) => {
                    client
                        .signal_with_start_workflow(
                            BookingWorkflow::run,
                            request,
                            BookingWorkflow::reschedule,
                            s,
                            options,
                        )
                        .await
                }
                BookingSignal::Cancel(s) => {
                    client
                        .signal_with_start_workflow(
                            BookingWorkflow::run,
                            request,
                            BookingWorkflow::cancel,
                            s,
                            options,
                        )
                        .await
                }
            };
            match result {
                Ok(_) => Ok(Started::Running),
                Err(e) => start_error(e).map(|()| Started::AlreadyClosed),
            }
        })
        .await
    }

    /// Records that the lead opened the questionnaire, at most once per booking's history.
    ///
    /// The visit goes through the `request_change` update with the visit's event id as the
    /// update id: Temporal answers a repeated id from the first outcome without touching the
    /// history, and the booking's validator refuses any later visit before it is written, so
    /// a link opened ten thousand times costs the booking two events, not ten thousand. When
    /// no worker answers in time, the visit falls back to the signal, which Temporal holds
    /// durably without one.
    pub async fn questionnaire_visited(
        &self,
        client: &Client,
        booking: &BookingId,
        signal: QuestionnaireVisitedSignal,
    ) -> Result<(), HandoffError> {
        let change = ChangeRequest {
            change: Some(Change::QuestionnaireVisited(signal.clone())),
        };
        match self
            .request_change(client, booking, change, signal.event_id.clone())
            .await
        {
            Ok(_) => Ok(()),
            Err(HandoffError::Refused(reason)) => {
                // Already recorded, or the booking is past caring (cancelled): nothing to
                // record, and the lead still gets the questionnaire.
                if reason != VISIT_ALREADY_RECORDED {
                    tracing::info!(%reason, "the booking did not record the questionnaire visit");
                }
                Ok(())
            }
            Err(HandoffError::Unavailable(why)) => {
                tracing::info!(%why, "no verdict on the visit in time; sending it as a signal");
                let handle = client.get_workflow_handle::<BookingWorkflow>(booking.workflow_id());
                self.bounded(async {
                    handle
                        .signal(
                            BookingWorkflow::questionnaire_visited,
                            signal,
                            WorkflowSignalOptions::default(),
                        )
                        .await
                        .map_err(interaction_error)
                })
                .await
            }
            Err(other) => Err(other),
        }
    }

    /// Signals an existing booking that its tour happened.
    pub async fn tour_complete(
        &self,
        client: &Client,
        booking: &BookingId,
        signal: TourCompleteSignal,
    ) -> Result<(), HandoffError> {
        let handle = client.get_workflow_handle::<BookingWorkflow>(booking.workflow_id());
        self.bounded(async {
            handle
                .signal(
                    BookingWorkflow::tour_complete,
                    signal,
                    WorkflowSignalOptions::default(),
                )
                .await
                .map_err(interaction_error)
        })
        .await
    }

    /// Asks the booking for a change and waits for its verdict (the confirm/cancel pages).
    pub async fn request_change(
        &self,
        client: &Client,
        booking: &BookingId,
        change: ChangeRequest,
        update_id: String,
    ) -> Result<ChangeAccepted, HandoffError> {
        let handle = client.get_workflow_handle::<BookingWorkflow>(booking.workflow_id());
        let options = WorkflowExecuteUpdateOptions::builder()
            .update_id(update_id)
            .build();
        self.bounded(async {
            handle
                .execute_update(BookingWorkflow::request_change, change, options)
                .await
                .map_err(|e| match e {
                    WorkflowUpdateError::NotFound(_) => HandoffError::NotFound,
                    WorkflowUpdateError::Failed(failure) => HandoffError::Refused(failure.message),
                    WorkflowUpdateError::Rpc(status) if status.code() == Code::NotFound => {
                        HandoffError::NotFound
                    }
                    WorkflowUpdateError::Rpc(status)
                        if status.code() == Code::FailedPrecondition =>
                    {
                        HandoffError::Closed
                    }
                    other => HandoffError::Unavailable(other.to_string()),
                })
        })
        .await
    }

    /// Keeps an unprocessable delivery as a dead-letter workflow (one per distinct body).
    pub async fn dead_letter(
        &self,
        client: &Client,
        body_sha256_hex: &str,
        letter: DeadLetter,
    ) -> Result<(), HandoffError> {
        let options = self.start_options(dead_letter::workflow_id(body_sha256_hex));
        self.bounded(async {
            match client
                .start_workflow(DeadLetterWorkflow::run, letter, options)
                .await
            {
                Ok(_) => Ok(()),
                Err(e) => start_error(e),
            }
        })
        .await
    }
}

/// The two signals a Calendly delivery can carry to a booking that may not exist yet.
#[derive(Debug, Clone)]
pub enum BookingSignal {
    Reschedule(RescheduleSignal),
    Cancel(CancelSignal),
}

/// `Ok(())` when the start failed only because the workflow ran before and is closed.
fn start_error(e: WorkflowStartError) -> Result<(), HandoffError> {
    match e {
        WorkflowStartError::AlreadyStarted { .. } => Ok(()),
        WorkflowStartError::Rpc(status) if status.code() == Code::AlreadyExists => Ok(()),
        WorkflowStartError::Rpc(status) if !is_unavailable(status.code()) => Err(
            HandoffError::Unavailable(format!("Temporal refused the start: {status}")),
        ),
        other => Err(HandoffError::Unavailable(other.to_string())),
    }
}

fn interaction_error(e: WorkflowInteractionError) -> HandoffError {
    match e {
        WorkflowInteractionError::NotFound(_) => HandoffError::NotFound,
        WorkflowInteractionError::Rpc(status) if status.code() == Code::NotFound => {
            HandoffError::NotFound
        }
        other => HandoffError::Unavailable(other.to_string()),
    }
}
