//! Runs one lifecycle [`Action`] as its activity and reports the result as the machine wants
//! it: an [`ActionOutcome`], or an [`ActionFailure`] once Temporal has given up retrying.

use booking_activities::{
    BookingActivities,
    email::EmailMessage,
    inputs::{
        CreateCrmTaskInput, DeleteCalendarEventInput, EnsureCalendarEventInput,
        MoveCalendarEventInput, UpdateCrmStageInput, UpsertCrmContactInput,
    },
    policy::{ActivityPolicy, activity},
    sms::SmsMessage,
};
use booking_proto::domain::TourSlot;
use chrono::{DateTime, Utc};
use temporalio_common::{
    error::ActivityExecutionError,
    protos::temporal::api::{enums::v1::RetryState, failure::v1::failure::FailureInfo},
};
use temporalio_sdk::WorkflowContext;

use super::{BookingWorkflow, sms_text};
use crate::{
    detached,
    ledger::{
        LedgerConfig, MoveRequest, ReserveStatus, Window,
        calls::{self, MoveSlot, MoveSlotInput, ReleaseSlot, ReleaseSlotInput},
    },
    lifecycle::{
        Action, ActionFailure, ActionOutcome, BookingState, CrmStage, CrmTaskKind, EmailKind, Slot,
    },
    settings::BookingSettings,
};

/// What every action's function needs: the workflow, the booking's settings and the state the
/// action started from.
struct Step<'a> {
    ctx: &'a WorkflowContext<BookingWorkflow>,
    settings: &'a BookingSettings,
    booking: &'a BookingState,
    now: DateTime<Utc>,
}

impl Step<'_> {
    fn booking_id(&self) -> String {
        self.booking.booking_id().to_string()
    }

    fn calendar_id(&self) -> String {
        self.settings.calendar_id.clone()
    }

    /// The activity's options (with the UI summary) and its retry policy.
    fn options(
        &self,
        name: &str,
        summary: String,
    ) -> (temporalio_sdk::ActivityOptions, ActivityPolicy) {
        let policy = self.settings.activities.get(name);
        (policy.options(summary), policy)
    }

    fn failure(&self, name: &str, e: &ActivityExecutionError) -> ActionFailure {
        failure(e, self.settings.activities.get(name).maximum_attempts)
    }
}

/// Performs `action` for `booking` (a copy of the state when the action started).
pub async fn perform(
    ctx: &WorkflowContext<BookingWorkflow>,
    settings: &BookingSettings,
    booking: &BookingState,
    action: &Action,
    now: DateTime<Utc>,
) -> Result<ActionOutcome, ActionFailure> {
    let step = Step {
        ctx,
        settings,
        booking,
        now,
    };
    match action {
        Action::ReleaseSlot => release_slot(&step).await,
        Action::MoveSlot { tour, .. } => move_slot(&step, tour).await,
        Action::CreateCalendarEvent { tour } => create_calendar_event(&step, tour).await,
        Action::MoveCalendarEvent { tour } => move_calendar_event(&step, tour).await,
        Action::DeleteCalendarEvent => delete_calendar_event(&step).await,
        Action::UpsertCrmContact => upsert_crm_contact(&step).await,
        Action::UpdateCrmStage { stage } => update_crm_stage(&step, *stage).await,
        Action::CreateCrmTask { kind, subject } => create_crm_task(&step, kind, subject).await,
        Action::SendEmail {
            kind,
            template,
            step: key,
        } => send_email(&step, *kind, template, key).await,
        Action::SendSms { kind, step: key } => send_sms(&step, *kind, key).await,
    }
}

async fn release_slot(step: &Step<'_>) -> Result<ActionOutcome, ActionFailure> {
    let name = calls::LEDGER_RELEASE;
    let input = ReleaseSlotInput {
        ledger_id: ledger_config(step.booking).workflow_id(),
        booking_id: step.booking_id(),
    };
    let options = ledger_options(step.settings, name, "release slot");
    detached::activity(step.ctx, ReleaseSlot, input, options)
        .await
        .map(|_| ActionOutcome::SlotReleased)
        .map_err(|e| step.failure(name, &e))
}

