//! Benchmark-only workflows, never registered by the booking worker: the `bench` harness runs
//! them on a task queue of its own to measure what the engine could do at best.
//!
//! [`CeilingWorkflow`] makes the same calls, in the same order and with the same activity
//! options, as the first part of a booking (settings local activity, ledger reserve, free/busy,
//! CRM upsert, calendar create, ask-to-confirm email), but every activity is a no-op: the
//! difference from a real booking is the cost of the providers, the shim and the ledger.
//! [`TimerWorkflow`] sleeps on one timer, to measure how late timers fire.

use std::{sync::Arc, time::Duration};

use booking_activities::policy::{PolicyTable, activity};
use booking_workflows::detached;
use temporalio_common::RetryPolicy;
use temporalio_macros::{activities, workflow, workflow_methods};
use temporalio_sdk::{
    LocalActivityOptions, TimerOptions, WorkflowContext, WorkflowResult,
    activities::{ActivityContext, ActivityError},
};

/// Activities that do nothing but return their input's length.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopActivities;

#[activities]
impl NoopActivities {
    #[activity(name = "bench_settings")]
    pub async fn settings(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: String,
    ) -> Result<u64, ActivityError> {
        Ok(input.len() as u64)
    }
    #[activity(name = "bench_ledger_reserve")]
    pub async fn reserve(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: String,
    ) -> Result<u64, ActivityError> {
        Ok(input.len() as u64)
    }
    #[activity(name = "bench_free_busy")]
    pub async fn free_busy(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: String,
    ) -> Result<u64, ActivityError> {
        Ok(input.len() as u64)
    }
    #[activity(name = "bench_crm_upsert")]
    pub async fn crm_upsert(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: String,
    ) -> Result<u64, ActivityError> {
        Ok(input.len() as u64)
    }
    #[activity(name = "bench_calendar_create")]
    pub async fn calendar_create(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: String,
    ) -> Result<u64, ActivityError> {
        Ok(input.len() as u64)
    }
    #[activity(name = "bench_send_email")]
    pub async fn send_email(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: String,
    ) -> Result<u64, ActivityError> {
        Ok(input.len() as u64)
    }
}

/// A booking's first actions with no-op activities. The input is a payload of a booking
/// request's size; the result is the number of activities run.
#[workflow]
#[derive(Default)]
pub struct CeilingWorkflow;

#[workflow_methods]
impl CeilingWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, payload: String) -> WorkflowResult<u32> {
        let table = PolicyTable::default();
        detached::local_activity(
            ctx,
            NoopActivities::settings,
            payload.clone(),
            LocalActivityOptions::builder()
                .start_to_close_timeout(Duration::from_secs(10))
                .retry_policy(RetryPolicy::builder().maximum_attempts(5).build())
                .build(),
        )
        .await?;
        // Same options as the booking's calls (the ledger calls use the provider default).
        let opts = |name: &str| table.get(name).options(name.to_owned());
        detached::activity(
            ctx,
            NoopActivities::reserve,
            payload.clone(),
            opts(activity::CHECK_FREE_BUSY),
        )
        .await?;
        detached::activity(
            ctx,
            NoopActivities::free_busy,
            payload.clone(),
            opts(activity::CHECK_FREE_BUSY),
        )
        .await?;
        detached::activity(
            ctx,
            NoopActivities::crm_upsert,
            payload.clone(),
            opts(activity::UPSERT_CRM_CONTACT),
        )
        .await?;
        detached::activity(
            ctx,
            NoopActivities::calendar_create,
            payload.clone(),
            opts(activity::ENSURE_CALENDAR_EVENT),
        )
        .await?;
        detached::activity(
            ctx,
            NoopActivities::send_email,
            payload,
            opts(activity::SEND_EMAIL),
        )
        .await?;
        Ok(5)
    }
}

/// Sleeps on one timer of the given milliseconds.
#[workflow]
#[derive(Default)]
pub struct TimerWorkflow;

#[workflow_methods]
impl TimerWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, millis: u64) -> WorkflowResult<u64> {
        detached::timer(
            ctx,
            TimerOptions::builder(Duration::from_millis(millis)).build(),
        )
        .await;
        Ok(millis)
    }
}
