//! Acuity Scheduling API v1: the appointment a webhook names, and the appointments of a window
//! for reconciliation.
//!
//! - [`model`]: an appointment as far as we read it, and the checks a 2xx body must pass
//!   (a malformed one is [`crate::error::ProviderError::BadResponse`], retryable).
//! - [`client`]: [`AcuityClient`], Basic auth (user id, API key), every request through
//!   [`crate::http::Http::send`], so logged and redacted like every other provider call.
//!   Non-2xx answers take the shared mapping: 401/403 `AuthRejected`, 404 `NotFound`, 429
//!   `RateLimited` (with `Retry-After` when sent), 5xx `Unavailable`, other 4xx `Rejected`.
//! - [`booking`]: how an appointment maps to a booking (id, event ids, request), shared by the
//!   shim, reconciliation and the tests.

pub mod booking;
pub mod client;
pub mod model;

pub use client::AcuityClient;
pub use model::Appointment;
