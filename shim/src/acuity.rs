//! Acuity Scheduling deliveries: verifying a webhook, parsing its form, and deciding what it
//! does to its booking.
//!
//! # One booking per appointment, whatever the order
//!
//! Acuity's webhook says only *that* something happened to an appointment
//! (`action=appointment.scheduled|rescheduled|canceled|changed&id=..`); the shim reads the
//! appointment itself (`GET /api/v1/appointments/{id}`) and acts on what Acuity holds **now**,
//! never on the action alone. The booking is `acuity-<id>` for the appointment's whole life
//! (Acuity keeps the id across reschedules), so:
//!
//! - a canceled appointment cancels its booking (`acuity:<id>:canceled`), starting it first
//!   from the appointment if no delivery started it yet;
//! - `scheduled` starts the booking (a running one is reused);
//! - `rescheduled` and `changed` move the booking to the appointment's current time with event
//!   id `acuity:<id>:at:<start>` (a move to the time it already has changes nothing), starting
//!   it first if needed.
//!
//! A duplicate is a duplicate event id; a late `scheduled` after a move reads the moved
//! appointment and reuses the booking; a late `rescheduled` after a cancel reads the canceled
//! appointment and is a duplicate cancel. Acuity carries no version number, so a move back to
//! a time the booking held before a different move (A → B → A → B) reuses an event id the
//! booking has seen: the hourly reconciliation notices the difference and moves it with an
//! event id naming both times.
//!
//! When Acuity cannot be read (a timeout, 5xx, 429), the delivery is answered 503 with
//! `Retry-After` and Acuity sends it again; when the appointment does not exist or our
//! credentials are refused, the delivery is kept as a dead letter an operator can replay.

pub mod decision;
pub mod delivery;
pub mod signature;

pub use decision::{Outcome, ProcessError, process};
pub use delivery::{AcuityAction, AcuityDelivery, AcuityForm};
pub use signature::{SIGNATURE_HEADER, verify};
