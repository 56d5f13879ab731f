//! The one way into a booking from outside its workflow: start options, the id policy,
//! signal-with-start, signals, updates and queries, and what each Temporal error means.
//!
//! The shim (webhooks and links), reconciliation (repairs) and the `bookings` CLI all start and
//! signal bookings through [`BookingClient`], so a booking id means the same thing everywhere:
//! a redelivered creation reuses the running booking, and a closed booking's id is never
//! started again. Each caller keeps its own error enum for its boundary (an HTTP status, an
//! activity failure, an exit code) and maps it from [`BookingCallError`], the one
//! classification.

use booking_proto::{
    domain::{BookingId, ValidBooking},
    phone::PhoneNumber,
    v1::{
        BookingRequest, BookingSnapshot, CancelSignal, ChangeAccepted, ChangeRequest,
        RescheduleSignal, SmsOptOutSignal, SmsStatusSignal,
    },
};
use futures::TryStreamExt;
use temporalio_client::{
    Client, WorkflowExecuteUpdateOptions, WorkflowIdConflictPolicy, WorkflowIdReusePolicy,
    WorkflowListOptions, WorkflowQueryOptions, WorkflowSignalOptions, WorkflowStartOptions,
    errors::{
        WorkflowInteractionError, WorkflowQueryError, WorkflowStartError, WorkflowUpdateError,
    },
    tonic::Code,
};

use temporalio_common::search_attributes::SearchAttributes;

use super::{BookingWorkflow, summary};
use crate::search_attributes::LEAD_PHONE;

/// What a start does when the booking id is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnExisting {
    /// A redelivery: a running booking is reused (the start is a no-op), and a closed one is
    /// reported as [`Started::AlreadyClosed`], never started again. Webhooks, repairs.
    Reuse,
    /// A person asked for a new booking: an id in use is [`BookingCallError::AlreadyExists`].
    Refuse,
}

/// What a start did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// The booking runs (started now, or by an earlier delivery).
    Running,
    /// The booking ran before and is closed: nothing was started or delivered.
    AlreadyClosed,
}

/// The signals that may start a booking they reach first (a cancel or reschedule that
/// overtook the creation it follows).
#[derive(Debug, Clone)]
pub enum StartingSignal {
    Reschedule(RescheduleSignal),
    Cancel(CancelSignal),
}

/// What a call on a booking came to, when it did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookingCallError {
    /// Retryable: Temporal is unreachable, did not answer, or refused for a passing reason.
    #[error("Temporal is unavailable: {0}")]
    Unavailable(String),
    /// Fatal: the request is invalid (the booking could never start with it).
    #[error("the booking request is invalid: {0}")]
    Invalid(String),
    /// Fatal: [`OnExisting::Refuse`] and the id is taken.
    #[error("booking {0} already exists")]
    AlreadyExists(BookingId),
    /// Fatal: no booking has this id.
    #[error("no booking {0}")]
    NotFound(BookingId),
    /// Fatal: the booking is closed and takes no more changes.
    #[error("booking {0} is closed")]
    Closed(BookingId),
    /// Fatal: the booking refused the change; carries its reason, safe to show the lead.
    #[error("the booking refused the change: {0}")]
    Refused(String),
}

