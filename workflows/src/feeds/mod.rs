//! iCalendar feeds as a booking source: one Temporal Schedule per feed (`ical-feed-<name>`,
//! see `bookings feeds add`) runs [`FeedPollWorkflow`] every poll interval.
//!
//! A run fetches the feed in an activity (a conditional GET: an unchanged feed costs a 304),
//! decides in [`plan::plan`], a pure function, what the feed's changes do to bookings, hands
//! each to its booking through the same `apply_booking_command` activity reconciliation uses
//! (signal-with-start, a running booking reused, a closed one never restarted), and writes what
//! it learned into the feed's schedule input for the next run.
//!
//! Nothing a feed says is lost or applied blindly:
//! - a feed that does not parse, cannot be fetched, or drops most of its events at once is
//!   **held**: nothing is applied, the ETag is not kept (so the next run looks again), and the
//!   reason is the feed's `attention`, shown by `bookings feeds list`, in the schedule's input
//!   and in the run's result in the Temporal UI;
//! - an event the run cannot book (no attendee email, invalid times) is reported under
//!   `issues` and not remembered, so the next run tries again;
//! - a hand-off that fails is reported the same way and retried by the next run.

pub mod plan;

use booking_activities::{
    feeds::{Attention, FeedKnowledge, FeedPollInput, KeepFeedStateInput},
    ical::{FeedFetch, FetchFeedInput},
    policy::{PolicyTable, activity},
    reconcile::{Applied, ReconcileActivities},
    sources::SourceActivities,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{ApplicationFailure, WorkflowContext, WorkflowResult};

use crate::detached;
use plan::{ChangeKind, FeedIssue};

/// Workflow type name, as schedules and visibility queries spell it.
pub const WORKFLOW_TYPE: &str = "FeedPollWorkflow";

/// What became of one poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PollOutcome {
    /// 304: the feed has not changed since the last body applied.
    NotModified,
    /// The feed was read and its changes handed to their bookings.
    Applied,
    /// The feed dropped most of its events; nothing was applied.
    Held,
    /// The feed's body is not a usable calendar; nothing was applied.
    Malformed,
    /// The feed could not be fetched within the activity's retries; nothing was applied.
    Unreachable,
}

impl PollOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            PollOutcome::NotModified => "not_modified",
            PollOutcome::Applied => "applied",
            PollOutcome::Held => "held",
            PollOutcome::Malformed => "malformed",
            PollOutcome::Unreachable => "unreachable",
        }
    }
}

/// The run's result, readable as JSON in the Temporal UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedPollReport {
    pub feed: String,
    pub outcome: PollOutcome,
    pub started: u32,
    pub moved: u32,
    pub cancelled: u32,
    /// Events the feed lists that the run could not act on, and hand-offs that failed.
    pub issues: Vec<FeedIssue>,
    /// Events of the feed the parser skipped (all-day, recurring, no UID), with the reason.
    pub skipped: Vec<String>,
    /// Why the feed needs a person, when it does.
    pub attention: Option<String>,
    /// Upcoming bookings the feed holds after the run.
    pub upcoming: u32,
}

#[workflow]
#[derive(Default)]
pub struct FeedPollWorkflow {}

