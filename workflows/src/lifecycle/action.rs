//! Side effects the machine asks for, and what the driver reports back about them.
//!
//! The machine never performs an action: it queues one, the driver runs it as a Temporal
//! activity (one at a time, in queue order) and feeds the result back as an event. Ordering is
//! what makes "delete the calendar event, then tell the CRM, then email the lead" hold.

use std::fmt;

use booking_proto::domain::TourSlot;
use serde::{Deserialize, Serialize};

use super::domain_serde;

/// Stable identity of one queued action within a booking. It survives an operator retry, so the
/// history shows one action attempted twice rather than two actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActionId(pub u64);

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "action #{}", self.0)
    }
}

/// Why an email is sent. The template comes from the policy; the kind tells the email activity
/// which data to render (a questionnaire link, the new tour time, a rebook link) and lets tests
/// and operators reason about the sequence without parsing template ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    AskToConfirm,
    PendingReminder,
    Confirmation,
    TourReminder,
    QuestionnaireReminder,
    TourPreparation,
    RescheduleNotice,
    Cancellation,
    ReviewRequest,
    /// Open house full: the lead is on the waitlist (slot ledger path only).
    Waitlisted,
    /// A seat came free and the waitlisted lead got it.
    SeatGranted,
    /// The slot was taken: the booking is refused, with alternatives.
    SlotUnavailable,
}

impl EmailKind {
    /// Emails whose content is about one particular tour time, and so are wrong once it moves.
    pub fn is_about_tour_time(self) -> bool {
        matches!(
            self,
            Self::TourReminder | Self::QuestionnaireReminder | Self::TourPreparation
        )
    }

    /// Emails that only make sense while the lead has not confirmed yet.
    pub fn is_pending_only(self) -> bool {
        matches!(self, Self::AskToConfirm | Self::PendingReminder)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrmStage {
    Cancelled,
    TourComplete,
}

impl fmt::Display for CrmStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cancelled => "cancelled",
            Self::TourComplete => "tour-complete",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrmTaskKind {
    /// A sales rep should call a lead who has not confirmed.
    CallLead,
}

impl fmt::Display for CrmTaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CallLead => "call-lead",
        })
    }
}

/// One side effect. Identifiers the action works on (calendar event id, CRM contact id, lead
/// email) are read by the driver from the state's external ids when it runs the action, so an
/// id learned after queueing (a create that finished in the meantime) is still used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// The event id is chosen by the activity from the booking id, which makes a retried
    /// insert answer 409 `duplicate` instead of creating a second event.
    CreateCalendarEvent {
        #[serde(with = "domain_serde::tour_slot")]
        tour: TourSlot,
    },
    MoveCalendarEvent {
        #[serde(with = "domain_serde::tour_slot")]
        tour: TourSlot,
    },
    DeleteCalendarEvent,
    UpsertCrmContact,
    UpdateCrmStage {
        stage: CrmStage,
    },
    CreateCrmTask {
        kind: CrmTaskKind,
        subject: String,
    },
    /// `step` is unique per booking and logical send; the email activity de-duplicates on
    /// (booking id, step) because SendGrid has no idempotency key of its own.
    SendEmail {
        kind: EmailKind,
        template: String,
        step: String,
    },
    /// A text message for a follow-up step the policy sends by SMS. `step` is the step's key,
    /// the same as its email would have; the SMS activity de-duplicates on (booking id, step)
    /// because Twilio has no idempotency key either. The driver reads the number from the
    /// state when it runs the action.
    SendSms {
        kind: EmailKind,
        step: String,
    },
    /// Give the booking's seats back to its slot ledger (which promotes waiting bookings).
    ReleaseSlot,
    /// Move the booking's holding in its slot ledger to the new tour time. `from` is the
    /// window the ledger holds now, which the booking returns to if the ledger refuses.
    MoveSlot {
        #[serde(with = "domain_serde::tour_slot")]
        tour: TourSlot,
        #[serde(with = "domain_serde::tour_slot")]
        from: TourSlot,
    },
}

impl Action {
    /// How the action appears in the booking's history and in failures.
    pub fn step_name(&self) -> String {
        match self {
            Self::CreateCalendarEvent { .. } => "calendar.create".into(),
            Self::MoveCalendarEvent { .. } => "calendar.move".into(),
            Self::DeleteCalendarEvent => "calendar.delete".into(),
            Self::UpsertCrmContact => "crm.upsert-contact".into(),
            Self::UpdateCrmStage { stage } => format!("crm.stage:{stage}"),
            Self::CreateCrmTask { kind, .. } => format!("crm.task:{kind}"),
            Self::SendEmail { step, .. } => format!("email:{step}"),
            Self::SendSms { step, .. } => format!("sms:{step}"),
            Self::ReleaseSlot => "ledger.release".into(),
            Self::MoveSlot { .. } => "ledger.move".into(),
        }
    }

