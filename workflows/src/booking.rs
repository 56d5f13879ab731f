//! The booking workflow: one long-running workflow per booking.
//!
//! Signals are queued in arrival order and applied one at a time by the run loop, so a signal
//! that arrives while an activity is running is neither lost nor applied half-way.

use std::collections::{BTreeSet, VecDeque};

use booking_activities::{
    BookingActivities,
    email::EmailMessage,
    policy::{PolicyTable, activity},
};
use booking_proto::{
    domain::ValidBooking,
    time::to_timestamp,
    v1::{
        BookingRequest, BookingSnapshot, BookingStatus, CancelSignal, ConfirmSignal, ExternalIds,
        RefusedEvent, StepRecord,
    },
};
use temporalio_common::search_attributes::Timestamp as SaTimestamp;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ApplicationFailure, SyncWorkflowContext, WorkflowContext, WorkflowContextView, WorkflowResult,
};

use crate::search_attributes as sa;

/// A signal waiting for the run loop.
#[derive(Debug, Clone)]
enum Inbound {
    Confirm(ConfirmSignal),
    Cancel(CancelSignal),
}

impl Inbound {
    fn event_id(&self) -> &str {
        match self {
            Inbound::Confirm(s) => &s.event_id,
            Inbound::Cancel(s) => &s.event_id,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Inbound::Confirm(_) => "confirm",
            Inbound::Cancel(_) => "cancel",
        }
    }
}

#[workflow]
pub struct BookingWorkflow {
    request: BookingRequest,
    status: BookingStatus,
    /// Event ids already applied or refused: providers redeliver, so a repeat is ignored.
    seen_events: BTreeSet<String>,
    inbox: VecDeque<Inbound>,
    steps_done: Vec<StepRecord>,
    refused: Vec<RefusedEvent>,
}

#[workflow_methods]
impl BookingWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, request: BookingRequest) -> Self {
        let seen_events = BTreeSet::from([request.event_id.clone()]);
        Self {
            request,
            status: BookingStatus::PendingConfirmation,
            seen_events,
            inbox: VecDeque::new(),
            steps_done: Vec::new(),
            refused: Vec::new(),
        }
    }

    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<BookingSnapshot> {
        let booking = ValidBooking::parse(ctx.state(|s| s.request.clone()))
            .map_err(ApplicationFailure::non_retryable)?;
        let policies = PolicyTable::default();
        Self::publish_search_attributes(ctx, &booking);

        Self::send_email(ctx, &booking, &policies, "ask-to-confirm", "Ask to confirm").await?;

        loop {
            ctx.wait_condition(|s| !s.inbox.is_empty()).await?;
            let Some(signal) = ctx.state_mut(|s| s.inbox.pop_front()) else {
                continue;
            };
            let status = ctx.state(|s| s.status);
            match (signal, status) {
                (Inbound::Confirm(_), BookingStatus::PendingConfirmation) => {
                    ctx.state_mut(|s| s.status = BookingStatus::Confirmed);
                    Self::publish_status(ctx);
                    Self::send_email(ctx, &booking, &policies, "confirmation", "Confirmation")
                        .await?;
                }
                (
                    Inbound::Cancel(_),
                    BookingStatus::PendingConfirmation | BookingStatus::Confirmed,
                ) => {
                    ctx.state_mut(|s| s.status = BookingStatus::Cancelled);
                    Self::publish_status(ctx);
                    Self::send_email(
                        ctx,
                        &booking,
                        &policies,
                        "cancellation",
                        "Cancellation notice",
                    )
                    .await?;
                    return Ok(ctx.state(|s| s.snapshot()));
                }
                (signal, status) => {
                    let at = ctx.workflow_time().map(|t| to_timestamp(t.into()));
                    let reason = format!(
                        "{} is not allowed while the booking is {}",
                        signal.name(),
                        status.as_str_name()
                    );
                    ctx.state_mut(|s| {
                        s.refused.push(RefusedEvent {
                            event_id: signal.event_id().to_owned(),
                            event: signal.name().to_owned(),
                            reason,
                            at,
                        })
                    });
                }
            }
        }
    }

    /// The lead confirmed the tour.
    #[signal]
    pub fn confirm(&mut self, _ctx: &mut SyncWorkflowContext<Self>, signal: ConfirmSignal) {
        self.enqueue(Inbound::Confirm(signal));
    }

    /// The booking is cancelled; the lead gets one cancellation notice and nothing after it.
    #[signal]
    pub fn cancel(&mut self, _ctx: &mut SyncWorkflowContext<Self>, signal: CancelSignal) {
        self.enqueue(Inbound::Cancel(signal));
    }

    /// Everything an operator needs to know about this booking, at this moment.
    #[query]
    pub fn status(&self, _ctx: &WorkflowContextView) -> BookingSnapshot {
        self.snapshot()
    }
}

