//! Starting, signalling and inspecting booking workflows from the command line: the CLI's face
//! of [`BookingClient`], the one client every caller shares, with the CLI's own error enum.

use booking_proto::{
    domain::{
        BookingId, EventId, FieldError, FreeText, TextCap, TourSlot, ValidBooking,
        ValidationErrors, caps,
    },
    v1::{
        BookingRequest, BookingSnapshot, CancelSignal, ConfirmSignal, QuestionnaireVisitedSignal,
        RescheduleSignal, RetrySignal, SkipSignal, TourCompleteSignal,
    },
};
use booking_workflows::{
    BookingWorkflow,
    booking::client::{
        self as bookings, BookingCallError, BookingClient, OnExisting, Started,
        classify_interaction,
    },
};
use temporalio_client::{Client, WorkflowSignalOptions};

/// What can go wrong acting on a booking from outside.
#[derive(Debug, thiserror::Error)]
pub enum BookingClientError {
    /// Fatal: the request itself is wrong; fix it and try again.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// Fatal: a booking id names one booking forever.
    #[error("booking {0} already exists")]
    AlreadyExists(BookingId),
    /// Fatal: no booking with this id.
    #[error("no booking {0}")]
    NotFound(BookingId),
    /// Retryable: Temporal did not answer or refused for a passing reason.
    #[error("Temporal refused the call: {0}")]
    Temporal(String),
}

impl From<BookingCallError> for BookingClientError {
    fn from(e: BookingCallError) -> Self {
        match e {
            BookingCallError::AlreadyExists(id) => Self::AlreadyExists(id),
            BookingCallError::NotFound(id) => Self::NotFound(id),
            other => Self::Temporal(other.to_string()),
        }
    }
}

/// Starts the workflow of a booking on `task_queue`; an id ever used is refused.
pub async fn start_booking(
    client: &Client,
    task_queue: &str,
    request: BookingRequest,
) -> Result<BookingId, BookingClientError> {
    let booking = ValidBooking::parse(request)?;
    let bookings = BookingClient::new(client.clone(), task_queue);
    match bookings.start(&booking, OnExisting::Refuse).await? {
        Started::Running => Ok(booking.booking_id),
        Started::AlreadyClosed => Err(BookingClientError::AlreadyExists(booking.booking_id)),
    }
}

/// The booking's current snapshot, from its `status` query.
pub async fn status(
    client: &Client,
    booking_id: &BookingId,
) -> Result<BookingSnapshot, BookingClientError> {
    Ok(bookings::status(client, booking_id).await?)
}

/// A signal an operator, a link or the shim can send to a booking.
#[derive(Debug, Clone)]
pub enum BookingSignal {
    Confirm,
    Reschedule {
        tour: TourSlot,
        source_ref: String,
    },
    Cancel {
        reason: String,
        cancelled_by: String,
    },
    QuestionnaireVisited,
    TourComplete,
    /// Run the step that failed for good again.
    Retry,
    /// Give up on the step that failed for good.
    Skip {
        reason: String,
    },
}

impl BookingSignal {
    /// The signal with its free text trimmed, or every text over its cap (or holding control
    /// characters) named: refused here, before it is written into the booking's history, as
    /// the workflow itself only fits what it is sent.
    pub fn checked(self) -> Result<Self, ValidationErrors> {
        let mut errors = Vec::new();
        let mut text = |field: &str, raw: String, cap: TextCap| {
            FreeText::parse(field, &raw, cap)
                .map(FreeText::into_string)
                .unwrap_or_else(|e: FieldError| {
                    errors.push(e);
                    raw
                })
        };
        let checked = match self {
            BookingSignal::Reschedule { tour, source_ref } => BookingSignal::Reschedule {
                tour,
                source_ref: text("sourceRef", source_ref, caps::SOURCE_REF),
            },
            BookingSignal::Cancel {
                reason,
                cancelled_by,
            } => BookingSignal::Cancel {
                reason: text("reason", reason, caps::REASON),
                cancelled_by: text("cancelledBy", cancelled_by, caps::CANCELLED_BY),
            },
            BookingSignal::Skip { reason } => BookingSignal::Skip {
                reason: text("reason", reason, caps::REASON),
            },
            other => other,
        };
        if errors.is_empty() {
            Ok(checked)
        } else {
            Err(ValidationErrors(errors))
        }
    }
}

/// Sends `signal` to the booking, identified by `event_id` so a repeat is ignored.
pub async fn signal(
    client: &Client,
    booking_id: &BookingId,
    event_id: &EventId,
    signal: BookingSignal,
) -> Result<(), BookingClientError> {
    let signal = signal.checked()?;
    let handle = client.get_workflow_handle::<BookingWorkflow>(booking_id.workflow_id());
    let options = WorkflowSignalOptions::default();
    let event_id = event_id.to_string();
    let result = match signal {
        BookingSignal::Confirm => {
            let payload = ConfirmSignal { event_id };
            handle
                .signal(BookingWorkflow::confirm, payload, options)
                .await
        }
        BookingSignal::Reschedule { tour, source_ref } => {
            let payload = RescheduleSignal {
                event_id,
                tour: Some(tour.to_proto()),
                source_ref,
            };
            handle
                .signal(BookingWorkflow::reschedule, payload, options)
                .await
        }
        BookingSignal::Cancel {
            reason,
            cancelled_by,
        } => {
            let payload = CancelSignal {
                event_id,
                reason,
                cancelled_by,
            };
            handle
                .signal(BookingWorkflow::cancel, payload, options)
                .await
        }
        BookingSignal::QuestionnaireVisited => {
            let payload = QuestionnaireVisitedSignal { event_id };
            handle
                .signal(BookingWorkflow::questionnaire_visited, payload, options)
                .await
        }
        BookingSignal::TourComplete => {
            let payload = TourCompleteSignal { event_id };
            handle
                .signal(BookingWorkflow::tour_complete, payload, options)
                .await
        }
        BookingSignal::Retry => {
            let payload = RetrySignal { event_id };
            handle
                .signal(BookingWorkflow::retry, payload, options)
                .await
        }
        BookingSignal::Skip { reason } => {
            let payload = SkipSignal { event_id, reason };
            handle.signal(BookingWorkflow::skip, payload, options).await
        }
    };
    result.map_err(|e| classify_interaction(booking_id, e).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_text_over_its_cap_is_refused_naming_the_field() {
        let errors = BookingSignal::Cancel {
            reason: "r".repeat(caps::REASON.max_chars + 1),
            cancelled_by: "operator\u{7}".into(),
        }
        .checked()
        .unwrap_err()
        .0;
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["reason", "cancelledBy"]);
        assert!(
            BookingSignal::Skip {
                reason: "\u{1b}[2J".into()
            }
            .checked()
            .is_err()
        );
    }

    #[test]
    fn signal_text_within_its_cap_is_trimmed() {
        let BookingSignal::Cancel {
            reason,
            cancelled_by,
        } = BookingSignal::Cancel {
            reason: " lead phoned:\nmoving abroad ".into(),
            cancelled_by: "operator".into(),
        }
        .checked()
        .unwrap()
        else {
            panic!("a cancel");
        };
        assert_eq!(reason, "lead phoned:\nmoving abroad");
        assert_eq!(cancelled_by, "operator");
    }
}
