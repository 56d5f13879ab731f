//! Activities of the booking engine: everything that talks to another system.
//!
//! Workflows call these by method path (`BookingActivities::send_email`), so a call site is
//! type-checked against the activity's input and output. Each provider client lives in its own
//! module; [`error`] is the one place that decides what is retryable; [`policy`] is the one
//! table of timeouts and retry policies workflows take their options from; [`token`] is the
//! only code that knows OAuth; [`http`] sends, times and logs every provider request, with
//! secrets masked by [`redact`].

pub mod acuity;
pub mod booking;
pub mod calendar;
pub mod config;
pub mod crm;
pub mod email;
pub mod error;
pub mod feeds;
pub mod http;
pub mod ical;
pub mod inputs;
pub mod policy;
pub mod reconcile;
pub mod redact;
pub mod scheduler;
pub mod secret;
pub mod sent_marker;
pub mod settings_cli;
pub mod sms;
pub mod sources;
pub mod token;

pub use booking::BookingActivities;
