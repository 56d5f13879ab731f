//! The ledger calls a booking makes (declared in `booking_workflows::ledger::calls`), run with
//! the worker's Temporal client: a workflow cannot send another workflow an update, an
//! activity can.

use std::sync::Arc;

use booking_workflows::ledger::{
    LedgerStart, ReleaseOutcome, ReleaseRequest, ReserveOutcome, ResourceKind, SlotLedgerWorkflow,
    calls::{
        LEDGER_MOVE, LEDGER_RELEASE, LEDGER_RESERVE, MoveSlotInput, ReleaseSlotInput,
        ReserveSlotInput,
    },
};
use temporalio_client::{
    Client, WorkflowExecuteUpdateOptions, WorkflowIdConflictPolicy, WorkflowUpdateWithStartOptions,
    errors::{WorkflowUpdateError, WorkflowUpdateWithStartError},
};
use temporalio_macros::activities;
use temporalio_sdk::{
    ApplicationFailure,
    activities::{ActivityContext, ActivityError},
};

/// Seats of an open house whose ledger was started by its first RSVP rather than set up with
/// a capacity (`BOOKINGS_OPEN_HOUSE_CAPACITY`).
pub const DEFAULT_OPEN_HOUSE_CAPACITY: u32 = 20;

/// `BOOKINGS_OPEN_HOUSE_CAPACITY` as given, or the default.
pub fn read_open_house_capacity(raw: Option<String>) -> Result<u32, crate::WorkerError> {
    match raw {
        None => Ok(DEFAULT_OPEN_HOUSE_CAPACITY),
        Some(raw) => raw.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
            crate::WorkerError::Build(format!(
                "BOOKINGS_OPEN_HOUSE_CAPACITY={raw}: a positive number of seats is required"
            ))
        }),
    }
}

/// The worker's client, and where ledgers it starts run.
#[derive(Clone)]
pub struct LedgerCalls {
    client: Client,
    task_queue: String,
    open_house_capacity: u32,
}

impl LedgerCalls {
    pub fn new(client: Client, task_queue: &str, open_house_capacity: u32) -> Self {
        Self {
            client,
            task_queue: task_queue.to_owned(),
            open_house_capacity,
        }
    }
}

/// A refused update (the validator said no) will be refused again: not worth retrying. Every
/// other error (server unreachable, timeout) is retried by Temporal.
fn update_error(error: WorkflowUpdateError) -> ActivityError {
    let non_retryable = matches!(error, WorkflowUpdateError::Failed(_));
    ApplicationFailure::builder(error)
        .type_name(
            if non_retryable {
                "LedgerRefused"
            } else {
                "LedgerUnavailable"
            }
            .to_owned(),
        )
        .non_retryable(non_retryable)
        .build()
        .into()
}

#[activities]
impl LedgerCalls {
    /// Reserves in the ledger, starting it with the booking's configuration if it is not
    /// running yet (update-with-start, so two first bookings cannot start two ledgers).
    #[activity(name = LEDGER_RESERVE)]
    pub async fn reserve(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ReserveSlotInput,
    ) -> Result<ReserveOutcome, ActivityError> {
        let mut config = input.ledger;
        if config.kind == ResourceKind::OpenHouse && config.capacity == 0 {
            config.capacity = self.open_house_capacity;
        }
        let options = WorkflowUpdateWithStartOptions::new(
            self.task_queue.clone(),
            config.workflow_id(),
            WorkflowIdConflictPolicy::UseExisting,
        )
        .build();
        self.client
            .execute_update_with_start_workflow(
                SlotLedgerWorkflow::run,
                LedgerStart {
                    config,
                    carried: None,
                },
                SlotLedgerWorkflow::reserve,
                input.request,
                options,
            )
            .await
            .map_err(|error| match error {
                WorkflowUpdateWithStartError::Update(e) => update_error(e),
                other => ApplicationFailure::builder(other)
                    .type_name("LedgerUnavailable".to_owned())
                    .build()
                    .into(),
            })
    }

    /// Releases the booking's holding. A ledger that does not exist holds nothing.
    #[activity(name = LEDGER_RELEASE)]
    pub async fn release(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ReleaseSlotInput,
    ) -> Result<ReleaseOutcome, ActivityError> {
        let result = self
            .client
            .get_workflow_handle::<SlotLedgerWorkflow>(input.ledger_id)
            .execute_update(
                SlotLedgerWorkflow::release,
                ReleaseRequest {
                    booking_id: input.booking_id,
                },
                WorkflowExecuteUpdateOptions::default(),
            )
            .await;
        match result {
            Ok(outcome) => Ok(outcome),
            Err(WorkflowUpdateError::NotFound(_)) => Ok(ReleaseOutcome::default()),
            Err(error) => Err(update_error(error)),
        }
    }

    /// Moves the booking's holding to its new window.
    #[activity(name = LEDGER_MOVE)]
    pub async fn move_slot(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: MoveSlotInput,
    ) -> Result<ReserveOutcome, ActivityError> {
        self.client
            .get_workflow_handle::<SlotLedgerWorkflow>(input.ledger_id)
            .execute_update(
                SlotLedgerWorkflow::move_slot,
                input.request,
                WorkflowExecuteUpdateOptions::default(),
            )
            .await
            .map_err(update_error)
    }
}
