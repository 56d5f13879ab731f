//! Reconciliation: what webhooks missed, found and repaired. An hourly Temporal Schedule
//! (`booking-reconciliation`, see `bookings schedule ensure`) runs [`ReconcileWorkflow`].
//!
//! One run reads, through activities, the scheduler's events starting in the window (Calendly
//! has no "updated since" filter, so the window is over start times), the calendar's events
//! changed recently that carry a `booking_id`, and what each booking involved believes (its
//! `status` query). [`plan::plan`], a pure function, decides the repairs:
//!
//! - a **missed booking** is started as the shim would have (same id, same request, same
//!   event ids, signal-with-start on an existing booking is a no-op);
//! - a **missed cancellation** or **reschedule** is sent with the shim's own event id, so a late
//!   webhook afterwards is a duplicate;
//! - **calendar drift** (the booking's event deleted or moved by hand) converges back: the
//!   engine owns its events, so the event is restored or moved to the booking's time;
//! - an **orphan** (an event whose booking does not exist) is reported, never deleted.
//!
//! Every repair is idempotent, so a second run right after the first repairs nothing. A repair
//! that fails for good is reported under `unresolved`; the run still completes and reports.
//!
//! Microsoft mailboxes are read by `calendarView/delta` rounds, which report deletions only
//! relative to a position. The position each run ends at is in its report and, for runs the
//! schedule started, written into the schedule's own input (`calendar_positions`), so the next
//! hourly run starts from it: durable in Temporal, visible in the UI, never held in a worker's
//! memory. A run whose position is lost (a schedule re-created) starts a full round, which
//! sees every event in the window but not deletions made before it.

pub mod acuity;
pub mod plan;

use std::{collections::BTreeMap, time::Duration};

use booking_activities::{
    BookingActivities,
    inputs::ListScheduledChangesInput,
    policy::{PolicyTable, activity},
    reconcile::{
        Applied, BookingCommand, BookingViewsInput, KeepPositionsInput, ListCalendarChangesInput,
        MailboxPosition, ReconcileActivities,
    },
    sources::{ListAcuityInput, SourceActivities},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ApplicationFailure, WorkflowContext, WorkflowResult};

use plan::Repair;

use crate::detached;
pub use plan::{Orphan, Unresolved};

/// Marks runs that keep Microsoft delta positions in the schedule's input.
const KEEP_POSITIONS_PATCH: &str = "keep-calendar-positions";
/// Marks runs that read Acuity Scheduling's appointments too.
const ACUITY_PATCH: &str = "reconcile-acuity";

/// The schedule that starts reconciliation runs, and the prefix of their workflow ids (the
/// server appends the scheduled time).
pub const SCHEDULE_ID: &str = "booking-reconciliation";
pub const WORKFLOW_ID_PREFIX: &str = "reconcile";

/// Workflow type name, as schedules and visibility queries spell it.
pub const WORKFLOW_TYPE: &str = "ReconcileWorkflow";

/// What one run looks at. Durations are seconds, so the schedule's input reads as plain JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReconcileConfig {
    /// How far back scheduler events are checked (cancellations of tours just past).
    pub past_secs: u64,
    /// How far ahead: the booking horizon.
    pub ahead_secs: u64,
    /// Calendar events changed within this span are checked; longer than the schedule's
    /// interval, so consecutive runs overlap.
    pub calendar_changed_within_secs: u64,
    /// Where each Microsoft mailbox's delta rounds stand, by wire calendar id: written by the
    /// previous run (see the module doc).
    pub calendar_positions: BTreeMap<String, MailboxPosition>,
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        const DAY: u64 = 24 * 3600;
        Self {
            past_secs: DAY,
            ahead_secs: 60 * DAY,
            calendar_changed_within_secs: 2 * DAY,
            calendar_positions: BTreeMap::new(),
        }
    }
}