async fn move_slot(step: &Step<'_>, tour: &TourSlot) -> Result<ActionOutcome, ActionFailure> {
    let name = calls::LEDGER_MOVE;
    let input = MoveSlotInput {
        ledger_id: ledger_config(step.booking).workflow_id(),
        request: MoveRequest {
            booking_id: step.booking_id(),
            window: window(tour),
        },
    };
    let options = ledger_options(step.settings, name, "move slot");
    detached::activity(step.ctx, MoveSlot, input, options)
        .await
        .map(|outcome| ActionOutcome::SlotMoved {
            confirmed: outcome.status != ReserveStatus::Refused,
            detail: if outcome.status == ReserveStatus::Refused {
                format!("the ledger kept the old slot: {}", outcome.reason)
            } else {
                "slot moved in the ledger".into()
            },
        })
        .map_err(|e| step.failure(name, &e))
}

async fn create_calendar_event(
    step: &Step<'_>,
    tour: &TourSlot,
) -> Result<ActionOutcome, ActionFailure> {
    let name = activity::ENSURE_CALENDAR_EVENT;
    let (opts, _) = step.options(name, "create calendar event".into());
    let booking = step.booking;
    let lead = booking.lead();
    let input = EnsureCalendarEventInput {
        booking_id: step.booking_id(),
        calendar_id: step.calendar_id(),
        summary: format!("Tour of {} with {}", booking.property_id(), lead.name),
        description: Some(format!(
            "Booking {} for {} ({})",
            booking.booking_id(),
            lead.name,
            lead.email
        )),
        location: Some(booking.property_id().to_string()),
        start: tour.start(),
        end: tour.end(),
        attendee_emails: vec![lead.email.to_string()],
    };
    detached::activity(
        step.ctx,
        BookingActivities::ensure_calendar_event,
        input,
        opts,
    )
    .await
    .map(|out| ActionOutcome::CalendarEventCreated {
        calendar_event_id: out.event_id,
    })
    .map_err(|e| step.failure(name, &e))
}

async fn move_calendar_event(
    step: &Step<'_>,
    tour: &TourSlot,
) -> Result<ActionOutcome, ActionFailure> {
    let name = activity::MOVE_CALENDAR_EVENT;
    let (opts, _) = step.options(name, "move calendar event to the new time".into());
    let input = MoveCalendarEventInput {
        booking_id: step.booking_id(),
        calendar_id: step.calendar_id(),
        start: tour.start(),
        end: tour.end(),
    };
    detached::activity(
        step.ctx,
        BookingActivities::move_calendar_event,
        input,
        opts,
    )
    .await
    .map(|_| ActionOutcome::CalendarEventMoved)
    .map_err(|e| step.failure(name, &e))
}

async fn delete_calendar_event(step: &Step<'_>) -> Result<ActionOutcome, ActionFailure> {
    let name = activity::DELETE_CALENDAR_EVENT;
    let (opts, _) = step.options(name, "delete calendar event".into());
    let input = DeleteCalendarEventInput {
        booking_id: step.booking_id(),
        calendar_id: step.calendar_id(),
    };
    detached::activity(
        step.ctx,
        BookingActivities::delete_calendar_event,
        input,
        opts,
    )
    .await
    .map(|_| ActionOutcome::CalendarEventDeleted)
    .map_err(|e| step.failure(name, &e))
}

async fn upsert_crm_contact(step: &Step<'_>) -> Result<ActionOutcome, ActionFailure> {
    let name = activity::UPSERT_CRM_CONTACT;
    let (opts, _) = step.options(name, "upsert CRM contact".into());
    let booking = step.booking;
    let lead = booking.lead();
    let (first_name, last_name) = split_name(&lead.name);
    let input = UpsertCrmContactInput {
        booking_id: step.booking_id(),
        email: lead.email.to_string(),
        first_name,
        last_name,
        phone: Some(lead.phone.clone()).filter(|p| !p.is_empty()),
        booking_status: Some(status_word(booking)),
        tour_start: Some(booking.tour().start()),
        tour_type: Some(tour_type(booking)),
    };
    detached::activity(step.ctx, BookingActivities::upsert_crm_contact, input, opts)
        .await
        .map(|out| ActionOutcome::CrmContactUpserted {
            crm_contact_id: out.contact_id,
        })
        .map_err(|e| step.failure(name, &e))
}

