//! The decision: what a verified, parsed Calendly delivery does to its booking, and the
//! hand-off that does it.

use booking_proto::{
    domain::BookingId,
    v1::{CancelSignal, RescheduleSignal},
};
use temporalio_client::Client;

use super::{CalendlyDelivery, ChainError, Chains, Unprocessable};
pub use crate::handoff::ProcessError;
use crate::handoff::{BookingSignal, Handoff};
pub use crate::outcome::Outcome;

impl From<Unprocessable> for ProcessError {
    fn from(e: Unprocessable) -> Self {
        ProcessError::Unprocessable(e.0)
    }
}

impl From<ChainError> for ProcessError {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::Unavailable(m) => ProcessError::Unavailable(m),
            ChainError::Broken(m) => ProcessError::Unprocessable(m),
        }
    }
}

/// Hands a parsed delivery to its booking, following the chain rule (see [`super`]): a
/// creation starts its booking, or reschedules the chain's booking; a cancel cancels it, or,
/// as the first half of a reschedule, sends the same reschedule the create half would.
pub async fn process(
    chains: &Chains,
    handoff: &Handoff,
    client: &Client,
    delivery: CalendlyDelivery,
    request_id: &str,
) -> Result<(BookingId, Outcome), ProcessError> {
    match delivery {
        CalendlyDelivery::Created(facts) => match &facts.old_invitee {
            None => {
                let booking = facts.invitee.booking_id()?;
                let valid =
                    facts.request(&booking, &facts.invitee.created_event_id(), request_id)?;
                let s = handoff.start_booking(client, &valid).await?;
                Ok((booking, Outcome::unless_closed(s, Outcome::Started)))
            }
            Some(_) => {
                let root = chains
                    .root(&facts.invitee, facts.old_invitee.as_ref())
                    .await?;
                let booking = root.booking_id()?;
                if !chains.invitee(&facts.invitee).await?.active {
                    return Ok((booking, Outcome::Superseded));
                }
                let event_id = facts.invitee.created_event_id();
                let valid = facts.request(&booking, &event_id, request_id)?;
                let signal = RescheduleSignal {
                    event_id,
                    tour: Some(facts.tour.to_proto()),
                    source_ref: facts.invitee.uri.clone(),
                };
                let s = handoff
                    .signal_with_start(client, &valid, BookingSignal::Reschedule(signal))
                    .await?;
                Ok((booking, Outcome::unless_closed(s, Outcome::Rescheduled)))
            }
        },
        CalendlyDelivery::Canceled {
            facts,
            rescheduled,
            rescheduled_to,
            reason,
            cancelled_by,
        } => {
            let root = chains
                .root(&facts.invitee, facts.old_invitee.as_ref())
                .await?;
            let booking = root.booking_id()?;
            if rescheduled {
                // The same booking moving, never a cancel: send the reschedule the create half
                // would send (same event id), so whichever half comes first moves it.
                let Some(new) = rescheduled_to else {
                    return Ok((booking, Outcome::AwaitingCreate));
                };
                if !chains.invitee(&new).await?.active {
                    return Ok((booking, Outcome::Superseded));
                }
                let tour = chains.tour(&new.event_uuid).await?;
                let event_id = new.created_event_id();
                let mut moved = facts.clone();
                moved.invitee = new.clone();
                moved.tour = tour;
                let valid = moved.request(&booking, &event_id, request_id)?;
                let signal = RescheduleSignal {
                    event_id,
                    tour: Some(tour.to_proto()),
                    source_ref: new.uri.clone(),
                };
                let s = handoff
                    .signal_with_start(client, &valid, BookingSignal::Reschedule(signal))
                    .await?;
                return Ok((booking, Outcome::unless_closed(s, Outcome::Rescheduled)));
            }
            let valid = facts.request(&booking, &facts.invitee.created_event_id(), request_id)?;
            let signal = CancelSignal {
                event_id: facts.invitee.canceled_event_id(),
                reason,
                cancelled_by,
            };
            let s = handoff
                .signal_with_start(client, &valid, BookingSignal::Cancel(signal))
                .await?;
            Ok((booking, Outcome::unless_closed(s, Outcome::Cancelled)))
        }
    }
}
