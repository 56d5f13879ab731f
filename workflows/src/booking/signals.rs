//! Turns the wire form of a signal or update into a lifecycle [`Event`], refusing payloads
//! that do not parse (a missing event id, a tour that ends before it starts).

use booking_proto::{
    domain::{EventId, FieldError, TourSlot},
    v1::{
        CancelSignal, ChangeRequest, ConfirmSignal, QuestionnaireVisitedSignal, RescheduleSignal,
        RetrySignal, SkipSignal, TourCompleteSignal, change_request::Change,
    },
};

use crate::lifecycle::Event;

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
        source_ref: signal.source_ref.clone(),
    })
}

pub fn cancel(signal: &CancelSignal) -> Result<Event, FieldError> {
    Ok(Event::Cancel {
        event_id: event_id(&signal.event_id)?,
        reason: signal.reason.clone(),
        cancelled_by: signal.cancelled_by.clone(),
    })
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
