//! iCalendar feeds: `bookings feeds add|list|remove|poll-now`.
//!
//! A feed is one Temporal Schedule, `ical-feed-<name>`, whose action starts a
//! [`FeedPollWorkflow`] with the feed's [`FeedPollInput`] every poll interval (overlap SKIP: a
//! poll still running makes the next one unnecessary). Its configuration and what its polls
//! learned both live in the schedule's input, so `list` reads them from there, and the
//! Temporal UI shows them on the schedule's page.

use std::time::Duration;

use booking_activities::feeds::{
    FeedConfig, FeedKnowledge, FeedName, FeedPollInput, SCHEDULE_PREFIX,
};
use booking_workflows::feeds::{FeedPollWorkflow, WORKFLOW_TYPE};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::Serialize;
use temporalio_client::{
    Client,
    schedules::{
        CreateScheduleOptions, ListSchedulesOptions, ScheduleAction, ScheduleDescriptionAction,
        ScheduleError, ScheduleOverlapPolicy, ScheduleSpec,
    },
    tonic::Code,
};

use crate::operator::OperatorError;

/// A catch-up window of one interval: after an outage, one poll makes up for all missed ones.
fn catchup(config: &FeedConfig) -> Duration {
    Duration::from_secs(config.poll_interval_secs)
}

fn not_found(name: &FeedName) -> OperatorError {
    OperatorError::NotFound(format!(
        "no feed {name}; `bookings feeds list` shows the configured ones"
    ))
}

fn error(name: &FeedName, e: ScheduleError) -> OperatorError {
    match e {
        ScheduleError::Rpc(status) if status.code() == Code::NotFound => not_found(name),
        other => OperatorError::Temporal(other.to_string()),
    }
}

fn action(task_queue: &str, input: FeedPollInput) -> ScheduleAction {
    let prefix = input.feed.name.run_id_prefix();
    ScheduleAction::start_workflow(FeedPollWorkflow::run, input, task_queue, prefix)
}

/// What `add` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Added {
    Created,
    /// The feed existed: its configuration is replaced, what its polls learned is kept.
    Updated,
}

/// Adds the feed, or updates an existing feed's configuration (keeping its knowledge, so its
/// bookings are not started again). Refuses an invalid configuration before Temporal sees it.
pub async fn add(
    client: &Client,
    task_queue: &str,
    config: FeedConfig,
) -> Result<Added, OperatorError> {
    if let Err(errors) = config.validate() {
        let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
        return Err(OperatorError::Invalid(listed.join("; ")));
    }
    let name = config.name.clone();
    let spec = ScheduleSpec::from_interval(Duration::from_secs(config.poll_interval_secs));
    let fresh = FeedPollInput {
        feed: config.clone(),
        known: FeedKnowledge::default(),
        accept_drop: false,
    };
    let created = client
        .create_schedule(
            name.schedule_id(),
            CreateScheduleOptions::builder()
                .action(action(task_queue, fresh))
                .spec(spec.clone())
                .overlap_policy(ScheduleOverlapPolicy::Skip)
                .note(format!("polls the iCalendar feed {name}"))
                .build(),
        )
        .await;
    let outcome = match created {
        Ok(_) => Added::Created,
        Err(ScheduleError::Rpc(status)) if status.code() == Code::AlreadyExists => Added::Updated,
        Err(e) => return Err(error(&name, e)),
    };
    let known = match outcome {
        Added::Created => FeedKnowledge::default(),
        Added::Updated => current(client, &name).await?.1.known,
    };
    let input = FeedPollInput {
        feed: config.clone(),
        known,
        accept_drop: false,
    };
    let action = action(task_queue, input);
    let window = catchup(&config);
    client
        .get_schedule_handle(name.schedule_id())
        .update(
            move |u| {
                u.set_spec(spec)
                    .set_action(action)
                    .set_overlap_policy(ScheduleOverlapPolicy::Skip)
                    .set_catchup_window(window);
            },
            Default::default(),
        )
        .await
        .map_err(|e| error(&name, e))?;
    Ok(outcome)
}