/// Repairs made, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repaired {
    pub missed_bookings: u32,
    pub missed_cancellations: u32,
    pub missed_reschedules: u32,
    pub calendar_recreated: u32,
    pub calendar_moved: u32,
}

impl Repaired {
    pub fn total(&self) -> u32 {
        self.missed_bookings
            + self.missed_cancellations
            + self.missed_reschedules
            + self.calendar_recreated
            + self.calendar_moved
    }
}

/// The run's result, readable as JSON in the Temporal UI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileReport {
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: Option<DateTime<Utc>>,
    /// Distinct bookings compared (from the scheduler and the calendar).
    pub checked: u32,
    pub repaired: Repaired,
    pub orphans: Vec<Orphan>,
    pub unresolved: Vec<Unresolved>,
    /// Each Microsoft mailbox's delta position after this run, the next run's
    /// `calendar_positions`.
    #[serde(default)]
    pub calendar_positions: BTreeMap<String, MailboxPosition>,
}

#[workflow]
#[derive(Default)]
pub struct ReconcileWorkflow {}

#[workflow_methods]
impl ReconcileWorkflow {
    #[run]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        config: ReconcileConfig,
    ) -> WorkflowResult<ReconcileReport> {
        let now: DateTime<Utc> = ctx
            .workflow_time()
            .map(DateTime::<Utc>::from)
            .ok_or_else(|| ApplicationFailure::new("the workflow has no clock yet"))?;
        let span = |secs: u64| chrono::Duration::seconds(secs.min(i64::MAX as u64) as i64);
        let window_start = now - span(config.past_secs);
        let window_end = now + span(config.ahead_secs);
        // The default table: reconciliation has no per-booking settings, and its own calls are
        // plain provider calls and listings.
        let policies = PolicyTable::default();
        let opts = |name: &str, summary: String| policies.get(name).options(summary);

        let scheduled = detached::activity(
            ctx,
            BookingActivities::list_scheduled_changes,
            ListScheduledChangesInput {
                window_start,
                window_end,
            },
            opts(
                activity::LIST_SCHEDULED_CHANGES,
                "list scheduler events".into(),
            ),
        )
        .await?;
        let calendar = detached::activity(
            ctx,
            ReconcileActivities::list_calendar_changes,
            ListCalendarChangesInput {
                updated_min: now - span(config.calendar_changed_within_secs),
                window_start: Some(window_start),
                window_end: Some(window_end),
                positions: config.calendar_positions.clone(),
            },
            opts(
                activity::LIST_CALENDAR_CHANGES,
                "list changed calendar events".into(),
            ),
        )
        .await?;
        let appointments = if ctx.patched(ACUITY_PATCH) {
            detached::activity(
                ctx,
                SourceActivities::list_acuity_appointments,
                ListAcuityInput {
                    window_start,
                    window_end,
                },
                opts(
                    activity::LIST_ACUITY_APPOINTMENTS,
                    "list Acuity appointments".into(),
                ),
            )
            .await?
            .appointments
        } else {
            Vec::new()
        };
        let (scheduler, mut unresolved) = plan::scheduler_bookings(&scheduled);
        let mut booking_ids = plan::booking_ids(&scheduler, &calendar.events);
        booking_ids.extend(acuity::booking_ids(&appointments));
        booking_ids.sort();
        booking_ids.dedup();
        let views = detached::activity(
            ctx,
            ReconcileActivities::booking_views,
            BookingViewsInput {
                booking_ids: booking_ids.clone(),
            },
            opts(
                activity::BOOKING_VIEWS,
                format!("ask {} bookings", booking_ids.len()),
            ),
        )
        .await?;
        let views: BTreeMap<_, _> = views
            .bookings
            .into_iter()
            .map(|v| (v.booking_id, v.snapshot))
            .collect();
        let run_id = format!("reconcile:{}", ctx.workflow_id());
        let decided = plan::plan(
            now,
            &scheduler,
            &appointments,
            &calendar.events,
            &views,
            &run_id,
        );
        unresolved.extend(decided.unresolved);

        let mut report = ReconcileReport {
            window_start: Some(window_start),
            window_end: Some(window_end),
            checked: booking_ids.len() as u32,
            orphans: decided.orphans,
            ..Default::default()
        };
        for repair in decided.repairs {
            let booking_id = repair.booking_id().to_owned();
            match Self::repair(ctx, &policies, repair).await {
                Ok(Some(counter)) => counter(&mut report.repaired),
                Ok(None) => {}
                Err(reason) => unresolved.push(Unresolved {
                    subject: booking_id,
                    reason,
                }),
            }
        }
        report.unresolved = unresolved;
        report.calendar_positions = calendar.positions;
        // Runs before Microsoft support had no positions to keep; a run with none keeps none.
        if !report.calendar_positions.is_empty() && ctx.patched(KEEP_POSITIONS_PATCH) {
            let keep = detached::activity(
                ctx,
                ReconcileActivities::keep_calendar_positions,
                KeepPositionsInput {
                    run_workflow_id: ctx.workflow_id().to_owned(),
                    positions: report.calendar_positions.clone(),
                },
                opts(
                    activity::KEEP_CALENDAR_POSITIONS,
                    "keep mailbox delta positions for the next run".into(),
                ),
            )
            .await;
            // The repairs are made; a position not kept only makes the next round a full one.
            if let Err(e) = keep {
                report.unresolved.push(Unresolved {
                    subject: "calendar positions".into(),
                    reason: format!("not kept for the next run: {e}"),
                });
            }
        }
        Ok(report)
    }
}

