//! The booking engine's wire contract.
//!
//! Types in [`v1`] are generated from `proto/booking/v1/booking.proto` by prost, with serde
//! implementations from pbjson: Temporal's default payload converter stores them as canonical
//! proto3 JSON, which is what an operator reads in the Web UI and `temporal workflow show`.
//!
//! [`domain`] holds the parse-don't-validate values (ids, emails, tour windows) that every
//! boundary turns wire data into before anything else looks at it.

mod checked_text;
pub mod domain;
pub mod phone;
pub mod time;
pub mod twilio_signature;

/// Generated messages of package `booking.v1`.
#[allow(clippy::all, missing_docs)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/booking.v1.rs"));
    include!(concat!(env!("OUT_DIR"), "/booking.v1.serde.rs"));
}
