//! Every end-to-end test of the engine, in one test binary: each file was a binary of its own
//! and linked the whole Temporal SDK again (22 links of the same code). One module per
//! subject; run one with `cargo test -p booking-tests --test e2e <module>::`.

mod acuity;
mod calendly_edge_cases;
mod change_update;
mod cli_operator;
mod fail_closed;
mod failures;
mod first_booking;
mod history_bounds;
mod ical_feeds;
mod ledger_bookings;
mod ledger_capacity;
mod ledger_counter;
mod lifecycle_sequences;
mod microsoft_calendar;
mod reconcile_repairs;
mod replay;
mod replay_after_restart;
mod security_shim;
mod shim_answers;
mod shim_calendly;
mod shim_flood;
mod shim_limits;
mod sms;
mod topology_files;
mod workflow_cancellation;
