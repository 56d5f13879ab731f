//! `schedule ensure|describe|trigger`: the hourly reconciliation schedule.

use booking_starter::schedule;
use booking_workflows::reconcile::ReconcileConfig;
use clap::Subcommand;

use super::Output;

#[derive(Subcommand)]
pub enum ScheduleCommand {
    /// Create the `booking-reconciliation` schedule, or bring it to the current definition
    /// (hourly, overlap SKIP, 10-minute catch-up window).
    Ensure,
    /// Show the schedule: its action, recent and next runs.
    Describe,
    /// Run reconciliation now (skipped while a run is going).
    Trigger,
}

pub async fn run(command: ScheduleCommand, task_queue: &str, out: Output) -> anyhow::Result<()> {
    let client = booking_worker::connect().await?;
    match command {
        ScheduleCommand::Ensure => {
            let done = schedule::ensure(&client, task_queue, &ReconcileConfig::default()).await?;
            out.print(
                &serde_json::json!({ "schedule_id": schedule::SCHEDULE_ID, "result": done }),
                || format!("schedule {} {done:?}", schedule::SCHEDULE_ID).to_lowercase(),
            );
        }
        ScheduleCommand::Describe => {
            let view = schedule::describe(&client).await?;
            out.print(&view, || {
                let mut text = format!(
                    "schedule {}  {} on {}{}\nruns {} (skipped for overlap {}, missed catch-up {})",
                    view.schedule_id,
                    view.workflow_type,
                    view.task_queue,
                    if view.paused { "  PAUSED" } else { "" },
                    view.action_count,
                    view.overlap_skipped,
                    view.missed_catchup_window
                );
                for run in &view.recent_runs {
                    text.push_str(&format!("\nrecent {}", run.workflow_id));
                }
                for next in &view.next_runs {
                    text.push_str(&format!("\nnext   {}", next.to_rfc3339()));
                }
                text
            });
        }
        ScheduleCommand::Trigger => {
            schedule::trigger(&client).await?;
            out.print(
                &serde_json::json!({ "schedule_id": schedule::SCHEDULE_ID, "triggered": true }),
                || format!("schedule {} triggered", schedule::SCHEDULE_ID),
            );
        }
    }
    Ok(())
}
