//! Timers, activities and signals detached from the workflow's cancellation token.
//!
//! temporalio-workflow 1.1.1 hooks every timer, activity and outgoing signal into a
//! cancellation token, the workflow's own unless the options name another, and unhooks it only
//! when the operation completes. The hook holds the workflow context, and the workflow's token
//! lives inside that context. So an operation dropped while still pending leaves a reference
//! cycle, and the run's whole context is never freed. That happens all the time: a timer that
//! loses a `select!` to a signal, and every operation in flight when the worker evicts the run
//! from its sticky cache (an idle booking is evicted while it waits on a timer). With the
//! workflow's token the worker kept every context it ever built (heaptrack: 8,984 contexts
//! still allocated after 1,500 bookings), and 5,000 idle bookings held 449 MiB with a cache of
//! 100 workflows; with detached tokens 10,000 idle bookings hold 210-282 MiB with a cache of
//! 250 (`scripts/bench`).
//!
//! Each operation here is hooked into a fresh token of its own that nothing else holds, so the
//! hook is freed with the operation. A cancellation request for the workflow therefore does not
//! cancel these operations: it reaches workflow code through `wait_condition`, and each
//! workflow decides what it means (the booking turns it into its own cancellation, whose
//! cleanup steps must not be cancelled with it). An operation is still cancelled with
//! [`CancellableFuture::cancel`]. The commands sent to Temporal are exactly those of the plain
//! SDK calls, so recorded histories replay unchanged.

use temporalio_common::{
    ActivityDefinition, SignalDefinition,
    data_converters::TemporalDeserializable,
    error::{ActivityExecutionError, WorkflowSignalError},
};
use temporalio_sdk::{
    ActivityOptions, CancellableFuture, ExternalWorkflowHandle, LocalActivityOptions,
    SignalWorkflowOptions, TimerOptions, TimerResult, WorkflowCancellationToken, WorkflowContext,
};

/// A token no one will ever cancel, and which no one keeps.
fn detached() -> Option<WorkflowCancellationToken> {
    Some(WorkflowCancellationToken::new())
}

/// [`WorkflowContext::timer`], detached.
pub fn timer<W>(
    ctx: &WorkflowContext<W>,
    mut options: TimerOptions,
) -> impl CancellableFuture<Output = TimerResult> + '_ {
    options.cancellation_token = detached();
    ctx.timer(options)
}

/// [`WorkflowContext::execute_activity`], detached.
pub fn activity<'a, W, AD>(
    ctx: &'a WorkflowContext<W>,
    activity: AD,
    input: AD::Input,
    mut options: ActivityOptions,
) -> impl CancellableFuture<Output = Result<AD::Output, ActivityExecutionError>> + 'a
where
    AD: ActivityDefinition + 'a,
    AD::Output: TemporalDeserializable,
{
    options.cancellation_token = detached();
    ctx.execute_activity(activity, input, options)
}

/// [`WorkflowContext::execute_local_activity`], detached.
pub fn local_activity<'a, W, AD>(
    ctx: &'a WorkflowContext<W>,
    activity: AD,
    input: AD::Input,
    mut options: LocalActivityOptions,
) -> impl CancellableFuture<Output = Result<AD::Output, ActivityExecutionError>> + 'a
where
    AD: ActivityDefinition + 'a,
    AD::Output: TemporalDeserializable,
{
    options.cancellation_token = detached();
    ctx.execute_local_activity(activity, input, options)
}

/// [`ExternalWorkflowHandle::signal`], detached.
pub fn signal<S: SignalDefinition + 'static>(
    target: &ExternalWorkflowHandle,
    signal: S,
    input: S::Input,
    mut options: SignalWorkflowOptions,
) -> impl CancellableFuture<Output = Result<(), WorkflowSignalError>> + 'static {
    options.cancellation_token = detached();
    target.signal(signal, input, options)
}
