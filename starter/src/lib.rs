//! The operator side of the booking engine: the `bookings` CLI's building blocks.
//!
//! - [`dev_server`]: launches the Temporal CLI dev server with our search attributes.
//! - [`supervisor`]: `bookings up`, the whole local system as child processes.
//! - [`booking_client`]: start, signal and inspect booking workflows.
//! - [`operator`]: find, list, show, the dead-letter worklist, retry and skip.
//! - [`schedule`]: the hourly reconciliation schedule.
//! - [`demo`]: the demo booking `bookings demo` and `bookings up` start.

pub mod booking_client;
pub mod demo;
pub mod dev_server;
pub mod feeds;
pub mod operator;
pub mod schedule;
pub mod supervisor;