/// Which counter a repair adds to.
type Counter = fn(&mut Repaired);

impl ReconcileWorkflow {
    /// Makes one repair; `Ok(None)` when there was nothing to do after all (the booking closed
    /// meanwhile), `Err` with the reason when the activity failed for good.
    async fn repair(
        ctx: &WorkflowContext<Self>,
        policies: &PolicyTable,
        repair: Repair,
    ) -> Result<Option<Counter>, String> {
        let (command, summary, counter): (BookingCommand, &str, Counter) = match repair {
            Repair::MissedBooking(c) => (c, "start missed booking", |r| r.missed_bookings += 1),
            Repair::MissedCancellation(c) => (c, "apply missed cancellation", |r| {
                r.missed_cancellations += 1
            }),
            Repair::MissedReschedule(c) => {
                (c, "apply missed reschedule", |r| r.missed_reschedules += 1)
            }
            Repair::RecreateCalendarEvent(input) => {
                let opts = policies
                    .get(activity::ENSURE_CALENDAR_EVENT)
                    .options(format!("recreate calendar event of {}", input.booking_id));
                return detached::activity(
                    ctx,
                    BookingActivities::ensure_calendar_event,
                    input,
                    opts,
                )
                .await
                .map(|_| Some((|r| r.calendar_recreated += 1) as Counter))
                .map_err(|e| e.to_string());
            }
            Repair::MoveCalendarEvent(input) => {
                let opts = policies
                    .get(activity::MOVE_CALENDAR_EVENT)
                    .options(format!("move calendar event of {}", input.booking_id));
                return detached::activity(
                    ctx,
                    BookingActivities::move_calendar_event,
                    input,
                    opts,
                )
                .await
                .map(|_| Some((|r| r.calendar_moved += 1) as Counter))
                .map_err(|e| e.to_string());
            }
        };
        let opts = policies
            .get(activity::APPLY_BOOKING_COMMAND)
            .options(format!("{summary} {}", command.booking_id()));
        detached::activity(
            ctx,
            ReconcileActivities::apply_booking_command,
            command,
            opts,
        )
        .await
        .map(|applied| (applied == Applied::Delivered).then_some(counter))
        .map_err(|e| e.to_string())
    }
}

/// Default spacing of scheduled runs (the schedule owns the real value).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(3600);