async fn update_crm_stage(
    step: &Step<'_>,
    stage: CrmStage,
) -> Result<ActionOutcome, ActionFailure> {
    let name = activity::UPDATE_CRM_STAGE;
    let (opts, _) = step.options(name, format!("CRM stage: {stage}"));
    let input = UpdateCrmStageInput {
        booking_id: step.booking_id(),
        email: step.booking.lead().email.to_string(),
        booking_status: match stage {
            CrmStage::Cancelled => "cancelled".into(),
            CrmStage::TourComplete => "tour_complete".into(),
        },
        lifecycle_stage: None,
        tour_start: Some(step.booking.tour().start()),
    };
    detached::activity(step.ctx, BookingActivities::update_crm_stage, input, opts)
        .await
        .map(|_| ActionOutcome::CrmStageUpdated)
        .map_err(|e| step.failure(name, &e))
}

async fn create_crm_task(
    step: &Step<'_>,
    kind: &CrmTaskKind,
    subject: &str,
) -> Result<ActionOutcome, ActionFailure> {
    let name = activity::CREATE_CRM_TASK;
    let (opts, _) = step.options(name, format!("CRM task: {subject}"));
    let booking = step.booking;
    let input = CreateCrmTaskInput {
        booking_id: step.booking_id(),
        step: kind.to_string(),
        contact_id: booking.external_ids().crm_contact_id.clone(),
        subject: subject.to_owned(),
        body: Some(format!(
            "{} ({}) has not confirmed the tour on {}.",
            booking.lead().name,
            booking.lead().email,
            booking.tour().start().to_rfc3339()
        )),
        due_at: step.now,
        task_type: "CALL".into(),
    };
    detached::activity(step.ctx, BookingActivities::create_crm_task, input, opts)
        .await
        .map(|out| ActionOutcome::CrmTaskCreated {
            crm_task_id: out.task_id,
        })
        .map_err(|e| step.failure(name, &e))
}

async fn send_email(
    step: &Step<'_>,
    kind: EmailKind,
    template: &str,
    key: &str,
) -> Result<ActionOutcome, ActionFailure> {
    let name = activity::SEND_EMAIL;
    let (opts, _) = step.options(name, format!("email: {}", describe_email(kind)));
    let booking = step.booking;
    let message = EmailMessage {
        booking_id: step.booking_id(),
        step: key.to_owned(),
        to_email: booking.lead().email.to_string(),
        to_name: booking.lead().name.clone(),
        template_id: template.to_owned(),
        template_data: template_data(booking, kind),
        // A reminder about the tour is pointless once it has begun; only the activity may look
        // at the clock to tell.
        send_before: kind.is_about_tour_time().then(|| booking.tour().start()),
    };
    detached::activity(step.ctx, BookingActivities::send_email, message, opts)
        .await
        .map(|receipt| match receipt.skipped {
            Some(reason) => ActionOutcome::EmailNotSent { reason },
            None => ActionOutcome::EmailSent {
                message_id: Some(receipt.message_id),
            },
        })
        .map_err(|e| step.failure(name, &e))
}

