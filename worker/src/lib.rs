//! The booking worker: polls a task queue and runs the booking workflows and activities.
//!
//! [`connect`] is how every process of the project (worker, CLI, tests) reaches Temporal: the
//! SDK's environment configuration (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`,
//! `TEMPORAL_API_KEY`, TLS settings, or a `temporal.toml` profile), so moving from the dev
//! server to a cluster or Temporal Cloud is configuration, not code.

pub mod cli;
pub mod ledger;
pub mod observability;
pub mod reconcile;
pub mod tuning;

use std::path::{Path, PathBuf};

use booking_activities::{BookingActivities, config::ProvidersConfig, policy::PolicyTable};
use booking_workflows::{
    BookingWorkflow,
    lifecycle::FollowUpPolicy,
    settings::{DEFAULT_HISTORY_LIMIT, SettingsSource},
};
use temporalio_client::Client;

pub use booking_workflows::connection::{
    ConnectError, connect, connect_with, error_chain, wait_for_stop_signal,
};
use temporalio_sdk::{Worker, WorkerOptions, runtime::Runtime};

/// The task queue bookings run on unless `BOOKINGS_TASK_QUEUE` says otherwise.
pub const DEFAULT_TASK_QUEUE: &str = "bookings";

/// Why a process could not reach Temporal or build its worker. All fatal for the process; the
/// messages say what to do.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("provider configuration: {0}")]
    Providers(#[from] booking_activities::config::ConfigError),
    #[error("{var}={path}: {message}")]
    SettingsFile {
        var: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("{var}: {message}")]
    Setting { var: &'static str, message: String },
    #[error("worker tuning: {0}")]
    Tuning(#[from] tuning::TuningError),
    #[error("could not build the worker: {0}")]
    Build(String),
}

/// What a worker process runs with.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub task_queue: String,
    pub providers: ProvidersConfig,
    /// Follow-up cadence of new bookings (`BOOKINGS_FOLLOW_UP_POLICY`, a JSON file; fields it
    /// leaves out keep the production default).
    pub follow_up: FollowUpPolicy,
    /// Activity timeouts and retries (`BOOKINGS_ACTIVITY_POLICIES`, a JSON file whose entries
    /// replace the defaults they name).
    pub activity_policies: PolicyTable,
    /// Pollers, task slots and sticky cache (`BOOKINGS_WORKER_*`; unset: the SDK's defaults).
    pub tuning: tuning::WorkerTuning,
    /// History length past which a booking continues as new
    /// (`BOOKINGS_BOOKING_HISTORY_LIMIT`, default 4,000 events; at least 200).
    pub history_limit: u32,
    /// Seats of an open house (`BOOKINGS_OPEN_HOUSE_CAPACITY`, default 20).
    pub open_house_capacity: u32,
}

impl WorkerConfig {
    pub fn from_env() -> Result<Self, WorkerError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads every setting through `lookup` (the command line's flags and environment, see
    /// [`cli`]; or a test's map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, WorkerError> {
        let follow_up = match lookup("BOOKINGS_FOLLOW_UP_POLICY") {
            Some(path) => read_follow_up_policy(Path::new(&path))?,
            None => FollowUpPolicy::default(),
        };
        let activity_policies = match lookup("BOOKINGS_ACTIVITY_POLICIES") {
            Some(path) => read_activity_policies(Path::new(&path))?,
            None => PolicyTable::default(),
        };
        booking_activities::config::Mode::from_lookup(&lookup)?.warn_once_if_sandbox();
        Ok(Self {
            task_queue: lookup("BOOKINGS_TASK_QUEUE")
                .unwrap_or_else(|| DEFAULT_TASK_QUEUE.to_owned()),
            providers: ProvidersConfig::from_lookup(&lookup)?,
            follow_up,
            activity_policies,
            tuning: tuning::WorkerTuning::from_lookup(&lookup)?,
            history_limit: read_history_limit(lookup("BOOKINGS_BOOKING_HISTORY_LIMIT"))?,
            open_house_capacity: ledger::read_open_house_capacity(lookup(
                "BOOKINGS_OPEN_HOUSE_CAPACITY",
            ))?,
        })
    }

    /// Default settings with every provider in the sandbox at `sandbox_url`.
    pub fn for_sandbox(task_queue: &str, sandbox_url: &str) -> Result<Self, WorkerError> {
        Ok(Self {
            task_queue: task_queue.to_owned(),
            providers: ProvidersConfig::for_sandbox(sandbox_url)?,
            follow_up: FollowUpPolicy::default(),
            activity_policies: PolicyTable::default(),
            tuning: tuning::WorkerTuning::default(),
            history_limit: DEFAULT_HISTORY_LIMIT,
            open_house_capacity: ledger::DEFAULT_OPEN_HOUSE_CAPACITY,
        })
    }

    /// What bookings started on this worker read at their start.
    pub fn settings_source(&self) -> SettingsSource {
        SettingsSource {
            follow_up: self.follow_up.clone(),
            activities: self.activity_policies.clone(),
            default_calendar_id: self.providers.calendars.default_calendar.to_wire(),
            agent_calendars: self.providers.calendars.agent_wire_ids(),
            history_limit: self.history_limit,
        }
    }
}

/// The smallest history limit accepted: a booking's own first steps take about a hundred
/// events, and a run must get past them before it may continue as new.
pub const MIN_HISTORY_LIMIT: u32 = 200;

fn read_history_limit(raw: Option<String>) -> Result<u32, WorkerError> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(DEFAULT_HISTORY_LIMIT);
    };
    match raw.trim().parse::<u32>() {
        Ok(limit) if limit >= MIN_HISTORY_LIMIT => Ok(limit),
        _ => Err(WorkerError::Setting {
            var: "BOOKINGS_BOOKING_HISTORY_LIMIT",
            message: format!("{raw:?} is not a whole number of at least {MIN_HISTORY_LIMIT}"),
        }),
    }
}

