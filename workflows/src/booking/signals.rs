//! Turns the wire form of a signal or update into a lifecycle [`Event`], refusing payloads
//! that do not parse (a missing event id, a tour that ends before it starts).
//!
//! Free text (reasons, who cancelled, source references) is capped where it enters, by the
//! shim and the CLI, which refuse what is too long. Here it is only *fitted* to the same caps
//! ([`FreeText::fit`]: control characters to spaces, cut with `…`), never refused: refusing a
//! signal a recorded history already holds would change what the booking does on replay,
//! whereas fitted text only reaches step details and activity inputs, which replay does not
//! compare.

use booking_proto::{
    domain::{EventId, FieldError, FreeText, TourSlot, caps},
    v1::{
        CancelSignal, ChangeRequest, ConfirmSignal, QuestionnaireVisitedSignal, RescheduleSignal,
        RetrySignal, SkipSignal, SmsOptOutSignal, SmsStatusSignal, TourCompleteSignal,
        change_request::Change,
    },
};

use crate::lifecycle::{Event, SmsDeliveryStatus, SmsReport};

fn event_id(raw: &str) -> Result<EventId, FieldError> {
    EventId::parse(raw).map_err(|m| FieldError::new("eventId", m))
}

pub fn confirm(signal: &ConfirmSignal) -> Result<Event, FieldError> {
    Ok(Event::Confirm {
        event_id: event_id(&signal.event_id)?,
    })
}

pub fn reschedule(signal: &RescheduleSignal) -> Result<Event, FieldError> {
    Ok(Event::Reschedule {
        event_id: event_id(&signal.event_id)?,
        tour: TourSlot::from_proto("tour", signal.tour.as_ref())?,
        source_ref: FreeText::fit(&signal.source_ref, caps::SOURCE_REF),
    })
}

pub fn cancel(signal: &CancelSignal) -> Result<Event, FieldError> {
    Ok(Event::Cancel {
        event_id: event_id(&signal.event_id)?,
        reason: FreeText::fit(&signal.reason, caps::REASON),
        cancelled_by: FreeText::fit(&signal.cancelled_by, caps::CANCELLED_BY),
    })
}

/// Event id of the cancel event a cancellation request from Temporal becomes; a workflow is
/// cancelled at most once, so one fixed id deduplicates it like any signal.
pub const CANCEL_REQUEST_EVENT_ID: &str = "temporal-cancel-request";

/// A cancellation request from Temporal (an operator's Cancel in the UI or the CLI), as the
/// booking's own cancellation.
pub fn cancel_request(reason: Option<&str>) -> Event {
    Event::Cancel {
        event_id: EventId::parse(CANCEL_REQUEST_EVENT_ID).expect("a valid event id"),
        reason: FreeText::fit(
            reason
                .filter(|r| !r.trim().is_empty())
                .unwrap_or("cancellation requested in Temporal"),
            caps::REASON,
        ),
        cancelled_by: "operator".to_owned(),
    }
}

pub fn questionnaire_visited(signal: &QuestionnaireVisitedSignal) -> Result<Event, FieldError> {
    Ok(Event::QuestionnaireVisited {
        event_id: event_id(&signal.event_id)?,
    })
}

pub fn tour_complete(signal: &TourCompleteSignal) -> Result<Event, FieldError> {
    Ok(Event::TourComplete {
        event_id: event_id(&signal.event_id)?,
    })
}

pub fn retry(signal: &RetrySignal) -> Result<Event, FieldError> {
    Ok(Event::OperatorRetry {
        event_id: event_id(&signal.event_id)?,
    })
}

pub fn skip(signal: &SkipSignal) -> Result<Event, FieldError> {
    Ok(Event::OperatorSkip {
        event_id: event_id(&signal.event_id)?,
    })
}

pub fn sms_status(signal: &SmsStatusSignal) -> Result<Event, FieldError> {
    let status =
        SmsDeliveryStatus::parse(&signal.status).map_err(|m| FieldError::new("status", m))?;
    if signal.message_sid.trim().is_empty() {
        return Err(FieldError::new("messageSid", "is required"));
    }
    Ok(Event::SmsStatus {
        event_id: event_id(&signal.event_id)?,
        report: SmsReport {
            message_sid: FreeText::fit(&signal.message_sid, caps::SOURCE_REF),
            step: FreeText::fit(&signal.step, caps::SOURCE_REF),
            status,
            error_code: (signal.error_code != 0).then_some(signal.error_code),
        },
    })
}

