//! The activities a booking workflow calls.
//!
//! Each activity runs inside a span carrying `booking_id`, `activity` and `attempt`, so every
//! provider-call log line (see [`crate::http`]) names the booking and attempt it belongs to.

use std::{future::Future, sync::Arc};

use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use tracing::Instrument;

use crate::{
    calendar::{Calendars, GoogleCalendar, GraphCalendar},
    config::{ConfigError, ProvidersConfig, SentMarkers},
    crm::CrmClient,
    email::{EmailMessage, EmailReceipt, GuardedSender, SendGridClient},
    error::ProviderError,
    http::Http,
    inputs::{
        CalendarEventOutput, CheckFreeBusyInput, CreateCrmTaskInput, CrmContactOutput,
        CrmTaskOutput, DeleteCalendarEventInput, EnsureCalendarEventInput, FreeBusyOutput,
        ListScheduledChangesInput, MoveCalendarEventInput, ScheduledChanges, UpdateCrmStageInput,
        UpdateCrmStageOutput, UpsertCrmContactInput,
    },
    policy::activity,
    redact::Redactor,
    scheduler::CalendlyClient,
    sent_marker::{Receipt, skip_if_passed},
    sms::{GuardedTexter, SmsMessage, SmsReceipt, TwilioClient},
    token::TokenProvider,
};

/// Provider clients shared by every activity execution of a worker.
#[derive(Debug, Clone)]
pub struct BookingActivities {
    email: GuardedSender,
    sms: GuardedTexter,
    calendar: Calendars,
    crm: CrmClient,
    scheduler: CalendlyClient,
}

impl BookingActivities {
    pub fn new(config: ProvidersConfig) -> Result<Self, ConfigError> {
        // One pooled HTTP client for every provider; per-request timeouts bound a hung call
        // below the activity's start-to-close timeout so it fails as a transport error.
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .connect_timeout(std::time::Duration::from_secs(5))
            .build()
            .expect("a reqwest client with only timeouts set always builds");
        let http = Http::new(client, Redactor::new(config.secrets()));
        let tokens = TokenProvider::new(
            http.clone(),
            config.google_oauth.clone(),
            config.microsoft_identity.clone(),
        );
        let crm = CrmClient::new(http.clone(), config.hubspot);
        let markers = (config.sent_markers == SentMarkers::Crm).then(|| crm.clone());
        Ok(Self {
            email: GuardedSender::new(
                SendGridClient::new(http.clone(), config.sendgrid),
                markers.clone(),
            ),
            sms: GuardedTexter::new(TwilioClient::new(http.clone(), config.twilio), markers),
            scheduler: CalendlyClient::new(http.clone(), config.calendly),
            calendar: Calendars::new(
                GoogleCalendar::new(http.clone(), config.google_calendar, tokens.clone()),
                GraphCalendar::new(http, config.microsoft_graph, tokens),
            ),
            crm,
        })
    }

    pub fn calendar(&self) -> &Calendars {
        &self.calendar
    }

    pub fn crm(&self) -> &CrmClient {
        &self.crm
    }

    pub fn scheduler(&self) -> &CalendlyClient {
        &self.scheduler
    }
}

/// Runs one activity body inside its span and turns its error into a Temporal failure.
async fn run<T>(
    ctx: &ActivityContext,
    name: &'static str,
    booking_id: &str,
    body: impl Future<Output = Result<T, ProviderError>>,
) -> Result<T, ActivityError> {
    let attempt = ctx.info().attempt;
    let span = tracing::info_span!("activity", activity = name, booking_id, attempt);
    async {
        body.await.map_err(|e| {
            tracing::warn!(
                error_type = e.type_name(),
                retryable = e.is_retryable(),
                "activity failed: {e}"
            );
            e.into_activity_error()
        })
    }
    .instrument(span)
    .await
}

/// `send` (not yet started), unless the moment its message was about (`send_before`) has
/// passed: then the receipt saying so, without sending.
async fn unless_passed<R: Receipt>(
    send_before: Option<chrono::DateTime<chrono::Utc>>,
    step: &str,
    send: impl Future<Output = Result<R, ProviderError>>,
) -> Result<R, ProviderError> {
    match skip_if_passed(send_before, step) {
        Some(skipped) => Ok(skipped),
        None => send.await,
    }
}

#[activities]
impl BookingActivities {
    /// Sends one email of a booking's sequence, at most once per step as far as the guard in
    /// [`crate::email`] can tell.
    #[activity(name = activity::SEND_EMAIL)]
    pub async fn send_email(
        self: Arc<Self>,
        ctx: ActivityContext,
        message: EmailMessage,
    ) -> Result<EmailReceipt, ActivityError> {
        let send = self.email.send(&message);
        let (booking_id, step) = (&message.booking_id, &message.step);
        let not_late = unless_passed(message.send_before, step, send);
        run(&ctx, activity::SEND_EMAIL, booking_id, not_late).await
    }

