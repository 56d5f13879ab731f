//! The decision: what a verified Acuity delivery does to its booking, from the appointment as
//! Acuity holds it now (see [`super`]).

use booking_activities::{
    acuity::{booking, client::AcuityClient, model::Appointment},
    error::ProviderError,
};
use booking_proto::{
    domain::{BookingId, ValidBooking},
    v1::{CancelSignal, RescheduleSignal},
};
use temporalio_client::Client;

use super::{AcuityAction, AcuityDelivery};
pub use crate::handoff::ProcessError;
use crate::handoff::{BookingSignal, Handoff};
pub use crate::outcome::Outcome;

fn read_error(id: u64, e: ProviderError) -> ProcessError {
    if e.is_retryable() {
        ProcessError::Unavailable(format!("appointment {id} could not be read: {e}"))
    } else {
        ProcessError::Unprocessable(format!("appointment {id} could not be read: {e}"))
    }
}

/// What the appointment's current state asks of its booking.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Start,
    MoveTo,
    Cancel,
}

/// The rule of the module doc: the appointment's state first, the action only to tell a
/// creation from a change.
pub fn step(action: AcuityAction, appointment: &Appointment) -> Step {
    if appointment.canceled {
        return Step::Cancel;
    }
    match action {
        AcuityAction::Scheduled => Step::Start,
        // A cancel webhook for an appointment that is active again behaves as a change.
        AcuityAction::Rescheduled | AcuityAction::Changed | AcuityAction::Canceled => Step::MoveTo,
    }
}

/// Reads the appointment and hands the step it asks for to its booking.
pub async fn process(
    acuity: &AcuityClient,
    handoff: &Handoff,
    client: &Client,
    delivery: &AcuityDelivery,
    request_id: &str,
) -> Result<(BookingId, Outcome), ProcessError> {
    let id = delivery.appointment_id;
    let appointment = acuity
        .appointment(id)
        .await
        .map_err(|e| read_error(id, e))?;
    if appointment.id != id {
        return Err(ProcessError::Unprocessable(format!(
            "Acuity answered appointment {} when asked for {id}",
            appointment.id
        )));
    }
    let request = booking::request(&appointment, &booking::scheduled_event_id(id), request_id);
    let valid = ValidBooking::parse(request).map_err(|e| {
        ProcessError::Unprocessable(format!("appointment {id} is not a valid booking: {e}"))
    })?;
    let booking_id = valid.booking_id.clone();
    let outcome = match step(delivery.action, &appointment) {
        Step::Start => Outcome::unless_closed(
            handoff.start_booking(client, &valid).await?,
            Outcome::Started,
        ),
        Step::MoveTo => {
            let signal = RescheduleSignal {
                event_id: booking::moved_event_id(id, appointment.start()),
                tour: Some(booking::tour(&appointment)),
                source_ref: booking::source_ref(id),
            };
            let s = handoff
                .signal_with_start(client, &valid, BookingSignal::Reschedule(signal))
                .await?;
            Outcome::unless_closed(s, Outcome::Rescheduled)
        }
        Step::Cancel => {
            let signal = CancelSignal {
                event_id: booking::canceled_event_id(id),
                reason: "canceled in Acuity Scheduling".into(),
                cancelled_by: "scheduler".into(),
            };
            let s = handoff
                .signal_with_start(client, &valid, BookingSignal::Cancel(signal))
                .await?;
            Outcome::unless_closed(s, Outcome::Cancelled)
        }
    };
    Ok((booking_id, outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appointment(canceled: bool) -> Appointment {
        Appointment::parse(
            &serde_json::json!({
                "id": 1001, "firstName": "Avery", "lastName": "Acuity", "email": "avery@example.com",
                "datetime": "2026-12-10T14:00:00-0500", "duration": "60",
                "calendarID": 4, "appointmentTypeID": 7, "canceled": canceled,
                "timezone": "America/New_York", "forms": null
            })
            .to_string(),
        )
        .expect("a valid appointment")
    }

    #[test]
    fn the_appointment_state_decides_and_the_action_only_tells_creation_from_change() {
        use AcuityAction::*;
        for action in [Scheduled, Rescheduled, Changed, Canceled] {
            assert_eq!(step(action, &appointment(true)), Step::Cancel, "{action:?}");
        }
        assert_eq!(step(Scheduled, &appointment(false)), Step::Start);
        for action in [Rescheduled, Changed, Canceled] {
            assert_eq!(
                step(action, &appointment(false)),
                Step::MoveTo,
                "{action:?}"
            );
        }
    }
}
