//! What reconciliation reads from Calendly: every scheduled event starting in a window, with
//! every invitee of each, canceled ones and reschedule links included.
//!
//! Calendly has no "updated since" filter, so the window is over start times; events of
//! both statuses are listed because a cancellation is a change too.

use futures::{StreamExt, TryStreamExt};

use super::{
    client::{CalendlyClient, EventWindow},
    model::{Invitee, ScheduledEvent},
};
use crate::{
    error::ProviderError,
    inputs::{InviteeSummary, ListScheduledChangesInput, ScheduledChanges, ScheduledEventSummary},
};

/// Invitee listings in flight at once (one per event).
const INVITEE_CONCURRENCY: usize = 4;

impl From<Invitee> for InviteeSummary {
    fn from(i: Invitee) -> Self {
        let uuid = i.uuid().to_owned();
        let (canceled_by, cancel_reason) = match i.cancellation {
            Some(c) => (c.canceled_by, c.reason),
            None => (None, None),
        };
        let answers = i
            .questions_and_answers
            .into_iter()
            .map(|qa| (qa.question, qa.answer))
            .collect();
        Self {
            phone: i.text_reminder_number.unwrap_or_default(),
            answers,
            uri: i.uri,
            uuid,
            email: i.email,
            name: i.name,
            status: i.status,
            rescheduled: i.rescheduled,
            old_invitee: i.old_invitee,
            new_invitee: i.new_invitee,
            timezone: i.timezone,
            canceled_by,
            cancel_reason,
        }
    }
}

fn summary(event: ScheduledEvent, invitees: Vec<Invitee>) -> ScheduledEventSummary {
    ScheduledEventSummary {
        uuid: event.uuid().to_owned(),
        property_id: event.property_id(),
        agent_id: event.agent_id(),
        uri: event.uri,
        status: event.status,
        start: event.start_time,
        end: event.end_time,
        invitees: invitees.into_iter().map(InviteeSummary::from).collect(),
    }
}

impl CalendlyClient {
    /// Every event starting in `[window_start, window_end)`, active or canceled, each with
    /// all its invitees; in ascending start time.
    pub async fn list_scheduled_changes(
        &self,
        input: &ListScheduledChangesInput,
    ) -> Result<ScheduledChanges, ProviderError> {
        let events = self
            .scheduled_events(&EventWindow {
                min_start_time: input.window_start,
                max_start_time: input.window_end,
                status: None,
            })
            .await?;
        let events = futures::stream::iter(events)
            .map(|event| async move {
                let invitees = self.invitees(event.uuid()).await?;
                Ok::<_, ProviderError>(summary(event, invitees))
            })
            .buffered(INVITEE_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(ScheduledChanges { events })
    }
}