/// RPC codes that say "not now" rather than "never".
pub fn is_transient(code: Code) -> bool {
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

/// Start options for `workflow_id` under `on_existing`'s id policy, with the UI's summary and
/// details when given. Dead letters use it too: a redelivered bad payload is one dead letter.
pub fn start_options(
    task_queue: &str,
    workflow_id: String,
    on_existing: OnExisting,
    summary: Option<(String, String)>,
) -> WorkflowStartOptions {
    let conflict = match on_existing {
        OnExisting::Reuse => WorkflowIdConflictPolicy::UseExisting,
        OnExisting::Refuse => WorkflowIdConflictPolicy::Fail,
    };
    let (summary, details) = summary.unzip();
    WorkflowStartOptions::new(task_queue.to_owned(), workflow_id)
        .id_conflict_policy(conflict)
        .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
        .maybe_static_summary(summary)
        .maybe_static_details(details)
        .build()
}

/// A start's error, classified. `AlreadyStarted` under [`OnExisting::Reuse`] means a closed
/// booking (a running one is reused without error).
pub fn classify_start(
    id: &BookingId,
    on_existing: OnExisting,
    e: WorkflowStartError,
) -> Result<Started, BookingCallError> {
    match start_refusal(e) {
        Some(refusal) => Err(refusal),
        None => match on_existing {
            OnExisting::Reuse => Ok(Started::AlreadyClosed),
            OnExisting::Refuse => Err(BookingCallError::AlreadyExists(id.clone())),
        },
    }
}

/// What a failed start of any workflow means: `None` when only its id was taken (the
/// workflow runs or ran), else the classified failure. Starts of other workflows under the
/// same id policy (dead letters) read their errors through it too.
pub fn start_refusal(e: WorkflowStartError) -> Option<BookingCallError> {
    match e {
        WorkflowStartError::AlreadyStarted { .. } => None,
        WorkflowStartError::Rpc(status) if status.code() == Code::AlreadyExists => None,
        WorkflowStartError::Rpc(status) if !is_transient(status.code()) => Some(
            BookingCallError::Invalid(format!("Temporal refused the start: {status}")),
        ),
        other => Some(BookingCallError::Unavailable(other.to_string())),
    }
}

/// A signal's error, classified.
pub fn classify_interaction(id: &BookingId, e: WorkflowInteractionError) -> BookingCallError {
    match e {
        WorkflowInteractionError::NotFound(_) => BookingCallError::NotFound(id.clone()),
        WorkflowInteractionError::Rpc(status) if status.code() == Code::NotFound => {
            BookingCallError::NotFound(id.clone())
        }
        other => BookingCallError::Unavailable(other.to_string()),
    }
}

/// The booking's current snapshot (its `status` query). A query names no task queue, so
/// callers without one ask here.
pub async fn status(client: &Client, id: &BookingId) -> Result<BookingSnapshot, BookingCallError> {
    client
        .get_workflow_handle::<BookingWorkflow>(id.workflow_id())
        .query(BookingWorkflow::status, (), WorkflowQueryOptions::default())
        .await
        .map_err(|e| match e {
            WorkflowQueryError::NotFound(_) => BookingCallError::NotFound(id.clone()),
            other => BookingCallError::Unavailable(other.to_string()),
        })
}

/// Booking workflows on one task queue, reached through one Temporal client.
#[derive(Clone)]
pub struct BookingClient {
    client: Client,
    task_queue: String,
}

impl std::fmt::Debug for BookingClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BookingClient")
            .field("task_queue", &self.task_queue)
            .finish_non_exhaustive()
    }
}

