//! Calendly v2 (the scheduler): read-only client for reconciliation.
//!
//! Webhooks bring changes as they happen; this client is how the hourly reconciliation
//! finds what webhooks missed. It reads `GET /users/me` (once per client, for the listing
//! scope), `GET /scheduled_events` in a start-time window (Calendly has no "updated since"
//! filter) and each event's invitees, following `next_page_token` to the end under a
//! page-count guard.
//!
//! - [`model`]: the resources as far as we read them, and the checks a 2xx body must pass
//!   (malformed or inconsistent bodies are [`ProviderError::BadResponse`], retryable).
//! - [`classify`]: non-2xx answers; 401/403 `AuthRejected`, 404 `NotFound`, 429
//!   `RateLimited` with Calendly's delay, 5xx `Unavailable` (the shared mapping).
//! - [`client`]: [`CalendlyClient`]; every request goes through [`crate::http::Http::send`],
//!   so it is logged and redacted like every other provider call.
//! - [`booking`]: how an invitee maps to a booking (id, event ids, request), shared with the
//!   webhook shim.
//! - [`changes`]: the `list_scheduled_changes` activity's body.
//!
//! [`ProviderError::BadResponse`]: crate::error::ProviderError::BadResponse

pub mod booking;
pub mod changes;
pub mod classify;
pub mod client;
pub mod model;

pub use client::{CalendlyClient, DEFAULT_MAX_PAGES, DEFAULT_PAGE_SIZE, EventWindow, ListScope};
pub use model::{
    CalendlyStatus, Cancellation, CurrentUser, EventLocation, Invitee, QuestionAndAnswer,
    ScheduledEvent,
};
