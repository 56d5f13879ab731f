//! Inputs and outputs of the provider activities. Every input carries the booking id, so
//! logs, de-duplication keys and calendar event ids all derive from it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::scheduler::CalendlyStatus;

/// `ensure_calendar_event`: the booking is live and its event must exist as described.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsureCalendarEventInput {
    pub booking_id: String,
    pub calendar_id: String,
    pub summary: String,
    pub description: Option<String>,
    pub location: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    #[serde(default)]
    pub attendee_emails: Vec<String>,
}

/// `move_calendar_event`: the booking was rescheduled; its one event moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveCalendarEventInput {
    pub booking_id: String,
    pub calendar_id: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// `delete_calendar_event`: the booking was cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteCalendarEventInput {
    pub booking_id: String,
    pub calendar_id: String,
}

/// What a calendar activity did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendarOutcome {
    /// Inserted now.
    Created,
    /// Existed (an earlier attempt made it) and already matched.
    Unchanged,
    /// Existed and was patched to the wanted time/summary.
    Updated,
    /// Existed deleted (cancelled) and was brought back for a live booking.
    Restored,
    /// Moved to the new time.
    Moved,
    /// Deleted now.
    Deleted,
    /// Was already deleted or never existed (404/410): nothing left to do.
    AlreadyGone,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarEventOutput {
    pub booking_id: String,
    pub calendar_id: String,
    /// Deterministic: [`crate::calendar::event_id_for`] of the booking id.
    pub event_id: String,
    pub outcome: CalendarOutcome,
}

/// `check_free_busy`: is `[start, end)` free on the calendar?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckFreeBusyInput {
    pub booking_id: String,
    pub calendar_id: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusyRange {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeBusyOutput {
    pub booking_id: String,
    /// No busy range overlaps the window.
    pub free: bool,
    pub busy: Vec<BusyRange>,
}

impl FreeBusyOutput {
    /// The answer to `input` given the calendar's busy ranges: free when none overlaps the
    /// asked window. Every calendar adapter judges by this one rule, whatever shape its
    /// provider reports busy time in.
    pub fn judge(input: &CheckFreeBusyInput, busy: Vec<BusyRange>) -> Self {
        let free = !busy
            .iter()
            .any(|b| b.start < input.end && input.start < b.end);
        Self {
            booking_id: input.booking_id.clone(),
            free,
            busy,
        }
    }
}

/// `upsert_crm_contact`: create or update the lead's contact, keyed by email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpsertCrmContactInput {
    pub booking_id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    /// `booking_status` property (e.g. `PENDING_CONFIRMATION`).
    pub booking_status: Option<String>,
    pub tour_start: Option<DateTime<Utc>>,
    pub tour_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmContactOutput {
    pub booking_id: String,
    pub contact_id: String,
    /// HubSpot created it now (`new: true`).
    pub created: bool,
}

/// `update_crm_stage`: the booking moved to another state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateCrmStageInput {
    pub booking_id: String,
    /// The contact's email (HubSpot's `idProperty=email`), so no contact id must be kept.
    pub email: String,
    /// New `booking_status` (e.g. `CONFIRMED`, `CANCELLED`, `TOUR_COMPLETE`).
    pub booking_status: String,
    /// Optional HubSpot `lifecyclestage` (e.g. `opportunity`).
    pub lifecycle_stage: Option<String>,
    pub tour_start: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateCrmStageOutput {
    pub booking_id: String,
    pub contact_id: String,
}

/// `create_crm_task`: a to-do for a sales rep, at most once per `step`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateCrmTaskInput {
    pub booking_id: String,
    /// Stable key of this task within the booking (e.g. `call-unconfirmed`); with the
    /// booking id it forms the de-duplication key.
    pub step: String,
    /// Contact to associate (from `upsert_crm_contact`), if known.
    pub contact_id: Option<String>,
    pub subject: String,
    pub body: Option<String>,
    pub due_at: DateTime<Utc>,
    /// `CALL`, `EMAIL` or `TODO`.
    #[serde(default = "default_task_type")]
    pub task_type: String,
}

fn default_task_type() -> String {
    "CALL".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmTaskOutput {
    pub booking_id: String,
    pub task_id: String,
    /// False when an earlier attempt had already created it.
    pub created: bool,
}

/// `list_scheduled_changes`: what the scheduler (Calendly) holds for events starting in
/// `[window_start, window_end)`. Reconciliation compares this with the bookings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListScheduledChangesInput {
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
}

/// Every scheduled event of the window, active and canceled, in ascending start time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledChanges {
    pub events: Vec<ScheduledEventSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledEventSummary {
    pub uri: String,
    pub uuid: String,
    pub status: CalendlyStatus,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The property (event type), as the shim maps it; empty in histories recorded before.
    #[serde(default)]
    pub property_id: String,
    /// The agent (first host), as the shim maps it; empty in histories recorded before.
    #[serde(default)]
    pub agent_id: String,
    /// Every invitee, canceled ones included, oldest first.
    pub invitees: Vec<InviteeSummary>,
}

/// One invitee. A reschedule shows as a canceled invitee with `rescheduled: true` and
/// `new_invitee` set, plus an invitee on another event with `old_invitee` set; both links
/// are invitee URIs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteeSummary {
    pub uri: String,
    pub uuid: String,
    pub email: String,
    pub name: String,
    pub status: CalendlyStatus,
    pub rescheduled: bool,
    pub old_invitee: Option<String>,
    pub new_invitee: Option<String>,
    pub timezone: Option<String>,
    pub canceled_by: Option<String>,
    pub cancel_reason: Option<String>,
    /// Text-reminder phone number, empty when none was given.
    #[serde(default)]
    pub phone: String,
    /// The booking form's answers, question to answer.
    #[serde(default)]
    pub answers: std::collections::BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 6, hour, 0, 0).unwrap()
    }

    #[test]
    fn a_window_is_free_unless_a_busy_range_overlaps_it_and_touching_ends_do_not() {
        let input = CheckFreeBusyInput {
            booking_id: "b-1".into(),
            calendar_id: "primary".into(),
            start: at(11),
            end: at(12),
        };
        let range = |start, end| BusyRange {
            start: at(start),
            end: at(end),
        };
        let touching = vec![range(10, 11), range(12, 13)];
        let judged = FreeBusyOutput::judge(&input, touching.clone());
        assert!(judged.free);
        assert_eq!(judged.busy, touching, "the ranges are reported as found");
        assert_eq!(judged.booking_id, "b-1");
        assert!(!FreeBusyOutput::judge(&input, vec![range(10, 12)]).free);
        assert!(!FreeBusyOutput::judge(&input, vec![range(11, 12)]).free);
    }
}
