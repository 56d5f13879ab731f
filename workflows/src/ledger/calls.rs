//! The activities through which a booking talks to its ledger. A workflow cannot send an
//! update to another workflow, so each ledger update is one activity that the worker runs with
//! its Temporal client (`booking_worker::ledger`). They are declared here, where the booking
//! calls them, so the calls stay type-checked; the worker implements them under these names.

use serde::{Deserialize, Serialize};
use temporalio_common::ActivityDefinition;

use super::core::{LedgerConfig, MoveRequest, ReleaseOutcome, ReserveOutcome, ReserveRequest};

/// Registered activity names.
pub const LEDGER_RESERVE: &str = "ledger_reserve";
pub const LEDGER_RELEASE: &str = "ledger_release";
pub const LEDGER_MOVE: &str = "ledger_move";

/// `ledger_reserve`: reserve in the ledger `ledger` describes, starting it if it is not running
/// (update-with-start). A running ledger keeps its own configuration. An open-house `capacity`
/// of 0 means "the worker's default open-house capacity".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReserveSlotInput {
    pub ledger: LedgerConfig,
    pub request: ReserveRequest,
}

/// `ledger_release`: release a booking's holding; a ledger that does not exist holds nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseSlotInput {
    pub ledger_id: String,
    pub booking_id: String,
}

/// `ledger_move`: move a booking's holding to a new window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveSlotInput {
    pub ledger_id: String,
    pub request: MoveRequest,
}

pub struct ReserveSlot;
pub struct ReleaseSlot;
pub struct MoveSlot;

impl ActivityDefinition for ReserveSlot {
    type Input = ReserveSlotInput;
    type Output = ReserveOutcome;
    fn name(&self) -> &str {
        LEDGER_RESERVE
    }
}

impl ActivityDefinition for ReleaseSlot {
    type Input = ReleaseSlotInput;
    type Output = ReleaseOutcome;
    fn name(&self) -> &str {
        LEDGER_RELEASE
    }
}

impl ActivityDefinition for MoveSlot {
    type Input = MoveSlotInput;
    type Output = ReserveOutcome;
    fn name(&self) -> &str {
        LEDGER_MOVE
    }
}
