//! The one table of activity timeouts and retry policies.
//!
//! Workflows never spell out a timeout or a retry count: they ask this table for an activity's
//! options. The table is data (serde), so an operator can tune it without touching code, and no
//! hand-written retry loop exists anywhere in the project: Temporal retries, following this.

use std::{collections::BTreeMap, time::Duration};

use serde::{Deserialize, Serialize};
use temporalio_common::RetryPolicy;
use temporalio_sdk::ActivityOptions;

/// Failure types that no retry can fix (see [`crate::error::ProviderError::type_name`]).
pub const FATAL_PROVIDER_ERRORS: &[&str] = &[
    "ProviderRejected",
    "ProviderNotFound",
    "ProviderAuthRejected",
    "GrantRevoked",
];

/// How long one activity may run and how Temporal retries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityPolicy {
    /// Longest single attempt.
    #[serde(with = "seconds")]
    pub start_to_close: Duration,
    #[serde(with = "seconds")]
    pub initial_interval: Duration,
    pub backoff_coefficient: f64,
    #[serde(with = "seconds")]
    pub maximum_interval: Duration,
    /// Attempts before the step is handed to an operator; 0 would mean unlimited, which a
    /// booking never wants (a stuck step must become visible).
    pub maximum_attempts: u32,
    pub non_retryable_error_types: Vec<String>,
}

impl ActivityPolicy {
    /// A provider call: quick attempts, exponential backoff capped at a minute, and about ten
    /// minutes of trying before an operator hears of it.
    pub fn provider_call() -> Self {
        Self {
            start_to_close: Duration::from_secs(30),
            initial_interval: Duration::from_secs(1),
            backoff_coefficient: 2.0,
            maximum_interval: Duration::from_secs(60),
            maximum_attempts: 15,
            non_retryable_error_types: FATAL_PROVIDER_ERRORS
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }

    /// A paged listing (reconciliation): like [`Self::provider_call`], but one attempt may
    /// follow many pages, so it gets two minutes instead of thirty seconds.
    pub fn provider_listing() -> Self {
        Self {
            start_to_close: Duration::from_secs(120),
            ..Self::provider_call()
        }
    }

    /// Temporal options for one call of this activity; `summary` is what the UI timeline shows.
    pub fn options(&self, summary: impl Into<String>) -> ActivityOptions {
        ActivityOptions::with_start_to_close_timeout(self.start_to_close)
            .retry_policy(
                RetryPolicy::builder()
                    .initial_interval(self.initial_interval)
                    .backoff_coefficient(self.backoff_coefficient)
                    .maximum_interval(self.maximum_interval)
                    .maximum_attempts(self.maximum_attempts)
                    .non_retryable_error_types(self.non_retryable_error_types.clone())
                    .build(),
            )
            .summary(summary.into())
            .build()
    }
}

/// Activity name -> policy. Names are the activities' registered names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PolicyTable(BTreeMap<String, ActivityPolicy>);

impl Default for PolicyTable {
    fn default() -> Self {
        Self(
            activity::ALL
                .iter()
                .map(|name| {
                    let policy = match *name {
                        activity::LIST_SCHEDULED_CHANGES
                        | activity::LIST_CALENDAR_CHANGES
                        | activity::BOOKING_VIEWS
                        | activity::LIST_ACUITY_APPOINTMENTS
                        | activity::FETCH_FEED => ActivityPolicy::provider_listing(),
                        _ => ActivityPolicy::provider_call(),
                    };
                    ((*name).to_owned(), policy)
                })
                .collect(),
        )
    }
}

impl PolicyTable {
    /// This table with `overrides` replacing the entries they name. An override naming an
    /// activity that does not exist is refused: a typo must not silently leave the default.
    pub fn with_overrides(mut self, overrides: PolicyTable) -> Result<Self, String> {
        for (name, policy) in overrides.0 {
            if !activity::ALL.contains(&name.as_str()) {
                return Err(format!(
                    "no activity named {name:?}; known: {}",
                    activity::ALL.join(", ")
                ));
            }
            if policy.start_to_close.is_zero() || policy.maximum_attempts == 0 {
                return Err(format!(
                    "{name}: start_to_close and maximum_attempts must be positive"
                ));
            }
            self.0.insert(name, policy);
        }
        Ok(self)
    }