fn read_json<T: serde::de::DeserializeOwned>(
    var: &'static str,
    path: &Path,
) -> Result<T, WorkerError> {
    let error = |message: String| WorkerError::SettingsFile {
        var,
        path: path.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| error(e.to_string()))
}

/// Reads and validates a follow-up policy file.
pub fn read_follow_up_policy(path: &Path) -> Result<FollowUpPolicy, WorkerError> {
    const VAR: &str = "BOOKINGS_FOLLOW_UP_POLICY";
    let policy: FollowUpPolicy = read_json(VAR, path)?;
    policy.validate().map_err(|e| WorkerError::SettingsFile {
        var: VAR,
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    Ok(policy)
}

/// Reads an activity policy file and lays it over the defaults.
pub fn read_activity_policies(path: &Path) -> Result<PolicyTable, WorkerError> {
    const VAR: &str = "BOOKINGS_ACTIVITY_POLICIES";
    let overrides: PolicyTable = read_json(VAR, path)?;
    PolicyTable::default()
        .with_overrides(overrides)
        .map_err(|message| WorkerError::SettingsFile {
            var: VAR,
            path: path.to_owned(),
            message,
        })
}

/// A worker with every booking workflow and activity registered.
pub fn build_worker(
    runtime: &Runtime,
    client: Client,
    config: &WorkerConfig,
) -> Result<Worker, WorkerError> {
    let activities = BookingActivities::new(config.providers.clone())?;
    let reconcile_activities = booking_activities::reconcile::ReconcileActivities::new(
        activities.calendar().clone(),
        config.providers.calendars.all(),
        std::sync::Arc::new(reconcile::TemporalDirectory::new(
            client.clone(),
            &config.task_queue,
        )),
    );
    let source_activities = booking_activities::sources::SourceActivities::new(&config.providers)?;
    let ledger_calls = ledger::LedgerCalls::new(
        client.clone(),
        &config.task_queue,
        config.open_house_capacity,
    );
    let mut options = WorkerOptions::new(config.task_queue.clone())
        .register_workflow::<BookingWorkflow>()
        .map_err(|e| WorkerError::Build(e.to_string()))?
        .register_workflow::<booking_workflows::dead_letter::DeadLetterWorkflow>()
        .map_err(|e| WorkerError::Build(e.to_string()))?
        .register_activities(activities)
        .register_activities(config.settings_source())
        .register_workflow::<booking_workflows::ledger::SlotLedgerWorkflow>()
        .map_err(|e| WorkerError::Build(e.to_string()))?
        .register_activities(ledger_calls)
        .register_workflow::<booking_workflows::reconcile::ReconcileWorkflow>()
        .map_err(|e| WorkerError::Build(e.to_string()))?
        .register_activities(reconcile_activities)
        .register_workflow::<booking_workflows::feeds::FeedPollWorkflow>()
        .map_err(|e| WorkerError::Build(e.to_string()))?
        .register_activities(source_activities)
        .build();
    config.tuning.apply(&mut options);
    Worker::new(runtime, client, options).map_err(|e| WorkerError::Build(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_limit_defaults_and_refuses_what_would_loop() {
        assert_eq!(read_history_limit(None).unwrap(), DEFAULT_HISTORY_LIMIT);
        assert_eq!(
            read_history_limit(Some(" ".into())).unwrap(),
            DEFAULT_HISTORY_LIMIT
        );
        assert_eq!(read_history_limit(Some("2500".into())).unwrap(), 2_500);
        for bad in ["199", "-1", "lots"] {
            let error = read_history_limit(Some(bad.into()))
                .unwrap_err()
                .to_string();
            assert!(
                error.starts_with("BOOKINGS_BOOKING_HISTORY_LIMIT:"),
                "{bad}: {error}"
            );
        }
    }
}
