//! The calendar port: one booking, one event, on whichever provider holds the agent's
//! calendar.
//!
//! Calendar activities name the calendar as one string (see [`CalendarRef`]); [`Calendars`]
//! parses it and hands the call to the adapter of its provider: [`google`] (Calendar v3) or
//! [`microsoft`] (Graph v1.0). Both keep the same promises, so the workflow need not know
//! which it talks to:
//!
//! | operation | Google | Microsoft Graph |
//! |---|---|---|
//! | create | client-chosen event id ([`event_id_for`]); 409 `duplicate` → read and converge | lookup by the booking-id extended property, else POST with `transactionId` ([`microsoft::transaction_id_for`]) |
//! | move | PATCH the known id | lookup, PATCH; none found is `NotFound` (fatal) |
//! | delete | 404/410 count as done | none found, or 404 `ErrorItemNotFound`, counts as done |
//! | free/busy | `POST /freeBusy` | `POST /calendar/getSchedule` |
//! | changes (reconciliation) | `updatedMin` + `showDeleted` listing | `calendarView/delta` rounds, position kept by the reconcile run |

pub mod google;
pub mod microsoft;
mod reference;

pub use google::{GoogleCalendar, event_id_for};
pub use microsoft::GraphCalendar;
pub use reference::{CalendarRef, CalendarRefError};

use crate::{
    error::{Provider, ProviderError},
    inputs::{
        CalendarEventOutput, CheckFreeBusyInput, DeleteCalendarEventInput,
        EnsureCalendarEventInput, FreeBusyOutput, MoveCalendarEventInput,
    },
};

/// Both adapters, chosen per call by the calendar's provider.
#[derive(Debug, Clone)]
pub struct Calendars {
    google: GoogleCalendar,
    microsoft: GraphCalendar,
}

impl Calendars {
    pub fn new(google: GoogleCalendar, microsoft: GraphCalendar) -> Self {
        Self { google, microsoft }
    }

    pub fn google(&self) -> &GoogleCalendar {
        &self.google
    }

    pub fn microsoft(&self) -> &GraphCalendar {
        &self.microsoft
    }

    /// The calendar an activity input names; a malformed one is fatal (the same string fails
    /// on every attempt).
    fn route(calendar_id: &str) -> Result<CalendarRef, ProviderError> {
        CalendarRef::from_wire(calendar_id).map_err(|e| ProviderError::Rejected {
            provider: match calendar_id.split_once(':') {
                Some(("microsoft", _)) => Provider::MicrosoftGraph,
                _ => Provider::GoogleCalendar,
            },
            status: 0,
            body: e.to_string(),
        })
    }

    pub async fn ensure_event(
        &self,
        input: &EnsureCalendarEventInput,
    ) -> Result<CalendarEventOutput, ProviderError> {
        match Self::route(&input.calendar_id)? {
            CalendarRef::Google(id) => self.google.ensure_event(&id, input).await,
            CalendarRef::Microsoft(user) => self.microsoft.ensure_event(&user, input).await,
        }
    }

    pub async fn move_event(
        &self,
        input: &MoveCalendarEventInput,
    ) -> Result<CalendarEventOutput, ProviderError> {
        match Self::route(&input.calendar_id)? {
            CalendarRef::Google(id) => self.google.move_event(&id, input).await,
            CalendarRef::Microsoft(user) => self.microsoft.move_event(&user, input).await,
        }
    }

    pub async fn delete_event(
        &self,
        input: &DeleteCalendarEventInput,
    ) -> Result<CalendarEventOutput, ProviderError> {
        match Self::route(&input.calendar_id)? {
            CalendarRef::Google(id) => self.google.delete_event(&id, input).await,
            CalendarRef::Microsoft(user) => self.microsoft.delete_event(&user, input).await,
        }
    }

    pub async fn free_busy(
        &self,
        input: &CheckFreeBusyInput,
    ) -> Result<FreeBusyOutput, ProviderError> {
        match Self::route(&input.calendar_id)? {
            CalendarRef::Google(id) => self.google.free_busy(&id, input).await,
            CalendarRef::Microsoft(user) => self.microsoft.free_busy(&user, input).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_calendar_is_refused_for_good() {
        let err = Calendars::route("microsoft:").unwrap_err();
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("Microsoft Graph"), "{err}");
        assert_eq!(
            Calendars::route("primary").unwrap(),
            CalendarRef::Google("primary".into())
        );
    }
}