    /// The policy of `activity`; an activity missing from the table gets the provider-call
    /// default rather than no policy at all.
    pub fn get(&self, activity: &str) -> ActivityPolicy {
        self.0
            .get(activity)
            .cloned()
            .unwrap_or_else(ActivityPolicy::provider_call)
    }
}

/// Registered activity names, shared by the table and the workflows.
pub mod activity {
    pub const SEND_EMAIL: &str = "send_email";
    pub const SEND_SMS: &str = "send_sms";
    pub const ENSURE_CALENDAR_EVENT: &str = "ensure_calendar_event";
    pub const MOVE_CALENDAR_EVENT: &str = "move_calendar_event";
    pub const DELETE_CALENDAR_EVENT: &str = "delete_calendar_event";
    pub const CHECK_FREE_BUSY: &str = "check_free_busy";
    pub const UPSERT_CRM_CONTACT: &str = "upsert_crm_contact";
    pub const UPDATE_CRM_STAGE: &str = "update_crm_stage";
    pub const CREATE_CRM_TASK: &str = "create_crm_task";
    pub const LIST_SCHEDULED_CHANGES: &str = "list_scheduled_changes";
    pub const LIST_CALENDAR_CHANGES: &str = "list_calendar_changes";
    pub const BOOKING_VIEWS: &str = "booking_views";
    pub const APPLY_BOOKING_COMMAND: &str = "apply_booking_command";
    pub const KEEP_CALENDAR_POSITIONS: &str = "keep_calendar_positions";
    pub const KEEP_FEED_STATE: &str = "keep_feed_state";
    pub const LIST_ACUITY_APPOINTMENTS: &str = "list_acuity_appointments";
    pub const FETCH_FEED: &str = "fetch_feed";

    /// Every registered activity (each has an entry in the default table).
    pub const ALL: &[&str] = &[
        SEND_EMAIL,
        SEND_SMS,
        ENSURE_CALENDAR_EVENT,
        MOVE_CALENDAR_EVENT,
        DELETE_CALENDAR_EVENT,
        CHECK_FREE_BUSY,
        UPSERT_CRM_CONTACT,
        UPDATE_CRM_STAGE,
        CREATE_CRM_TASK,
        LIST_SCHEDULED_CHANGES,
        LIST_CALENDAR_CHANGES,
        BOOKING_VIEWS,
        APPLY_BOOKING_COMMAND,
        KEEP_CALENDAR_POSITIONS,
        KEEP_FEED_STATE,
        LIST_ACUITY_APPOINTMENTS,
        FETCH_FEED,
    ];
}

mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_calls_never_retry_what_cannot_succeed() {
        let policy = PolicyTable::default().get(activity::SEND_EMAIL);
        assert!(policy.maximum_attempts > 1);
        assert!(
            policy
                .non_retryable_error_types
                .contains(&"ProviderRejected".to_owned())
        );
    }

    #[test]
    fn texts_retry_like_emails() {
        let table = PolicyTable::default();
        assert_eq!(
            table.get(activity::SEND_SMS),
            table.get(activity::SEND_EMAIL)
        );
        let json = serde_json::to_value(&table).unwrap();
        assert!(json.get("send_sms").is_some());
    }

    #[test]
    fn every_activity_has_an_entry() {
        let json = serde_json::to_value(PolicyTable::default()).unwrap();
        for name in activity::ALL {
            assert!(json.get(*name).is_some(), "{name}");
        }
    }

    #[test]
    fn overrides_replace_named_entries_and_refuse_unknown_names() {
        let mut fast = ActivityPolicy::provider_call();
        fast.maximum_attempts = 2;
        let overrides = PolicyTable(BTreeMap::from([(
            activity::SEND_EMAIL.into(),
            fast.clone(),
        )]));
        let table = PolicyTable::default().with_overrides(overrides).unwrap();
        assert_eq!(table.get(activity::SEND_EMAIL), fast);
        let typo = PolicyTable(BTreeMap::from([("send_emial".into(), fast)]));
        let err = PolicyTable::default().with_overrides(typo).unwrap_err();
        assert!(err.contains("send_emial"), "{err}");
    }

    #[test]
    fn listings_get_more_time_per_attempt_than_single_calls() {
        let table = PolicyTable::default();
        let listing = table.get(activity::LIST_SCHEDULED_CHANGES);
        assert!(listing.start_to_close > table.get(activity::SEND_EMAIL).start_to_close);
        assert_eq!(
            listing.non_retryable_error_types,
            ActivityPolicy::provider_call().non_retryable_error_types
        );
    }

    #[test]
    fn the_table_round_trips_as_readable_data() {
        let json = serde_json::to_value(PolicyTable::default()).unwrap();
        assert_eq!(json["send_email"]["start_to_close"], 30.0);
        let back: PolicyTable = serde_json::from_value(json).unwrap();
        assert_eq!(back, PolicyTable::default());
    }
}