async fn send_sms(
    step: &Step<'_>,
    kind: EmailKind,
    key: &str,
) -> Result<ActionOutcome, ActionFailure> {
    let name = activity::SEND_SMS;
    let (opts, _) = step.options(name, format!("sms: {}", describe_email(kind)));
    let booking = step.booking;
    // The machine queues texts only while the booking has a number; one turned off since is
    // answered by the machine when it sees this outcome (it emails instead).
    let Some(to) = booking.sms().number.clone() else {
        return Ok(ActionOutcome::SmsNotSent {
            reason: "not sent: the booking has no number to text".into(),
        });
    };
    let message = SmsMessage {
        booking_id: step.booking_id(),
        step: key.to_owned(),
        to,
        body: sms_text::body(booking, kind),
        send_before: kind.is_about_tour_time().then(|| booking.tour().start()),
    };
    detached::activity(step.ctx, BookingActivities::send_sms, message, opts)
        .await
        .map(|receipt| match (receipt.refused, receipt.skipped) {
            (Some(refusal), _) => ActionOutcome::SmsRefused {
                code: refusal.code,
                reason: refusal.message,
            },
            (None, Some(reason)) => ActionOutcome::SmsNotSent { reason },
            (None, None) => ActionOutcome::SmsSent {
                message_sid: Some(receipt.message_sid),
            },
        })
        .map_err(|e| step.failure(name, &e))
}

/// The data an email's template is rendered with.
fn template_data(booking: &BookingState, kind: EmailKind) -> serde_json::Value {
    let mut data = serde_json::json!({
        "lead_name": booking.lead().name,
        "property_id": booking.property_id().as_str(),
        "tour_start": booking.tour().start().to_rfc3339(),
        "tour_end": booking.tour().end().to_rfc3339(),
        "lead_timezone": booking.lead().timezone,
    });
    // Only the ledger's emails carry ledger data, so the pre-ledger emails (and their recorded
    // histories) keep exactly the data they always had.
    match booking.slot() {
        Slot::Refused {
            reason,
            alternatives,
        } if kind == EmailKind::SlotUnavailable => {
            data["refusal_reason"] = reason.clone().into();
            data["alternatives"] = alternatives
                .iter()
                .map(|w| {
                    serde_json::json!({
                        "start": w.start.to_rfc3339(),
                        "end": w.end.to_rfc3339(),
                    })
                })
                .collect();
        }
        Slot::Waitlisted { position } if kind == EmailKind::Waitlisted => {
            data["waitlist_position"] = (*position).into();
        }
        _ => {}
    }
    data
}

/// The ledger that holds this booking's slot: its open house, or its agent's calendar.
pub fn ledger_config(booking: &BookingState) -> LedgerConfig {
    match booking.kind() {
        // Capacity 0: a ledger started by its first RSVP takes the worker's default capacity.
        booking_proto::v1::BookingKind::OpenHouse => {
            LedgerConfig::open_house(booking.property_id().as_str(), 0)
        }
        _ => LedgerConfig::agent(booking.agent_id().as_str()),
    }
}

/// Activity options for the ledger calls: the default provider-call policy (retries with
/// backoff), as the ledger is another service from the booking's point of view.
pub fn ledger_options(
    settings: &BookingSettings,
    name: &str,
    summary: &str,
) -> temporalio_sdk::ActivityOptions {
    settings.activities.get(name).options(summary.to_owned())
}

pub fn window(tour: &booking_proto::domain::TourSlot) -> Window {
    Window {
        start: tour.start(),
        end: tour.end(),
    }
}

/// What the UI timeline says for an email step.
fn describe_email(kind: EmailKind) -> &'static str {
    match kind {
        EmailKind::AskToConfirm => "ask to confirm",
        EmailKind::PendingReminder => "reminder to confirm",
        EmailKind::Confirmation => "confirmation with directions",
        EmailKind::TourReminder => "tour reminder",
        EmailKind::QuestionnaireReminder => "please fill the questionnaire",
        EmailKind::TourPreparation => "tour preparation",
        EmailKind::RescheduleNotice => "reschedule notice",
        EmailKind::Cancellation => "cancellation and rebook",
        EmailKind::ReviewRequest => "review request",
        EmailKind::Waitlisted => "open house full: waitlisted",
        EmailKind::SeatGranted => "a seat freed up: you're in",
        EmailKind::SlotUnavailable => "slot unavailable, here are alternatives",
    }
}