impl BookingClient {
    pub fn new(client: Client, task_queue: impl Into<String>) -> Self {
        Self {
            client,
            task_queue: task_queue.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn task_queue(&self) -> &str {
        &self.task_queue
    }

    /// The booking's start options: the id policy, and the summary and details the UI's
    /// workflow list shows before the first task runs.
    pub fn start_options(
        &self,
        booking: &ValidBooking,
        on_existing: OnExisting,
    ) -> WorkflowStartOptions {
        let shown = (
            summary::start_summary(booking),
            summary::start_details(booking),
        );
        let mut options = start_options(
            &self.task_queue,
            booking.booking_id.workflow_id(),
            on_existing,
            Some(shown),
        );
        // Set by the starter, not upserted by the workflow: recorded histories keep exactly
        // the upserts they had, and continue-as-new carries start attributes over.
        options.search_attributes = booking
            .phone
            .as_ref()
            .map(|phone| SearchAttributes::new([LEAD_PHONE.value_set(phone.to_string())]));
        options
    }

    /// Parses `request` for a start; an invalid one never reaches Temporal.
    pub fn parse(request: BookingRequest) -> Result<ValidBooking, BookingCallError> {
        ValidBooking::parse(request).map_err(|e| BookingCallError::Invalid(e.to_string()))
    }

    /// Starts the booking's workflow.
    pub async fn start(
        &self,
        booking: &ValidBooking,
        on_existing: OnExisting,
    ) -> Result<Started, BookingCallError> {
        let options = self.start_options(booking, on_existing);
        match self
            .client
            .start_workflow(BookingWorkflow::run, booking.request.clone(), options)
            .await
        {
            Ok(_) => Ok(Started::Running),
            Err(e) => classify_start(&booking.booking_id, on_existing, e),
        }
    }

    /// Delivers `signal`, starting the booking from its request first if it does not exist.
    /// A closed booking takes nothing and is not started again.
    pub async fn signal_with_start(
        &self,
        booking: &ValidBooking,
        signal: StartingSignal,
    ) -> Result<Started, BookingCallError> {
        let on_existing = OnExisting::Reuse;
        let options = self.start_options(booking, on_existing);
        let request = booking.request.clone();
        let client = &self.client;
        let result = match signal {
            StartingSignal::Reschedule(s) => {
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
            StartingSignal::Cancel(s) => {
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
            Err(e) => classify_start(&booking.booking_id, on_existing, e),
        }
    }

    /// The booking's current snapshot (its `status` query).
    pub async fn status(&self, id: &BookingId) -> Result<BookingSnapshot, BookingCallError> {
        status(&self.client, id).await
    }

    /// Delivers a delivery report of one of the booking's text messages (signal `sms_status`).
    pub async fn sms_status(
        &self,
        id: &BookingId,
        signal: SmsStatusSignal,
    ) -> Result<(), BookingCallError> {
        self.client
            .get_workflow_handle::<BookingWorkflow>(id.workflow_id())
            .signal(
                BookingWorkflow::sms_status,
                signal,
                WorkflowSignalOptions::default(),
            )
            .await
            .map_err(|e| classify_interaction(id, e))
    }

    /// Turns text messages off for the booking's lead (signal `sms_opt_out`).
    pub async fn sms_opt_out(
        &self,
        id: &BookingId,
        signal: SmsOptOutSignal,
    ) -> Result<(), BookingCallError> {
        self.client
            .get_workflow_handle::<BookingWorkflow>(id.workflow_id())
            .signal(
                BookingWorkflow::sms_opt_out,
                signal,
                WorkflowSignalOptions::default(),
            )
            .await
            .map_err(|e| classify_interaction(id, e))
    }

    /// The running bookings whose lead has `phone`, most recently started first: a text
    /// reply names only the number it came from. Visibility is eventually consistent, so a
    /// booking started a second ago may be missing.
    pub async fn running_bookings_for_phone(
        &self,
        phone: &PhoneNumber,
    ) -> Result<Vec<BookingId>, BookingCallError> {
        let query = format!(
            "WorkflowType = 'BookingWorkflow' AND ExecutionStatus = 'Running' AND {} = '{}'",
            LEAD_PHONE.name(),
            // E.164 is `+` and digits: nothing to escape.
            phone.as_str()
        );
        let mut found: Vec<_> = self
            .client
            .list_workflows(query, WorkflowListOptions::default())
            .try_collect::<Vec<_>>()
            .await
            .map_err(|e| BookingCallError::Unavailable(e.to_string()))?
            .into_iter()
            .filter_map(|w| {
                let started = w.start_time();
                BookingId::from_workflow_id(w.id()).map(|id| (started, id))
            })
            .collect();
        found.sort_by_key(|(started, _)| std::cmp::Reverse(*started));
        Ok(found.into_iter().map(|(_, id)| id).collect())
    }

    /// Asks the booking for a change through its `request_change` update and waits for the
    /// verdict. `update_id` makes a repeat answer from the first outcome.
    pub async fn request_change(
        &self,
        id: &BookingId,
        change: ChangeRequest,
        update_id: String,
    ) -> Result<ChangeAccepted, BookingCallError> {
        let handle = self
            .client
            .get_workflow_handle::<BookingWorkflow>(id.workflow_id());
        let options = WorkflowExecuteUpdateOptions::builder()
            .update_id(update_id)
            .build();
        handle
            .execute_update(BookingWorkflow::request_change, change, options)
            .await
            .map_err(|e| match e {
                WorkflowUpdateError::NotFound(_) => BookingCallError::NotFound(id.clone()),
                WorkflowUpdateError::Failed(failure) => BookingCallError::Refused(failure.message),
                WorkflowUpdateError::Rpc(status) if status.code() == Code::NotFound => {
                    BookingCallError::NotFound(id.clone())
                }
                WorkflowUpdateError::Rpc(status) if status.code() == Code::FailedPrecondition => {
                    BookingCallError::Closed(id.clone())
                }
                other => BookingCallError::Unavailable(other.to_string()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use temporalio_client::tonic::Status;

    fn id() -> BookingId {
        BookingId::parse("bk-1").unwrap()
    }

    #[test]
    fn a_taken_id_is_a_closed_booking_for_redeliveries_and_an_error_for_people() {
        let taken = || WorkflowStartError::Rpc(Status::already_exists("taken"));
        assert_eq!(
            classify_start(&id(), OnExisting::Reuse, taken()),
            Ok(Started::AlreadyClosed)
        );
        assert_eq!(
            classify_start(&id(), OnExisting::Refuse, taken()),
            Err(BookingCallError::AlreadyExists(id()))
        );
    }

    #[test]
    fn passing_rpc_failures_are_retryable_and_refusals_are_not() {
        let unavailable = WorkflowStartError::Rpc(Status::unavailable("down"));
        assert!(matches!(
            classify_start(&id(), OnExisting::Reuse, unavailable),
            Err(BookingCallError::Unavailable(_))
        ));
        let invalid = WorkflowStartError::Rpc(Status::invalid_argument("bad"));
        assert!(matches!(
            classify_start(&id(), OnExisting::Reuse, invalid),
            Err(BookingCallError::Invalid(_))
        ));
        assert!(is_transient(Code::DeadlineExceeded));
        assert!(!is_transient(Code::PermissionDenied));
    }
}
