//! Worker capacity as configuration: pollers, concurrent task slots and the sticky cache, read
//! from `BOOKINGS_WORKER_*` variables. Unset variables keep the SDK's defaults, which suit a
//! worker of this project (short activities that mostly wait on HTTP) on a small machine.

use temporalio_sdk::WorkerOptions;
use temporalio_sdk::runtime::PollerBehavior;
use temporalio_sdk::runtime::worker_tuner::{FixedSizeSlotSupplier, TunerHolder};

/// Sized from `scripts/bench` (README, Performance): a cached booking holds about 0.3 MB, and
/// 250 covers the bookings a 2-core deployment has *active* at once (its first steps in flight),
/// while idle bookings, which wake every few hours, are replayed instead of held. The SDK's own
/// default is 1000.
pub const DEFAULT_MAX_CACHED_WORKFLOWS: usize = 250;
/// The SDK's default, restated so the README and `--help` can name it.
pub const DEFAULT_TASK_SLOTS: usize = 100;

/// How much work one worker process takes on at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerTuning {
    /// `BOOKINGS_WORKER_MAX_CACHED_WORKFLOWS` (250): workflows kept in memory between tasks
    /// (the sticky cache). 0 disables sticky execution: every task replays the full history.
    pub max_cached_workflows: usize,
    /// `BOOKINGS_WORKER_WORKFLOW_SLOTS` (100): workflow tasks processed at once.
    pub workflow_slots: usize,
    /// `BOOKINGS_WORKER_ACTIVITY_SLOTS` (100): activities run at once.
    pub activity_slots: usize,
    /// `BOOKINGS_WORKER_LOCAL_ACTIVITY_SLOTS` (100): local activities run at once.
    pub local_activity_slots: usize,
    /// `BOOKINGS_WORKER_WORKFLOW_POLLERS`: at most this many workflow-task polls open at once
    /// (at least 2 while the sticky cache is on). Unset: the SDK's 5, which may switch to
    /// server-driven autoscaling where the namespace offers it.
    pub workflow_pollers: Option<usize>,
    /// `BOOKINGS_WORKER_ACTIVITY_POLLERS`: the same for activity tasks. Unset: the SDK's 5.
    pub activity_pollers: Option<usize>,
}

impl Default for WorkerTuning {
    fn default() -> Self {
        Self {
            max_cached_workflows: DEFAULT_MAX_CACHED_WORKFLOWS,
            workflow_slots: DEFAULT_TASK_SLOTS,
            activity_slots: DEFAULT_TASK_SLOTS,
            local_activity_slots: DEFAULT_TASK_SLOTS,
            workflow_pollers: None,
            activity_pollers: None,
        }
    }
}

/// A tuning variable with a value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {message}")]
pub struct TuningError {
    pub var: &'static str,
    pub message: String,
}

