//! The JSON bodies the shim answers with. The handlers serialize these very types and the
//! OpenAPI document ([`crate::openapi`]) derives its schemas from them, so the two cannot
//! disagree about a field.

use booking_proto::domain::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

/// Any failure but invalid fields: a short reason, never the detail (the log has that).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub error: String,
}

impl ErrorBody {
    pub fn new(error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
        }
    }
}

/// One field that is missing or wrong, named as the request names it (`lead.email`,
/// `MessageSid`, `booking_id`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

impl From<&FieldError> for FieldProblem {
    fn from(e: &FieldError) -> Self {
        Self {
            field: e.field.clone(),
            message: e.message.clone(),
        }
    }
}

/// Every field that is missing or wrong, not just the first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ValidationErrors {
    pub errors: Vec<FieldProblem>,
}

/// What became of a delivery the shim took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Taken {
    /// Handed to the booking.
    Accepted,
    /// About a booking that does not exist or has closed: changes nothing.
    Ignored,
    /// No booking can act on it: kept as a dead-letter workflow for an operator.
    DeadLettered,
}

/// A delivery handed to its booking.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Accepted {
    pub status: Taken,
    #[serde(rename = "bookingId")]
    pub booking_id: String,
    /// What the hand-off did, e.g. `started`, `rescheduled`, `cancelled`, `recorded`,
    /// `booking_not_found`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub outcome: Option<String>,
    /// Fields that were wrong without stopping the booking (a phone number that does not
    /// parse turns texts off).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<FieldProblem>,
}

impl Accepted {
    pub fn new(status: Taken, booking_id: impl Into<String>) -> Self {
        Self {
            status,
            booking_id: booking_id.into(),
            outcome: None,
            warnings: Vec::new(),
        }
    }

    pub fn with_outcome(mut self, outcome: &str) -> Self {
        self.outcome = Some(outcome.to_owned());
        self
    }
}

/// A signed delivery no booking can take, kept as a dead letter so the sender stops retrying.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeadLettered {
    pub status: Taken,
    /// The dead-letter workflow's id: one per distinct body, so a redelivery is the same one.
    #[serde(rename = "deadLetterId")]
    pub dead_letter_id: String,
}

/// A probe's verdict.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProbeStatus {
    /// `ok` (alive), `ready` or `not ready`.
    pub status: String,
    /// Why the shim is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub reason: Option<String>,
}