pub fn sms_opt_out(signal: &SmsOptOutSignal) -> Result<Event, FieldError> {
    Ok(Event::SmsOptOut {
        event_id: event_id(&signal.event_id)?,
        reason: FreeText::fit(
            if signal.reason.trim().is_empty() {
                "the lead asked for no more text messages"
            } else {
                &signal.reason
            },
            caps::REASON,
        ),
    })
}

pub fn change(request: &ChangeRequest) -> Result<Event, FieldError> {
    match request.change.as_ref() {
        Some(Change::Confirm(s)) => confirm(s),
        Some(Change::Reschedule(s)) => reschedule(s),
        Some(Change::Cancel(s)) => cancel(s),
        Some(Change::QuestionnaireVisited(s)) => questionnaire_visited(s),
        Some(Change::TourComplete(s)) => tour_complete(s),
        None => Err(FieldError::new(
            "change",
            "one of confirm, reschedule, cancel, questionnaireVisited, tourComplete is required",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_request_is_an_operator_cancellation_with_the_requests_reason() {
        let Event::Cancel {
            event_id,
            reason,
            cancelled_by,
        } = cancel_request(Some("lead phoned"))
        else {
            panic!("a cancel event");
        };
        assert_eq!(event_id.as_str(), CANCEL_REQUEST_EVENT_ID);
        assert_eq!(reason, "lead phoned");
        assert_eq!(cancelled_by, "operator");
    }

    #[test]
    fn oversized_signal_text_is_fitted_never_refused() {
        let signal = CancelSignal {
            event_id: "cancel-1".into(),
            reason: format!("plans\u{7} changed{}", "!".repeat(5_000)),
            cancelled_by: "lead\r\n".repeat(20),
        };
        let Event::Cancel {
            reason,
            cancelled_by,
            ..
        } = cancel(&signal).expect("a long cancel is still a cancel")
        else {
            panic!("a cancel event");
        };
        assert!(reason.starts_with("plans  changed!"));
        assert_eq!(reason.chars().count(), caps::REASON.max_chars);
        assert!(cancelled_by.chars().count() <= caps::CANCELLED_BY.max_chars);
        assert!(!cancelled_by.contains('\r'));
        let Event::Reschedule { source_ref, .. } = reschedule(&RescheduleSignal {
            event_id: "r-1".into(),
            tour: Some(booking_proto::v1::TourWindow {
                start: Some(booking_proto::time::to_timestamp(
                    chrono::DateTime::from_timestamp(1_900_000_000, 0).unwrap(),
                )),
                end: Some(booking_proto::time::to_timestamp(
                    chrono::DateTime::from_timestamp(1_900_001_800, 0).unwrap(),
                )),
            }),
            source_ref: "s".repeat(10_000),
        })
        .unwrap() else {
            panic!("a reschedule event");
        };
        assert_eq!(source_ref.chars().count(), caps::SOURCE_REF.max_chars);
    }

    #[test]
    fn values_recorded_histories_hold_pass_unchanged() {
        for (reason, by) in [("plans changed", "lead"), ("", ""), ("busy", "scheduler")] {
            let Event::Cancel {
                reason: r,
                cancelled_by: b,
                ..
            } = cancel(&CancelSignal {
                event_id: "cancel-1".into(),
                reason: reason.into(),
                cancelled_by: by.into(),
            })
            .unwrap()
            else {
                panic!("a cancel event");
            };
            assert_eq!((r.as_str(), b.as_str()), (reason, by));
        }
    }

    #[test]
    fn a_cancel_request_without_a_reason_says_where_it_came_from() {
        for reason in [None, Some(""), Some("  ")] {
            let Event::Cancel { reason, .. } = cancel_request(reason) else {
                panic!("a cancel event");
            };
            assert_eq!(reason, "cancellation requested in Temporal");
        }
    }
}
