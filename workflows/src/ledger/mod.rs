//! The slot ledger: one long-running entity workflow per resource (`ledger-agent-<agent id>`
//! for an agent's calendar, `ledger-open-house-<id>` for an open house) that owns the truth
//! about who holds which slot, so two bookings can never both get the last one.
//!
//! Like the booking, it is a thin driver ([`SlotLedgerWorkflow`]) around a pure core
//! ([`Ledger`]): every decision is a plain function of the ledger's data, unit-tested without
//! Temporal.
//!
//! - Reservations are **updates** (`reserve`, `release`, `move`): a validator refuses malformed
//!   requests before anything reaches history, and the handler answers at once with
//!   confirmed, waitlisted (open houses only) or refused with alternatives. Handlers are
//!   synchronous, so Temporal applies them one after another: there is no interleaving in
//!   which two reservations both see the last seat free.
//! - `reserve` is idempotent per booking id: the same booking asking again gets the answer it
//!   already holds, never a second seat.
//! - A seat that comes free goes to the first waiting booking that fits, and the ledger
//!   **signals** that booking's workflow (`seat_granted`) rather than having bookings poll: one
//!   signal per promotion, sent in promotion order.
//! - The run continues as new, carrying its whole state, after a configurable number of
//!   accepted updates or when Temporal suggests it, whichever comes first.
//! - Query `availability`: capacity, seats left, waitlist length, every holding.

pub mod calls;
mod core;
mod workflow;

pub use core::{
    Availability, DEFAULT_CONTINUE_AS_NEW_AFTER, Holding, Ledger, LedgerConfig, MoveRequest,
    Promotion, ReleaseOutcome, ReleaseRequest, ReserveOutcome, ReserveRequest, ReserveStatus,
    ResourceKind, Window, ledger_workflow_id,
};
pub use workflow::{LedgerStart, SeatGranted, SlotLedgerWorkflow};
