//! Deterministic workflow code of the booking engine.
//!
//! Nothing here performs I/O, reads a clock or draws a random number: time comes from the
//! workflow context, side effects are activities, and waiting is Temporal timers and
//! conditions. That is what lets Temporal replay a booking's history after a crash and arrive at
//! exactly the same state.
//!
//! - [`booking`]: the booking workflow, one per booking, alive from request to tour complete.
//! - [`search_attributes`]: what operators filter bookings on in the Temporal UI.
//! - [`detached`]: timers, activities and signals that leave no reference cycle when dropped
//!   unfinished.

pub mod booking;
pub mod connection;
pub mod dead_letter;
pub mod detached;
pub mod feeds;
pub mod ledger;
pub mod lifecycle;
pub mod reconcile;
pub mod search_attributes;
pub mod settings;

pub use booking::BookingWorkflow;
