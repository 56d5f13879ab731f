//! What a booking takes from its worker's configuration: the follow-up cadence, the activity
//! retry table and the agent's calendar.
//!
//! A booking reads them once, at its start, through a local activity. The answer is recorded
//! in the booking's history, so a replay sees exactly what the original run saw, and retuning a
//! worker (a new cadence, a longer timeout) changes new bookings without touching the running
//! ones. This module does no I/O: the worker builds a [`SettingsSource`] from its files and
//! environment, and the activity only hands out what it was built with.

use std::{collections::BTreeMap, sync::Arc};

use booking_activities::policy::PolicyTable;
use serde::{Deserialize, Serialize};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

use crate::lifecycle::FollowUpPolicy;

/// Registered name of the settings local activity.
pub const BOOKING_SETTINGS: &str = "booking_settings";

/// Everything a booking needs from configuration, as recorded in its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingSettings {
    pub follow_up: FollowUpPolicy,
    pub activities: PolicyTable,
    /// The calendar this booking's events go in (its agent's), in the wire form of
    /// `booking_activities::calendar::CalendarRef`: a bare Google calendar id or
    /// `microsoft:<userId>`. The workflow passes it through without reading it.
    pub calendar_id: String,
    /// History length past which a run hands the booking to a fresh run (continue-as-new).
    /// Recorded with the rest, so a replay decides exactly as the original run did; histories
    /// from before the field read the default.
    #[serde(default = "default_history_limit")]
    pub history_limit: u32,
}

/// Events a booking's run may reach before it continues as new. A booking's whole life is a
/// few hundred events; this leaves room for any honest burst of signals while staying far
/// below Temporal's limits (10,000 signals and 51,200 events per run).
pub const DEFAULT_HISTORY_LIMIT: u32 = 4_000;

fn default_history_limit() -> u32 {
    DEFAULT_HISTORY_LIMIT
}

/// The worker's configuration, handed to bookings through [`SettingsSource::booking_settings`].
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsSource {
    pub follow_up: FollowUpPolicy,
    pub activities: PolicyTable,
    pub default_calendar_id: String,
    /// Agent id -> calendar (wire form), for agents whose calendar is not the default one.
    pub agent_calendars: BTreeMap<String, String>,
    /// See [`BookingSettings::history_limit`].
    pub history_limit: u32,
}

impl SettingsSource {
    pub fn settings_for(&self, agent_id: &str) -> BookingSettings {
        BookingSettings {
            follow_up: self.follow_up.clone(),
            activities: self.activities.clone(),
            calendar_id: self
                .agent_calendars
                .get(agent_id)
                .unwrap_or(&self.default_calendar_id)
                .clone(),
            history_limit: self.history_limit,
        }
    }
}

#[activities]
impl SettingsSource {
    /// The settings of a booking for `agent_id`'s calendar.
    #[activity(name = BOOKING_SETTINGS)]
    pub async fn booking_settings(
        self: Arc<Self>,
        _ctx: ActivityContext,
        agent_id: String,
    ) -> Result<BookingSettings, ActivityError> {
        Ok(self.settings_for(&agent_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_get_their_own_calendar_or_the_default() {
        let source = SettingsSource {
            follow_up: FollowUpPolicy::default(),
            activities: PolicyTable::default(),
            default_calendar_id: "primary".into(),
            agent_calendars: BTreeMap::from([("alex".into(), "alex@agency.test".into())]),
            history_limit: DEFAULT_HISTORY_LIMIT,
        };
        assert_eq!(source.settings_for("alex").calendar_id, "alex@agency.test");
        assert_eq!(source.settings_for("sam").calendar_id, "primary");
    }
}