    /// Sends one text of a booking's sequence, at most once per step as far as the guard in
    /// [`crate::sms`] can tell. A number Twilio refuses for good is not a failure: the receipt
    /// says so ([`SmsReceipt::refused`]) and the workflow emails instead.
    #[activity(name = activity::SEND_SMS)]
    pub async fn send_sms(
        self: Arc<Self>,
        ctx: ActivityContext,
        message: SmsMessage,
    ) -> Result<SmsReceipt, ActivityError> {
        let send = self.sms.send(&message);
        let (booking_id, step) = (&message.booking_id, &message.step);
        let not_late = unless_passed(message.send_before, step, send);
        run(&ctx, activity::SEND_SMS, booking_id, not_late).await
    }

    /// Makes the booking's calendar event exist as described (idempotent).
    #[activity(name = activity::ENSURE_CALENDAR_EVENT)]
    pub async fn ensure_calendar_event(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: EnsureCalendarEventInput,
    ) -> Result<CalendarEventOutput, ActivityError> {
        run(
            &ctx,
            activity::ENSURE_CALENDAR_EVENT,
            &input.booking_id,
            self.calendar.ensure_event(&input),
        )
        .await
    }

    /// Moves the booking's calendar event to the new time.
    #[activity(name = activity::MOVE_CALENDAR_EVENT)]
    pub async fn move_calendar_event(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: MoveCalendarEventInput,
    ) -> Result<CalendarEventOutput, ActivityError> {
        run(
            &ctx,
            activity::MOVE_CALENDAR_EVENT,
            &input.booking_id,
            self.calendar.move_event(&input),
        )
        .await
    }

    /// Deletes the booking's calendar event (already gone counts as done).
    #[activity(name = activity::DELETE_CALENDAR_EVENT)]
    pub async fn delete_calendar_event(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: DeleteCalendarEventInput,
    ) -> Result<CalendarEventOutput, ActivityError> {
        run(
            &ctx,
            activity::DELETE_CALENDAR_EVENT,
            &input.booking_id,
            self.calendar.delete_event(&input),
        )
        .await
    }

    /// Is the window free on the real calendar (the final guard before creating an event)?
    #[activity(name = activity::CHECK_FREE_BUSY)]
    pub async fn check_free_busy(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: CheckFreeBusyInput,
    ) -> Result<FreeBusyOutput, ActivityError> {
        run(
            &ctx,
            activity::CHECK_FREE_BUSY,
            &input.booking_id,
            self.calendar.free_busy(&input),
        )
        .await
    }

    /// Creates or updates the lead's CRM contact (keyed by email).
    #[activity(name = activity::UPSERT_CRM_CONTACT)]
    pub async fn upsert_crm_contact(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: UpsertCrmContactInput,
    ) -> Result<CrmContactOutput, ActivityError> {
        run(
            &ctx,
            activity::UPSERT_CRM_CONTACT,
            &input.booking_id,
            self.crm.upsert_contact(&input),
        )
        .await
    }

    /// Records the booking's new state on the CRM contact.
    #[activity(name = activity::UPDATE_CRM_STAGE)]
    pub async fn update_crm_stage(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: UpdateCrmStageInput,
    ) -> Result<UpdateCrmStageOutput, ActivityError> {
        run(
            &ctx,
            activity::UPDATE_CRM_STAGE,
            &input.booking_id,
            self.crm.update_stage(&input),
        )
        .await
    }

    /// Creates a CRM task for a sales rep, at most once per booking step.
    #[activity(name = activity::CREATE_CRM_TASK)]
    pub async fn create_crm_task(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: CreateCrmTaskInput,
    ) -> Result<CrmTaskOutput, ActivityError> {
        run(
            &ctx,
            activity::CREATE_CRM_TASK,
            &input.booking_id,
            self.crm.create_task(&input),
        )
        .await
    }

    /// What the scheduler (Calendly) holds for events starting in the window: every event,
    /// active or canceled, with all its invitees. Reconciliation's view of the scheduler;
    /// read-only, so any attempt may be retried.
    #[activity(name = activity::LIST_SCHEDULED_CHANGES)]
    pub async fn list_scheduled_changes(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: ListScheduledChangesInput,
    ) -> Result<ScheduledChanges, ActivityError> {
        // Not about one booking: the span's booking id stays empty.
        run(
            &ctx,
            activity::LIST_SCHEDULED_CHANGES,
            "",
            self.scheduler.list_scheduled_changes(&input),
        )
        .await
    }
}
