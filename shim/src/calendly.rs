//! Calendly deliveries: parsing a verified body into typed facts, and deciding which booking it
//! belongs to.
//!
//! # Booking ids and reschedule chains
//!
//! A booking is keyed by the Calendly invitee that **started** its chain: booking id
//! `cal-<root invitee uuid>`. Calendly has no reschedule event; a reschedule is a cancel of the
//! old invitee (`rescheduled: true`, `new_invitee` set) and a create of a new invitee
//! (`old_invitee` set), in either order, and a chain A → B → C repeats that. Every invitee of the
//! chain must land on booking `cal-A`.
//!
//! The root is found by following `old_invitee` links back through the Calendly API
//! (`GET /scheduled_events/{event}/invitees/{invitee}`), which is the source of truth and
//! strongly consistent: no dependence on Temporal's eventually consistent visibility, and no
//! extra workflow per invitee. A chain of n reschedules costs at most n reads, and chains are
//! short (a lead moves a tour a handful of times); the walk is capped at [`MAX_CHAIN`] hops so
//! a corrupt loop becomes a dead letter rather than a hang. When Calendly cannot be reached the
//! delivery is answered 503 and Calendly redelivers it later.
//!
//! Both halves of a reschedule send the **same** `reschedule` signal: event id
//! `<new invitee uri>#created`, the new invitee's window and URI (the cancel half reads them
//! from the API). Whichever half arrives first moves the booking; the other is a duplicate
//! the workflow ignores, so the order does not matter and the cancel half never cancels.
//! Before sending it the shim checks that the new invitee is still active: a late redelivery of
//! an old reschedule (B after the chain moved on to C) must not move the tour back.
//!
//! Every signal is sent with signal-with-start from the delivery's own facts, so a cancel or a
//! reschedule that overtakes the creation it follows still lands on one booking, and the late
//! creation is then a no-op (conflict policy "use existing").
//!
//! The module: [`delivery`] parses a verified body, [`chain`] follows reschedule chains, and
//! [`decision`] decides what a delivery does to its booking.

pub mod chain;
pub mod decision;
pub mod delivery;

pub use chain::{ChainError, Chains, LiveInvitee, MAX_CHAIN};
pub use decision::{Outcome, ProcessError, process};
pub use delivery::{
    CalendlyDelivery, Envelope as CalendlyWebhook, InviteeFacts, InviteeRef, Unprocessable,
    event_id, parse,
};

#[cfg(test)]
mod tests;