impl WorkerTuning {
    pub fn from_env() -> Result<Self, TuningError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, TuningError> {
        let number = |var: &'static str, minimum: usize| -> Result<Option<usize>, TuningError> {
            let Some(raw) = lookup(var).filter(|v| !v.trim().is_empty()) else {
                return Ok(None);
            };
            let value: usize = raw.trim().parse().map_err(|_| TuningError {
                var,
                message: format!("{raw:?} is not a whole number"),
            })?;
            if value < minimum {
                return Err(TuningError {
                    var,
                    message: format!("must be at least {minimum}"),
                });
            }
            Ok(Some(value))
        };
        let defaults = Self::default();
        let tuning = Self {
            max_cached_workflows: number("BOOKINGS_WORKER_MAX_CACHED_WORKFLOWS", 0)?
                .unwrap_or(defaults.max_cached_workflows),
            workflow_slots: number("BOOKINGS_WORKER_WORKFLOW_SLOTS", 1)?
                .unwrap_or(defaults.workflow_slots),
            activity_slots: number("BOOKINGS_WORKER_ACTIVITY_SLOTS", 1)?
                .unwrap_or(defaults.activity_slots),
            local_activity_slots: number("BOOKINGS_WORKER_LOCAL_ACTIVITY_SLOTS", 1)?
                .unwrap_or(defaults.local_activity_slots),
            workflow_pollers: number("BOOKINGS_WORKER_WORKFLOW_POLLERS", 1)?,
            activity_pollers: number("BOOKINGS_WORKER_ACTIVITY_POLLERS", 1)?,
        };
        if tuning.max_cached_workflows > 0 && tuning.workflow_pollers.is_some_and(|n| n < 2) {
            return Err(TuningError {
                var: "BOOKINGS_WORKER_WORKFLOW_POLLERS",
                message: "must be at least 2 while the sticky cache is on (one sticky and one \
                          normal poll); set BOOKINGS_WORKER_MAX_CACHED_WORKFLOWS=0 for 1"
                    .into(),
            });
        }
        Ok(tuning)
    }

    /// Applies the tuning to a worker's options.
    pub fn apply(&self, options: &mut WorkerOptions) {
        options.max_cached_workflows = self.max_cached_workflows;
        options.tuner = TunerHolder::builder()
            .workflow_task_slot_supplier(FixedSizeSlotSupplier::new(self.workflow_slots))
            .activity_task_slot_supplier(FixedSizeSlotSupplier::new(self.activity_slots))
            .local_activity_task_slot_supplier(FixedSizeSlotSupplier::new(
                self.local_activity_slots,
            ))
            .nexus_task_slot_supplier(FixedSizeSlotSupplier::new(DEFAULT_TASK_SLOTS))
            .build()
            .into();
        if let Some(n) = self.workflow_pollers {
            options.workflow_task_poller_behavior = Some(PollerBehavior::SimpleMaximum(n));
        }
        if let Some(n) = self.activity_pollers {
            options.activity_task_poller_behavior = Some(PollerBehavior::SimpleMaximum(n));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<WorkerTuning, TuningError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        WorkerTuning::from_lookup(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn unset_variables_keep_the_sdk_defaults_except_the_measured_cache_size() {
        assert_eq!(with(&[]).unwrap(), WorkerTuning::default());
        let mut options = WorkerOptions::new("q").build();
        assert_eq!(options.max_cached_workflows, 1000, "the SDK default moved");
        WorkerTuning::default().apply(&mut options);
        assert_eq!(options.max_cached_workflows, DEFAULT_MAX_CACHED_WORKFLOWS);
        assert!(options.workflow_task_poller_behavior.is_none());
    }

    #[test]
    fn every_setting_is_read_and_applied() {
        let tuning = with(&[
            ("BOOKINGS_WORKER_MAX_CACHED_WORKFLOWS", "50"),
            ("BOOKINGS_WORKER_WORKFLOW_SLOTS", "8"),
            ("BOOKINGS_WORKER_ACTIVITY_SLOTS", "16"),
            ("BOOKINGS_WORKER_LOCAL_ACTIVITY_SLOTS", "4"),
            ("BOOKINGS_WORKER_WORKFLOW_POLLERS", "3"),
            ("BOOKINGS_WORKER_ACTIVITY_POLLERS", "2"),
        ])
        .unwrap();
        assert_eq!(tuning.workflow_slots, 8);
        let mut options = WorkerOptions::new("q").build();
        tuning.apply(&mut options);
        assert_eq!(options.max_cached_workflows, 50);
        assert_eq!(
            options.workflow_task_poller_behavior,
            Some(PollerBehavior::SimpleMaximum(3))
        );
        assert_eq!(
            options.activity_task_poller_behavior,
            Some(PollerBehavior::SimpleMaximum(2))
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("BOOKINGS_WORKER_ACTIVITY_SLOTS", "0"),
            ("BOOKINGS_WORKER_WORKFLOW_SLOTS", "many"),
            ("BOOKINGS_WORKER_WORKFLOW_POLLERS", "1"),
        ] {
            assert_eq!(with(&[(var, value)]).unwrap_err().var, var);
        }
        // One workflow poller is fine once the sticky cache is off.
        let tuning = with(&[
            ("BOOKINGS_WORKER_WORKFLOW_POLLERS", "1"),
            ("BOOKINGS_WORKER_MAX_CACHED_WORKFLOWS", "0"),
        ])
        .unwrap();
        assert_eq!(tuning.workflow_pollers, Some(1));
    }
}