#[workflow_methods]
impl FeedPollWorkflow {
    #[run]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: FeedPollInput,
    ) -> WorkflowResult<FeedPollReport> {
        let now: DateTime<Utc> = ctx
            .workflow_time()
            .map(DateTime::<Utc>::from)
            .ok_or_else(|| ApplicationFailure::new("the workflow has no clock yet"))?;
        let policies = PolicyTable::default();
        let feed = &input.feed;
        let mut known = input.known.clone();
        let mut report = FeedPollReport {
            feed: feed.name.to_string(),
            outcome: PollOutcome::NotModified,
            started: 0,
            moved: 0,
            cancelled: 0,
            issues: vec![],
            skipped: vec![],
            attention: None,
            upcoming: 0,
        };
        let fetched = detached::activity(
            ctx,
            SourceActivities::fetch_feed,
            FetchFeedInput {
                feed: feed.name.to_string(),
                url: feed.url.clone(),
                etag: known.etag.clone(),
                last_modified: known.last_modified.clone(),
            },
            policies
                .get(activity::FETCH_FEED)
                .options(format!("fetch feed {}", feed.name)),
        )
        .await;
        let attention = match fetched {
            Err(e) => {
                report.outcome = PollOutcome::Unreachable;
                Some(format!("the feed could not be fetched: {e}"))
            }
            Ok(FeedFetch::NotModified) => known.attention.as_ref().map(|a| a.reason.clone()),
            Ok(FeedFetch::Malformed { reason, .. }) => {
                report.outcome = PollOutcome::Malformed;
                Some(format!(
                    "the feed is not a usable iCalendar, nothing was applied: {reason}"
                ))
            }
            Ok(FeedFetch::Fetched {
                etag,
                last_modified,
                feed: parsed,
                ..
            }) => {
                report.skipped = parsed
                    .skipped
                    .iter()
                    .map(|s| format!("{}: {}", s.uid.as_deref().unwrap_or("(no UID)"), s.reason))
                    .collect();
                let run_id = format!("feed:{}", ctx.workflow_id());
                let decided = plan::plan(now, feed, &known, &parsed, input.accept_drop, &run_id);
                report.issues = decided.issues;
                match decided.held {
                    Some(reason) => {
                        report.outcome = PollOutcome::Held;
                        Some(format!(
                            "{reason}; check the feed, then apply it with `bookings feeds poll-now {} --accept-drop`",
                            feed.name
                        ))
                    }
                    None => {
                        report.outcome = PollOutcome::Applied;
                        let mut applied = Vec::new();
                        let mut failed = false;
                        for change in decided.changes {
                            let Some(command) = change.command.clone() else {
                                applied.push(change);
                                continue;
                            };
                            let summary = format!(
                                "{} {} from feed {}",
                                verb(change.kind),
                                command.booking_id(),
                                feed.name
                            );
                            let handed = detached::activity(
                                ctx,
                                ReconcileActivities::apply_booking_command,
                                command,
                                policies
                                    .get(activity::APPLY_BOOKING_COMMAND)
                                    .options(summary),
                            )
                            .await;
                            match handed {
                                Ok(delivered) => {
                                    if delivered == Applied::Delivered {
                                        count(&mut report, change.kind);
                                    }
                                    applied.push(change);
                                }
                                Err(e) => {
                                    failed = true;
                                    report.issues.push(FeedIssue {
                                        uid: change.after.uid.clone(),
                                        reason: format!("not handed to its booking: {e}"),
                                    });
                                }
                            }
                        }
                        plan::remember(&mut known, &applied, &decided.forget);
                        // A change not handed off must be seen again: keeping the validators
                        // would make the next poll a 304.
                        if !failed {
                            known.etag = etag;
                            known.last_modified = last_modified;
                        }
                        None
                    }
                }
            }
        };
        known.attention = attention.map(|reason| Attention {
            // The first run that saw the problem dates it.
            since: known
                .attention
                .as_ref()
                .filter(|a| a.reason == reason)
                .map_or(now, |a| a.since),
            reason,
        });
        known.last_poll = Some(now);
        known.last_outcome = Some(report.outcome.as_str().to_owned());
        report.attention = known.attention.as_ref().map(|a| a.reason.clone());
        report.upcoming = known.upcoming(now) as u32;
        Self::keep(ctx, &policies, &input, known, &mut report).await;
        Ok(report)
    }
}

impl FeedPollWorkflow {
    /// Writes the knowledge into the feed's schedule (every run: `last_poll` always moves); a
    /// failure is reported, never fatal (the next run then sees the same changes again, as
    /// duplicates).
    async fn keep(
        ctx: &WorkflowContext<Self>,
        policies: &PolicyTable,
        input: &FeedPollInput,
        known: FeedKnowledge,
        report: &mut FeedPollReport,
    ) {
        let kept = detached::activity(
            ctx,
            ReconcileActivities::keep_feed_state,
            KeepFeedStateInput {
                feed: input.feed.name.clone(),
                run_workflow_id: ctx.workflow_id().to_owned(),
                known,
            },
            policies
                .get(activity::KEEP_FEED_STATE)
                .options(format!("keep what feed {} holds", input.feed.name)),
        )
        .await;
        if let Err(e) = kept {
            report.issues.push(FeedIssue {
                uid: String::new(),
                reason: format!("the feed's state was not kept for the next run: {e}"),
            });
        }
    }
}

fn verb(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::New => "start",
        ChangeKind::Moved => "move",
        ChangeKind::Cancelled | ChangeKind::Vanished => "cancel",
        ChangeKind::Noted => "note",
    }
}

fn count(report: &mut FeedPollReport, kind: ChangeKind) {
    match kind {
        ChangeKind::New => report.started += 1,
        ChangeKind::Moved => report.moved += 1,
        ChangeKind::Cancelled | ChangeKind::Vanished => report.cancelled += 1,
        ChangeKind::Noted => {}
    }
}
