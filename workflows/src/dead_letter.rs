//! Dead letters: correctly authenticated deliveries the engine could not turn into a booking
//! change (an unknown event type, a missing field, an invalid email).
//!
//! Calendly retries any non-2xx answer for a day and then disables the subscription, so the shim
//! must acknowledge such a delivery; it must not lose it either. Each one becomes a workflow
//! that holds the raw payload, the reason and where it came from, and waits for an operator to
//! `resolve` (fixed by hand) or `discard` it. Temporal is the only durable store, and an open
//! workflow is something an operator can list (`WorkflowType = 'DeadLetterWorkflow'` and
//! `ExecutionStatus = 'Running'`) and read in the UI.
//!
//! The workflow id is `dead-letter-<sha256 of the body>`: a redelivery of the same body lands
//! on the same workflow instead of making a second record.

use serde::{Deserialize, Serialize};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{SyncWorkflowContext, WorkflowContext, WorkflowContextView, WorkflowResult};

/// Prefix of every dead-letter workflow id.
pub const WORKFLOW_ID_PREFIX: &str = "dead-letter-";

/// The id of the dead letter of a body whose SHA-256 is `body_sha256_hex`.
pub fn workflow_id(body_sha256_hex: &str) -> String {
    format!("{WORKFLOW_ID_PREFIX}{body_sha256_hex}")
}

/// What the shim kept of a delivery it could not process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The body exactly as received (lossily decoded if it was not UTF-8).
    pub payload: String,
    /// Why it could not be processed, for the operator.
    pub reason: String,
    /// Which endpoint received it, e.g. `calendly`.
    pub source: String,
    /// RFC 3339 time the shim received it.
    pub received_at: String,
    /// The shim's request id, to find the request's log lines.
    pub request_id: String,
}

/// An operator's decision (`resolve` or `discard` signal).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorDecision {
    /// Who decided, for the record.
    #[serde(default)]
    pub operator: String,
    #[serde(default)]
    pub note: String,
}

/// How a dead letter ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterOutcome {
    /// Still waiting for an operator.
    #[default]
    Open,
    /// Fixed by hand (e.g. the booking was entered through the CLI).
    Resolved,
    /// Judged worthless.
    Discarded,
}

/// What the workflow returns, and what its `details` query answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterState {
    pub letter: DeadLetter,
    pub outcome: DeadLetterOutcome,
    pub decision: Option<OperatorDecision>,
}

#[workflow]
#[derive(Default)]
pub struct DeadLetterWorkflow {
    state: DeadLetterState,
}

#[workflow_methods]
impl DeadLetterWorkflow {
    #[run]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        letter: DeadLetter,
    ) -> WorkflowResult<DeadLetterState> {
        ctx.state_mut(|s| s.state.letter = letter);
        ctx.wait_condition(|s| s.state.outcome != DeadLetterOutcome::Open)
            .await?;
        Ok(ctx.state(|s| s.state.clone()))
    }

    /// The operator fixed what the delivery was about; the record closes.
    #[signal]
    pub fn resolve(&mut self, _ctx: &mut SyncWorkflowContext<Self>, decision: OperatorDecision) {
        self.decide(DeadLetterOutcome::Resolved, decision);
    }

    /// The operator judged the delivery worthless; the record closes.
    #[signal]
    pub fn discard(&mut self, _ctx: &mut SyncWorkflowContext<Self>, decision: OperatorDecision) {
        self.decide(DeadLetterOutcome::Discarded, decision);
    }

    /// The record as it stands.
    #[query]
    pub fn details(&self, _ctx: &WorkflowContextView) -> DeadLetterState {
        self.state.clone()
    }
}

impl DeadLetterWorkflow {
    /// The first decision wins: a second signal (a double click) changes nothing.
    fn decide(&mut self, outcome: DeadLetterOutcome, decision: OperatorDecision) {
        if self.state.outcome == DeadLetterOutcome::Open {
            self.state.outcome = outcome;
            self.state.decision = Some(decision);
        }
    }
}