/// The feed's task queue and input (configuration and knowledge), read from its schedule.
pub async fn current(
    client: &Client,
    name: &FeedName,
) -> Result<(String, FeedPollInput), OperatorError> {
    let d = client
        .get_schedule_handle(name.schedule_id())
        .describe(Default::default())
        .await
        .map_err(|e| error(name, e))?;
    let ScheduleDescriptionAction::StartWorkflow(action) = d.action() else {
        return Err(not_found(name));
    };
    if action.workflow_type() != WORKFLOW_TYPE {
        return Err(not_found(name));
    }
    let input = action
        .args::<FeedPollInput>()
        .await
        .map_err(|e| {
            OperatorError::Temporal(format!("the feed's schedule input does not read: {e}"))
        })?
        .ok_or_else(|| not_found(name))?;
    Ok((action.task_queue().to_owned(), input))
}

/// One feed as `list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FeedView {
    pub name: String,
    pub url: String,
    pub agent_id: String,
    pub property_id: String,
    pub poll_interval_secs: u64,
    pub paused: bool,
    /// UIDs the feed's polls know (booked, moved or cancelled).
    pub known_events: usize,
    pub upcoming_bookings: usize,
    pub last_poll: Option<DateTime<Utc>>,
    pub last_outcome: Option<String>,
    /// Why the feed is held for an operator, when it is.
    pub attention: Option<String>,
    pub attention_since: Option<DateTime<Utc>>,
}

/// One feed's view, read from its schedule (strongly consistent).
pub async fn show(client: &Client, name: &FeedName) -> Result<FeedView, OperatorError> {
    let d = client
        .get_schedule_handle(name.schedule_id())
        .describe(Default::default())
        .await
        .map_err(|e| error(name, e))?;
    let (_, input) = current(client, name).await?;
    let known = &input.known;
    Ok(FeedView {
        name: name.to_string(),
        url: input.feed.url.clone(),
        agent_id: input.feed.agent_id.clone(),
        property_id: input.feed.property_id.clone(),
        poll_interval_secs: input.feed.poll_interval_secs,
        paused: d.paused(),
        known_events: known.events.len(),
        upcoming_bookings: known.upcoming(Utc::now()),
        last_poll: known.last_poll,
        last_outcome: known.last_outcome.clone(),
        attention: known.attention.as_ref().map(|a| a.reason.clone()),
        attention_since: known.attention.as_ref().map(|a| a.since),
    })
}

/// Every feed. Schedules are listed through visibility, which lags a just-added feed by a
/// second or so; each listed feed is then read from its schedule.
pub async fn list(client: &Client) -> Result<Vec<FeedView>, OperatorError> {
    let summaries: Vec<_> = client
        .list_schedules(ListSchedulesOptions::default())
        .try_collect()
        .await
        .map_err(|e| OperatorError::Temporal(e.to_string()))?;
    let mut names: Vec<FeedName> = summaries
        .iter()
        .filter_map(|s| s.schedule_id().strip_prefix(SCHEDULE_PREFIX))
        .filter_map(|n| FeedName::parse(n).ok())
        .collect();
    names.sort();
    names.dedup();
    let mut views = Vec::with_capacity(names.len());
    for name in &names {
        match show(client, name).await {
            Ok(view) => views.push(view),
            // Removed between the listing and the read.
            Err(OperatorError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(views)
}

/// Removes the feed's schedule. Its bookings stay as they are: removing a source is not
/// cancelling what it booked.
pub async fn remove(client: &Client, name: &FeedName) -> Result<(), OperatorError> {
    client
        .get_schedule_handle(name.schedule_id())
        .delete(Default::default())
        .await
        .map_err(|e| error(name, e))
}

/// Polls the feed now (skipped while a poll runs). `accept_drop` lets this one poll apply a
/// feed held for dropping most of its events; the poll clears it.
pub async fn poll_now(
    client: &Client,
    name: &FeedName,
    accept_drop: bool,
) -> Result<(), OperatorError> {
    let handle = client.get_schedule_handle(name.schedule_id());
    if accept_drop {
        let (task_queue, mut input) = current(client, name).await?;
        input.accept_drop = true;
        let action = action(&task_queue, input);
        handle
            .update(
                move |u| {
                    u.set_action(action);
                },
                Default::default(),
            )
            .await
            .map_err(|e| error(name, e))?;
    }
    handle
        .trigger(ScheduleOverlapPolicy::Skip, Default::default())
        .await
        .map_err(|e| error(name, e))
}
