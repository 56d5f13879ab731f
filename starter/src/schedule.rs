//! The hourly reconciliation schedule: `bookings schedule ensure|describe|trigger`, and what
//! `bookings up` ensures once its worker runs.
//!
//! One Temporal Schedule, [`SCHEDULE_ID`], starts a [`ReconcileWorkflow`] on the task queue
//! every hour. Overlap policy SKIP: a run still going when the next is due means the next is
//! not needed. Catch-up window ten minutes: after an outage only a run missed by less than that
//! is made up (the next hourly run covers the rest anyway).

use std::time::{Duration, SystemTime};

use booking_workflows::reconcile::{ReconcileConfig, ReconcileWorkflow};
use chrono::{DateTime, Utc};
use serde::Serialize;
use temporalio_client::{
    Client,
    schedules::{
        CreateScheduleOptions, ScheduleAction, ScheduleError, ScheduleOverlapPolicy, ScheduleSpec,
    },
    tonic::Code,
};

use crate::operator::OperatorError;

pub use booking_workflows::reconcile::{SCHEDULE_ID, WORKFLOW_ID_PREFIX};
pub const INTERVAL: Duration = Duration::from_secs(3600);
pub const CATCHUP_WINDOW: Duration = Duration::from_secs(600);

/// What `ensure` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ensured {
    Created,
    Updated,
}

fn error(e: ScheduleError) -> OperatorError {
    match e {
        ScheduleError::Rpc(status) if status.code() == Code::NotFound => OperatorError::NotFound(
            format!("no schedule {SCHEDULE_ID}; create it with `bookings schedule ensure`"),
        ),
        other => OperatorError::Temporal(other.to_string()),
    }
}

fn action(task_queue: &str, config: &ReconcileConfig) -> ScheduleAction {
    ScheduleAction::start_workflow(
        ReconcileWorkflow::run,
        config.clone(),
        task_queue,
        WORKFLOW_ID_PREFIX,
    )
}

/// Creates the schedule, or brings an existing one to this definition (spec, action, overlap
/// policy, catch-up window), so running it again is harmless.
pub async fn ensure(
    client: &Client,
    task_queue: &str,
    config: &ReconcileConfig,
) -> Result<Ensured, OperatorError> {
    let created = client
        .create_schedule(
            SCHEDULE_ID,
            CreateScheduleOptions::builder()
                .action(action(task_queue, config))
                .spec(ScheduleSpec::from_interval(INTERVAL))
                .overlap_policy(ScheduleOverlapPolicy::Skip)
                .note("hourly reconciliation of webhooks against the scheduler and calendar")
                .build(),
        )
        .await;
    let was_created = created.is_ok();
    match created {
        Ok(_) => {}
        Err(ScheduleError::Rpc(status)) if status.code() == Code::AlreadyExists => {}
        Err(e) => return Err(error(e)),
    }
    // The create options have no catch-up window; the update sets it (and, for an existing
    // schedule, everything else).
    let action = action(task_queue, config);
    client
        .get_schedule_handle(SCHEDULE_ID)
        .update(
            move |u| {
                u.set_spec(ScheduleSpec::from_interval(INTERVAL))
                    .set_action(action)
                    .set_overlap_policy(ScheduleOverlapPolicy::Skip)
                    .set_catchup_window(CATCHUP_WINDOW);
            },
            Default::default(),
        )
        .await
        .map_err(error)?;
    Ok(if was_created {
        Ensured::Created
    } else {
        Ensured::Updated
    })
}

/// What `describe` shows.
#[derive(Debug, Clone, Serialize)]
pub struct ScheduleView {
    pub schedule_id: String,
    pub paused: bool,
    pub workflow_type: String,
    pub task_queue: String,
    pub action_count: i64,
    pub overlap_skipped: i64,
    pub missed_catchup_window: i64,
    pub recent_runs: Vec<RecentRun>,
    pub next_runs: Vec<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecentRun {
    pub workflow_id: String,
    pub scheduled_at: Option<DateTime<Utc>>,
}

fn utc(t: SystemTime) -> DateTime<Utc> {
    t.into()
}

pub async fn describe(client: &Client) -> Result<ScheduleView, OperatorError> {
    let d = client
        .get_schedule_handle(SCHEDULE_ID)
        .describe(Default::default())
        .await
        .map_err(error)?;
    let (workflow_type, task_queue) = match d.action() {
        temporalio_client::schedules::ScheduleDescriptionAction::StartWorkflow(a) => {
            (a.workflow_type().to_owned(), a.task_queue().to_owned())
        }
        _ => (String::new(), String::new()),
    };
    Ok(ScheduleView {
        schedule_id: SCHEDULE_ID.to_owned(),
        paused: d.paused(),
        workflow_type,
        task_queue,
        action_count: d.action_count(),
        overlap_skipped: d.overlap_skipped(),
        missed_catchup_window: d.missed_catchup_window(),
        recent_runs: d
            .recent_actions()
            .into_iter()
            .map(|a| RecentRun {
                scheduled_at: a.schedule_time.map(utc),
                workflow_id: a.workflow_id,
            })
            .collect(),
        next_runs: d.future_action_times().into_iter().map(utc).collect(),
    })
}

/// Runs reconciliation now (skipped if a run is still going).
pub async fn trigger(client: &Client) -> Result<(), OperatorError> {
    client
        .get_schedule_handle(SCHEDULE_ID)
        .trigger(ScheduleOverlapPolicy::Skip, Default::default())
        .await
        .map_err(error)
}
