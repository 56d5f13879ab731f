//! The `status` query's answer: the state as the wire contract shows it to operators.

use booking_proto::time::to_timestamp;
use booking_proto::v1;

use super::action::Action;
use super::plan::FollowUpKind;
use super::queue::Progress;
use super::state::{BookingState, BookingStatus, Slot};

fn slot_word(slot: &Slot) -> &'static str {
    match slot {
        Slot::Untracked => "untracked",
        Slot::Held => "held",
        Slot::Waitlisted { .. } => "waitlisted",
        Slot::Refused { .. } => "refused",
        Slot::Released => "released",
    }
}

pub fn snapshot(state: &BookingState) -> v1::BookingSnapshot {
    let external = state.external_ids();
    v1::BookingSnapshot {
        booking_id: state.booking_id().as_str().to_owned(),
        status: wire_status(state.status()) as i32,
        kind: state.kind() as i32,
        lead_email: state.lead().email.as_str().to_owned(),
        property_id: state.property_id().to_string(),
        agent_id: state.agent_id().to_string(),
        tour: Some(state.tour().to_proto()),
        external_ids: Some(v1::ExternalIds {
            calendar_event_id: external.calendar_event_id.clone().unwrap_or_default(),
            crm_contact_id: external.crm_contact_id.clone().unwrap_or_default(),
            source_ref: external.source_ref.clone(),
        }),
        steps_done: state
            .steps_done()
            .iter()
            .map(|step| v1::StepRecord {
                name: step.name.clone(),
                at: Some(to_timestamp(step.at)),
                detail: step.detail.clone(),
            })
            .collect(),
        steps_pending: pending_steps(state),
        last_failure: state.last_failure().map(|failure| v1::Failure {
            step: failure.step.clone(),
            error_type: failure.error_type.clone(),
            message: failure.message.clone(),
            at: Some(to_timestamp(failure.at)),
            attempts: failure.attempts,
        }),
        needs_attention: state.needs_attention(),
        refused_events: state
            .refused_events()
            .iter()
            .map(|refused| v1::RefusedEvent {
                event_id: refused.event_id.clone().unwrap_or_default(),
                event: refused.event.clone(),
                reason: refused.reason.clone(),
                at: Some(to_timestamp(refused.at)),
            })
            .collect(),
        events_seen: u32::try_from(state.events_seen()).unwrap_or(u32::MAX),
        slot: slot_word(state.slot()).to_owned(),
        waitlist_position: match state.slot() {
            Slot::Waitlisted { position } => *position,
            _ => 0,
        },
        refusal_reason: match state.slot() {
            Slot::Refused { reason, .. } => reason.clone(),
            _ => String::new(),
        },
        alternatives: match state.slot() {
            Slot::Refused { alternatives, .. } => alternatives
                .iter()
                .map(|w| v1::TourWindow {
                    start: Some(to_timestamp(w.start)),
                    end: Some(to_timestamp(w.end)),
                })
                .collect(),
            _ => Vec::new(),
        },
        sms_number: state.sms().number.clone().unwrap_or_default(),
        sms_off_reason: state
            .sms()
            .off
            .as_ref()
            .map(|off| off.reason.clone())
            .unwrap_or_default(),
        sms_deliveries: state
            .sms()
            .deliveries
            .iter()
            .map(|d| v1::SmsDelivery {
                step: d.step.clone(),
                message_sid: d.message_sid.clone(),
                status: d.status.as_str().to_owned(),
                error_code: d.error_code.unwrap_or_default(),
                at: Some(to_timestamp(d.at)),
            })
            .collect(),
    }
}

/// Queued actions come first and have no due time (they run as soon as the ones before them
/// finish); planned steps follow in due order.
fn pending_steps(state: &BookingState) -> Vec<v1::PendingStep> {
    let queued = state.queued_actions().map(|item| {
        let step = item.action.step_name();
        let name = match item.progress {
            Progress::Waiting => step,
            Progress::InFlight => format!("{step} (running)"),
            Progress::Blocked => format!("{step} (blocked: waiting for an operator)"),
        };
        let channel = match item.action {
            Action::SendEmail { .. } => "email",
            Action::SendSms { .. } => "sms",
            _ => "",
        };
        v1::PendingStep {
            name,
            due_at: None,
            channel: channel.to_owned(),
        }
    });
    let planned = state.plan().iter().map(|step| v1::PendingStep {
        name: step.summary(),
        due_at: Some(to_timestamp(step.due)),
        channel: if step.kind == FollowUpKind::CallTask {
            String::new()
        } else {
            step.channel.to_string()
        },
    });
    queued.chain(planned).collect()
}

fn wire_status(status: BookingStatus) -> v1::BookingStatus {
    match status {
        BookingStatus::PendingConfirmation => v1::BookingStatus::PendingConfirmation,
        BookingStatus::Confirmed => v1::BookingStatus::Confirmed,
        BookingStatus::Cancelled => v1::BookingStatus::Cancelled,
        BookingStatus::TourComplete => v1::BookingStatus::TourComplete,
    }
}