    /// Why the lead gets this message, by email or text.
    pub fn message_kind(&self) -> Option<EmailKind> {
        match self {
            Self::SendEmail { kind, .. } | Self::SendSms { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    pub fn is_calendar_change(&self) -> bool {
        matches!(
            self,
            Self::MoveCalendarEvent { .. } | Self::DeleteCalendarEvent
        )
    }
}

/// What a successful action reports; the variant must answer the action it completes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ActionOutcome {
    CalendarEventCreated {
        calendar_event_id: String,
    },
    CalendarEventMoved,
    CalendarEventDeleted,
    CrmContactUpserted {
        crm_contact_id: String,
    },
    CrmStageUpdated,
    CrmTaskCreated {
        crm_task_id: String,
    },
    /// `message_id` is absent when the activity found the step already sent and skipped it.
    EmailSent {
        message_id: Option<String>,
    },
    /// The email activity deliberately did not send (its moment had passed while the booking
    /// waited, e.g. a tour reminder delayed past the tour by an outage). The step is settled.
    EmailNotSent {
        reason: String,
    },
    /// `message_sid` is absent when the activity found the step already sent and skipped it.
    SmsSent {
        message_sid: Option<String>,
    },
    /// The text's moment had passed (as for [`ActionOutcome::EmailNotSent`]).
    SmsNotSent {
        reason: String,
    },
    /// Twilio refused the number for good (21211 not a number, 21610 opted out, 21614 not a
    /// mobile): texts are turned off for the booking and the step goes by email instead.
    SmsRefused {
        code: u32,
        reason: String,
    },
    SlotReleased,
    /// `confirmed` is false when the ledger refused the new window (the old holding stays).
    SlotMoved {
        confirmed: bool,
        detail: String,
    },
}

impl ActionOutcome {
    pub fn answers(&self, action: &Action) -> bool {
        matches!(
            (self, action),
            (
                Self::CalendarEventCreated { .. },
                Action::CreateCalendarEvent { .. }
            ) | (Self::CalendarEventMoved, Action::MoveCalendarEvent { .. })
                | (Self::CalendarEventDeleted, Action::DeleteCalendarEvent)
                | (Self::CrmContactUpserted { .. }, Action::UpsertCrmContact)
                | (Self::CrmStageUpdated, Action::UpdateCrmStage { .. })
                | (Self::CrmTaskCreated { .. }, Action::CreateCrmTask { .. })
                | (Self::EmailSent { .. }, Action::SendEmail { .. })
                | (Self::EmailNotSent { .. }, Action::SendEmail { .. })
                | (Self::SmsSent { .. }, Action::SendSms { .. })
                | (Self::SmsNotSent { .. }, Action::SendSms { .. })
                | (Self::SmsRefused { .. }, Action::SendSms { .. })
                | (Self::SlotReleased, Action::ReleaseSlot)
                | (Self::SlotMoved { .. }, Action::MoveSlot { .. })
        )
    }

    /// The history line an operator reads.
    pub fn describe(&self) -> String {
        match self {
            Self::CalendarEventCreated { calendar_event_id } => {
                format!("calendar event {calendar_event_id} created")
            }
            Self::CalendarEventMoved => "calendar event moved".into(),
            Self::CalendarEventDeleted => "calendar event deleted".into(),
            Self::CrmContactUpserted { crm_contact_id } => {
                format!("CRM contact {crm_contact_id} up to date")
            }
            Self::CrmStageUpdated => "CRM stage updated".into(),
            Self::CrmTaskCreated { crm_task_id } => format!("CRM task {crm_task_id} created"),
            Self::EmailSent {
                message_id: Some(id),
            } => format!("sent (message {id})"),
            Self::EmailSent { message_id: None } => "already sent earlier; not sent again".into(),
            Self::EmailNotSent { reason } | Self::SmsNotSent { reason } => reason.clone(),
            Self::SmsSent {
                message_sid: Some(sid),
            } => format!("texted (message {sid})"),
            Self::SmsSent { message_sid: None } => "already texted earlier; not sent again".into(),
            Self::SmsRefused { code, reason } => {
                format!("Twilio refused the number ({code}): {reason}")
            }
            Self::SlotReleased => "slot released in the ledger".into(),
            Self::SlotMoved { detail, .. } => detail.clone(),
        }
    }
}

/// An action that failed for good: the driver reports it only after Temporal's retry policy
/// gave up, so the machine does not retry it on its own but waits for an operator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionFailure {
    /// Stable failure type name, as used in non-retryable application errors.
    pub error_type: String,
    pub message: String,
    pub attempts: u32,
}
