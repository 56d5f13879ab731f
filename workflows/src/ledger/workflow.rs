//! [`SlotLedgerWorkflow`]: the Temporal driver around the pure [`Ledger`].

use serde::{Deserialize, Serialize};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ContinueAsNewOptions, SignalWorkflowOptions, SyncWorkflowContext, WorkflowContext,
    WorkflowContextView, WorkflowResult,
};

use super::core::{
    Availability, Ledger, LedgerConfig, MoveRequest, ReleaseOutcome, ReleaseRequest,
    ReserveOutcome, ReserveRequest,
};
use crate::{BookingWorkflow, detached};

/// Patch id of pruning at continue-as-new: holdings and waiting bookings whose window has
/// ended are dropped from the ledger a run carries over, so a long-lived agent's ledger stays
/// the size of its future, not of its past.
pub const LEDGER_PRUNE_PATCH: &str = "ledger-prune-ended";

/// Input of a ledger run: its configuration on first start, and the whole ledger when a run
/// continues as new (so no holding or waiting booking is lost between runs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerStart {
    pub config: LedgerConfig,
    #[serde(default)]
    pub carried: Option<Ledger>,
}

/// Signal `seat_granted` sent to a booking the ledger promoted from its waitlist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatGranted {
    pub ledger_id: String,
    pub booking_id: String,
}

type ValidatorResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

#[workflow]
pub struct SlotLedgerWorkflow {
    ledger: Ledger,
    /// Updates this run accepted; past the configured threshold the run continues as new.
    accepted_this_run: u32,
    continue_due: bool,
}

#[workflow_methods]
impl SlotLedgerWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, start: LedgerStart) -> Self {
        let ledger = match start.carried {
            Some(mut carried) => {
                carried.runs += 1;
                carried
            }
            None => Ledger::new(start.config),
        };
        Self {
            ledger,
            accepted_this_run: 0,
            continue_due: false,
        }
    }

    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        loop {
            ctx.wait_condition(|s| !s.ledger.to_announce.is_empty() || s.continue_due)
                .await?;
            // Announce promotions in the order they happened; each is removed only once sent,
            // so a continue-as-new in between carries the rest to the next run.
            while let Some(promotion) = ctx.state(|s| s.ledger.to_announce.front().cloned()) {
                if !promotion.notify_workflow_id.is_empty() {
                    let grant = SeatGranted {
                        ledger_id: ctx.workflow_id().to_owned(),
                        booking_id: promotion.booking_id.clone(),
                    };
                    // A booking that is gone (completed, never existed) cannot use the seat;
                    // the ledger still records it as held until the booking releases it or an
                    // operator does, so the failure is not an error of the ledger.
                    let booking = ctx.external_workflow(promotion.notify_workflow_id.clone(), None);
                    let sent = detached::signal(
                        &booking,
                        BookingWorkflow::seat_granted,
                        grant,
                        SignalWorkflowOptions::default(),
                    )
                    .await;
                    if let Err(error) = sent {
                        tracing::warn!(
                            booking_id = promotion.booking_id,
                            "could not tell the promoted booking: {error}"
                        );
                    }
                }
                ctx.state_mut(|s| s.ledger.to_announce.pop_front());
            }
            if ctx.state(|s| s.continue_due) {
                // Handlers are synchronous, so every accepted update has already been applied
                // to the ledger that is carried over; updates arriving later are delivered by
                // the server to the next run.
                if ctx.all_handlers_finished() && ctx.state(|s| s.ledger.to_announce.is_empty()) {
                    // Runs that continued before this patch carried every holding; their
                    // replays must carry the same input.
                    if ctx.patched(LEDGER_PRUNE_PATCH)
                        && let Some(now) = ctx.workflow_time()
                    {
                        let now = chrono::DateTime::<chrono::Utc>::from(now);
                        let pruned = ctx.state_mut(|s| s.ledger.prune_ended(now));
                        tracing::info!(pruned, "holdings of ended windows dropped");
                    }
                    let ledger = ctx.state(|s| s.ledger.clone());
                    let start = LedgerStart {
                        config: ledger.config.clone(),
                        carried: Some(ledger),
                    };
                    ctx.continue_as_new(start, ContinueAsNewOptions::default())?;
                }
            }
        }
    }

    #[update_validator(reserve)]
    fn validate_reserve(
        &self,
        _ctx: &WorkflowContextView,
        request: &ReserveRequest,
    ) -> ValidatorResult {
        Ok(self.ledger.check_reserve(request)?)
    }

    /// Holds seats for a booking: confirmed, waitlisted (open house) or refused with
    /// alternatives. Idempotent per booking id.
    #[update]
    pub fn reserve(
        &mut self,
        ctx: &mut SyncWorkflowContext<Self>,
        request: ReserveRequest,
    ) -> ReserveOutcome {
        let outcome = self.ledger.reserve(request);
        self.accepted(ctx);
        outcome
    }

    #[update_validator(release)]
    fn validate_release(
        &self,
        _ctx: &WorkflowContextView,
        request: &ReleaseRequest,
    ) -> ValidatorResult {
        if request.booking_id.trim().is_empty() {
            return Err("bookingId is required".into());
        }
        Ok(())
    }

    /// Frees a booking's seats or waitlist place; waiting bookings are promoted in order.
    #[update]
    pub fn release(
        &mut self,
        ctx: &mut SyncWorkflowContext<Self>,
        request: ReleaseRequest,
    ) -> ReleaseOutcome {
        let outcome = self.ledger.release(&request.booking_id);
        self.accepted(ctx);
        outcome
    }

    #[update_validator(move_slot)]
    fn validate_move(&self, _ctx: &WorkflowContextView, request: &MoveRequest) -> ValidatorResult {
        Ok(self.ledger.check_move(request)?)
    }

    /// Moves a booking's holding to a new window (a reschedule); refused, with alternatives,
    /// when the new window is taken, in which case the old holding stays.
    #[update(name = "move")]
    pub fn move_slot(
        &mut self,
        ctx: &mut SyncWorkflowContext<Self>,
        request: MoveRequest,
    ) -> ReserveOutcome {
        let outcome = self.ledger.move_to(request);
        self.accepted(ctx);
        outcome
    }

    /// Seats left, waitlist length and every holding.
    #[query]
    pub fn availability(&self, _ctx: &WorkflowContextView) -> Availability {
        self.ledger.availability()
    }
}

impl SlotLedgerWorkflow {
    fn accepted(&mut self, ctx: &SyncWorkflowContext<Self>) {
        self.accepted_this_run += 1;
        if self.accepted_this_run >= self.ledger.config.continue_as_new_after.max(1)
            || ctx.continue_as_new_suggested()
        {
            self.continue_due = true;
        }
    }
}
