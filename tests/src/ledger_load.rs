//! Driving one slot ledger directly through its updates, shared by the ledger tests and the
//! `bench` harness.

use booking_workflows::ledger::{
    LedgerConfig, LedgerStart, ReserveOutcome, ReserveRequest, SlotLedgerWorkflow, Window,
};
use futures::{StreamExt, stream};
use temporalio_client::{
    Client, WorkflowExecuteUpdateOptions, WorkflowHandle, WorkflowStartOptions,
};

/// Starts the ledger `config` describes on `task_queue` and returns its handle.
pub async fn start_ledger(
    client: &Client,
    task_queue: &str,
    config: LedgerConfig,
) -> WorkflowHandle<Client, SlotLedgerWorkflow> {
    let id = config.workflow_id();
    client
        .start_workflow(
            SlotLedgerWorkflow::run,
            LedgerStart {
                config,
                carried: None,
            },
            WorkflowStartOptions::new(task_queue.to_owned(), id.clone()).build(),
        )
        .await
        .expect("the ledger starts");
    client.get_workflow_handle::<SlotLedgerWorkflow>(id)
}

/// Reserves one seat in `window` for each of `ids`, `in_flight` update calls at a time.
pub async fn reserve_all(
    handle: &WorkflowHandle<Client, SlotLedgerWorkflow>,
    ids: Vec<String>,
    window: Window,
    in_flight: usize,
) -> Vec<(String, ReserveOutcome)> {
    stream::iter(ids)
        .map(|booking_id| async move {
            let outcome = handle
                .execute_update(
                    SlotLedgerWorkflow::reserve,
                    ReserveRequest {
                        booking_id: booking_id.clone(),
                        window,
                        seats: 1,
                        notify_workflow_id: String::new(),
                    },
                    WorkflowExecuteUpdateOptions::default(),
                )
                .await
                .expect("the ledger answers every reservation");
            (booking_id, outcome)
        })
        .buffer_unordered(in_flight)
        .collect()
        .await
}