impl BookingWorkflow {
    fn enqueue(&mut self, signal: Inbound) {
        if self.seen_events.insert(signal.event_id().to_owned()) {
            self.inbox.push_back(signal);
        }
    }

    fn snapshot(&self) -> BookingSnapshot {
        BookingSnapshot {
            booking_id: self.request.booking_id.clone(),
            status: self.status as i32,
            kind: self.request.kind,
            lead_email: self
                .request
                .lead
                .as_ref()
                .map(|l| l.email.to_ascii_lowercase())
                .unwrap_or_default(),
            property_id: self.request.property_id.clone(),
            agent_id: self.request.agent_id.clone(),
            tour: self.request.tour,
            external_ids: Some(ExternalIds {
                source_ref: self.request.source_ref.clone(),
                ..Default::default()
            }),
            steps_done: self.steps_done.clone(),
            refused_events: self.refused.clone(),
            events_seen: self.seen_events.len() as u32,
            ..Default::default()
        }
    }

    fn publish_search_attributes(ctx: &WorkflowContext<Self>, booking: &ValidBooking) {
        let start = booking.tour.start();
        ctx.upsert_search_attributes([
            sa::BOOKING_STATUS.value_set(status_keyword(BookingStatus::PendingConfirmation)),
            sa::CUSTOMER_EMAIL.value_set(booking.email.to_string()),
            sa::PROPERTY_ID.value_set(booking.request.property_id.clone()),
            sa::AGENT_ID.value_set(booking.request.agent_id.clone()),
            sa::TOUR_START.value_set(SaTimestamp::new(
                start.timestamp(),
                start.timestamp_subsec_nanos() as i32,
            )),
            sa::NEEDS_ATTENTION.value_set(false),
        ]);
    }

    fn publish_status(ctx: &WorkflowContext<Self>) {
        let status = ctx.state(|s| s.status);
        ctx.upsert_search_attributes([sa::BOOKING_STATUS.value_set(status_keyword(status))]);
    }

    async fn send_email(
        ctx: &WorkflowContext<Self>,
        booking: &ValidBooking,
        policies: &PolicyTable,
        step: &str,
        summary: &str,
    ) -> WorkflowResult<()> {
        let lead = booking.request.lead.clone().unwrap_or_default();
        let tour_start = booking.tour.start().to_rfc3339();
        let message = EmailMessage {
            booking_id: booking.booking_id.to_string(),
            step: step.to_owned(),
            to_email: booking.email.to_string(),
            to_name: lead.name,
            template_id: format!("booking-{step}"),
            template_data: serde_json::json!({ "tour_start": tour_start }),
        };
        let receipt = ctx
            .execute_activity(
                BookingActivities::send_email,
                message,
                policies.get(activity::SEND_EMAIL).options(summary),
            )
            .await?;
        let at = ctx.workflow_time().map(|t| to_timestamp(t.into()));
        ctx.state_mut(|s| {
            s.steps_done.push(StepRecord {
                name: step.to_owned(),
                at,
                detail: format!("email {}", receipt.message_id),
            })
        });
        Ok(())
    }
}

/// The keyword stored in `BookingStatus`: the enum name without its prefix (`CONFIRMED`).
pub fn status_keyword(status: BookingStatus) -> String {
    status
        .as_str_name()
        .trim_start_matches("BOOKING_STATUS_")
        .to_owned()
}