fn split_name(name: &str) -> (Option<String>, Option<String>) {
    let mut parts = name.trim().splitn(2, ' ');
    let first = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
    let last = parts
        .next()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    (first, last)
}

fn status_word(booking: &BookingState) -> String {
    format!("{:?}", booking.status()).to_ascii_lowercase()
}

fn tour_type(booking: &BookingState) -> String {
    match booking.kind() {
        booking_proto::v1::BookingKind::OpenHouse => "open_house".into(),
        _ => "private_viewing".into(),
    }
}

/// The failure the machine records: the provider's error type and message from the
/// application failure Temporal retried, and how many attempts it took.
pub fn failure(err: &ActivityExecutionError, maximum_attempts: u32) -> ActionFailure {
    let Some(top) = err.failure() else {
        return ActionFailure {
            error_type: "PayloadConversion".into(),
            message: err.to_string(),
            attempts: 1,
        };
    };
    // An activity failure wraps the application failure the activity raised.
    let application = top.cause.as_deref().unwrap_or(top);
    let error_type = match &application.failure_info {
        Some(FailureInfo::ApplicationFailureInfo(info)) if !info.r#type.is_empty() => {
            info.r#type.clone()
        }
        Some(FailureInfo::TimeoutFailureInfo(_)) => "ActivityTimeout".into(),
        _ => "ActivityFailed".into(),
    };
    let attempts = match &top.failure_info {
        Some(FailureInfo::ActivityFailureInfo(info))
            if info.retry_state() == RetryState::MaximumAttemptsReached =>
        {
            maximum_attempts
        }
        _ => 1,
    };
    ActionFailure {
        error_type,
        message: application.message.clone(),
        attempts,
    }
}

#[cfg(test)]
mod tests {
    use booking_proto::{
        domain::{TourSlot, ValidBooking},
        v1,
    };
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::lifecycle::FollowUpPolicy;

    fn started(kind: v1::BookingKind, agent_id: &str, property_id: &str) -> BookingState {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let tour = TourSlot::new(
            now + Duration::days(2),
            now + Duration::days(2) + Duration::minutes(30),
        )
        .unwrap();
        let valid = ValidBooking::parse(v1::BookingRequest {
            booking_id: "bk_42".into(),
            event_id: "created-1".into(),
            kind: kind as i32,
            lead: Some(v1::Lead {
                email: "ada@example.com".into(),
                name: "Ada".into(),
                ..Default::default()
            }),
            property_id: property_id.into(),
            agent_id: agent_id.into(),
            tour: Some(tour.to_proto()),
            ..Default::default()
        })
        .unwrap();
        BookingState::start(valid, now, FollowUpPolicy::default())
            .unwrap()
            .0
    }

    #[test]
    fn agents_that_differ_only_in_padding_share_one_ledger() {
        let private = v1::BookingKind::PrivateViewing;
        let ledger = |agent: &str| ledger_config(&started(private, agent, "prop-7")).workflow_id();
        assert_eq!(ledger("agent-3"), "ledger-agent-agent-3");
        assert_eq!(ledger("agent-3 "), ledger("agent-3"));
        assert_eq!(ledger("\tagent-3"), ledger("agent-3"));
        let open_house = v1::BookingKind::OpenHouse;
        let seats =
            |property: &str| ledger_config(&started(open_house, "a", property)).workflow_id();
        assert_eq!(seats(" oh-1 "), "ledger-open-house-oh-1");
    }

    #[test]
    fn a_padded_agent_carried_from_an_earlier_run_reads_back_trimmed() {
        let state = started(v1::BookingKind::PrivateViewing, "agent-3", "prop-7");
        let json = serde_json::to_string(&state).unwrap();
        assert!(json.contains(r#""agent_id":"agent-3""#), "{json}");
        let padded = json.replace(r#""agent_id":"agent-3""#, r#""agent_id":"agent-3 ""#);
        let back: BookingState = serde_json::from_str(&padded).unwrap();
        assert_eq!(ledger_config(&back).workflow_id(), "ledger-agent-agent-3");
    }
}
