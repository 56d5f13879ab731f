//! The booking workflow: one long-running workflow per booking, a thin driver around the pure
//! [`lifecycle`](crate::lifecycle) state machine.
//!
//! The driver owns only what the machine cannot: Temporal. It turns signals into events (queued
//! in arrival order, so none is lost or applied half-way), runs the machine's actions one at a
//! time as activities while still applying signals that arrive meanwhile, arms one timer for
//! the next planned step, and keeps search attributes in step. Every decision is the
//! machine's.

mod actions;
mod attributes;
pub mod client;
mod signals;
mod sms_text;
pub mod summary;

use std::{collections::VecDeque, time::Duration};

use booking_proto::{
    domain::{FieldError, ValidBooking},
    time::to_timestamp,
    v1::{
        BookingContinuation, BookingRequest, BookingSnapshot, BookingStatus, CancelSignal,
        ChangeAccepted, ChangeRequest, ConfirmSignal, QuestionnaireVisitedSignal, RefusedEvent,
        RescheduleSignal, RetrySignal, SkipSignal, SmsOptOutSignal, SmsStatusSignal,
        TourCompleteSignal,
    },
};
use chrono::{DateTime, Utc};
use futures::FutureExt;
use temporalio_common::{RetryPolicy, error::ActivityExecutionError};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ApplicationFailure, CancellableFuture, ContinueAsNewOptions, LocalActivityOptions,
    SyncWorkflowContext, TimerOptions, WaitConditionOptions, WorkflowCancellationToken,
    WorkflowContext, WorkflowContextView, WorkflowResult,
};

pub use attributes::status_keyword;

/// Patch id of the slot ledger path: histories recorded before it take the old path.
pub const SLOT_LEDGER_PATCH: &str = "slot-ledger";

/// Patch id of timer-driven due steps. Before it, a step already due when the booking went to
/// sleep was queued at once and a fired timer queued whatever was due at the activation's
/// clock; both depend on the workflow clock, which Temporal does not keep identical between a
/// live run and its replay across a timed-out workflow task. After it, every due step waits on a
/// timer (at least one second), and a fired timer queues exactly what was due at the instant it
/// was armed for, so the commands a booking issues depend only on its history.
pub const TIMER_DRIVEN_DUE_PATCH: &str = "timer-driven-due";

/// Patch id of ledger calls that never end a booking. Before it, a ledger or free/busy call that
/// failed for good failed the whole booking workflow. After it, a ledger call is retried after
/// a durable pause (with `NeedsAttention` set meanwhile) until it succeeds, and a free/busy
/// check that failed for good leaves the ledger's reservation in charge.
pub const RESILIENT_LEDGER_PATCH: &str = "resilient-ledger-calls";

/// Patch id of bounded histories. Before it, a booking ran in one run whatever its history's
/// length. After it, a run whose history passes the booking's `history_limit` (or whose server
/// suggests it) hands the whole booking to a fresh run through continue-as-new, between two
/// actions, so no flood of signals can take a booking to Temporal's per-run limits.
pub const BOUNDED_HISTORY_PATCH: &str = "bounded-history";

/// Patch id of bookings that end before they begin. Before it, a booking started by a cancel
/// (the shim's signal-with-start for a cancel that overtook, or never had, its create) ran the
/// whole cancellation, a slot reserved and released, a CRM contact and a cancellation email
/// for a lead who was never booked; and a tour already past was booked like any other. After
/// it, a cancel waiting when the booking starts ends it with nothing done, and a tour that
/// started more than a few minutes ago is refused with its reason; neither touches a provider.
pub const END_BEFORE_START_PATCH: &str = "end-before-start";

/// Which behaviour changes this booking's history was recorded with.
#[derive(Debug, Clone, Copy)]
struct Patches {
    slot_ledger: bool,
    timer_driven_due: bool,
    resilient_ledger: bool,
    bounded_history: bool,
    end_before_start: bool,
}

/// How long a booking waits before calling its ledger again after a call failed for good.
const LEDGER_RETRY_PAUSE: Duration = Duration::from_secs(60);

use booking_activities::{BookingActivities, inputs::CheckFreeBusyInput, policy::activity};

use crate::{
    detached,
    ledger::{
        ReserveRequest, SeatGranted,
        calls::{
            LEDGER_RELEASE, LEDGER_RESERVE, ReleaseSlot, ReleaseSlotInput, ReserveSlot,
            ReserveSlotInput,
        },
    },
    lifecycle::{
        AfterCalendarCheck, AfterReserve, BookingState, Event, Outcome, REFUSALS_KEPT, snapshot,
    },
    settings::{BookingSettings, SettingsSource},
};

#[workflow]
pub struct BookingWorkflow {
    request: BookingRequest,
    /// `None` until the run has read its settings; signals wait in `inbox` until then.
    booking: Option<BookingState>,
    inbox: VecDeque<Event>,
    /// Signals whose payload did not parse: refused before reaching the machine.
    malformed: Vec<RefusedEvent>,
    /// Workflow time when the run loop last applied events; update validators, which have no
    /// clock of their own, judge time-relative rules against it.
    clock: Option<DateTime<Utc>>,
    /// Temporal asked to cancel the workflow (the UI's Cancel, `temporal workflow cancel`) and
    /// the request is in the inbox as the booking's own cancel event.
    cancel_requested: bool,
    /// Runs of this booking before this one (continue-as-new).
    earlier_runs: u32,
}

#[workflow_methods]
impl BookingWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, request: BookingRequest) -> Self {
        let (malformed, cancel_requested, earlier_runs) = match &request.continued {
            Some(c) => (c.malformed.clone(), c.cancel_requested, c.runs),
            None => (Vec::new(), false, 0),
        };
        Self {
            request,
            booking: None,
            inbox: VecDeque::new(),
            malformed,
            clock: None,
            cancel_requested,
            earlier_runs,
        }
    }

    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<BookingSnapshot> {
        // Every patch is decided here, before the first await: a patch marker must land in the
        // same workflow task on replay as live, and a local activity or an activity before the
        // call could push it into a later task (a task boundary the replay does not see).
        let patches = Patches {
            slot_ledger: ctx.patched(SLOT_LEDGER_PATCH),
            timer_driven_due: ctx.patched(TIMER_DRIVEN_DUE_PATCH),
            resilient_ledger: ctx.patched(RESILIENT_LEDGER_PATCH),
            bounded_history: ctx.patched(BOUNDED_HISTORY_PATCH),
            end_before_start: ctx.patched(END_BEFORE_START_PATCH),
        };
        let continued = ctx.state(|s| s.request.continued.clone());
        let valid = ValidBooking::parse(ctx.state(|s| s.request.clone()))
            .map_err(ApplicationFailure::non_retryable)?;
        let settings = detached::local_activity(
            ctx,
            SettingsSource::booking_settings,
            valid.agent_id.to_string(),
            LocalActivityOptions::builder()
                .start_to_close_timeout(Duration::from_secs(10))
                .retry_policy(RetryPolicy::builder().maximum_attempts(5).build())
                .build(),
        )
        .await?;
        let booking = match continued {
            // A continued booking already holds its slot and has done its first steps: it
            // picks up exactly where the earlier run stopped.
            Some(continued) => serde_json::from_str::<BookingState>(&continued.state_json)
                .map_err(|e| {
                    ApplicationFailure::non_retryable(format!(
                        "the state carried from the earlier run does not read back: {e}"
                    ))
                })?,
            None => {
                let started_at = now(ctx)?;
                let (mut booking, _) =
                    BookingState::start(valid, started_at, settings.follow_up.clone())
                        .map_err(ApplicationFailure::non_retryable)?;
                if patches.end_before_start {
                    // Whatever reached the booking with (or before) its start is in the inbox
                    // by now, in history order: the same on every replay.
                    let early_cancel = ctx.state_mut(|s| s.take_first_cancel());
                    if let Some(cancel) = early_cancel {
                        booking.cancel_before_start(&cancel, started_at);
                    } else if let Some(reason) = booking.past_start(started_at) {
                        booking.refuse_at_start(&reason, started_at);
                    }
                }
                // Bookings recorded before the slot ledger replay without reserving; new ones
                // reserve before anything else happens.
                if patches.slot_ledger && !booking.status().is_closed() {
                    Self::reserve_slot(ctx, &settings, &mut booking, patches).await?;
                }
                booking
            }
        };
        ctx.state_mut(|s| s.booking = Some(booking));

        let mut published = attributes::Published::default();
        loop {
            Self::apply_inbox(ctx)?;
            published = Self::publish(ctx, published);
            if ctx.state(|s| s.booking().is_finished()) {
                return Ok(ctx.state(Self::snapshot));
            }
            // Between two actions nothing is in flight and the inbox is empty: the booking is
            // exactly its state, which is all the next run needs.
            if patches.bounded_history && Self::history_is_long(ctx, &settings) {
                let next = ctx
                    .state(Self::continuation)
                    .map_err(ApplicationFailure::non_retryable)?;
                ctx.continue_as_new(next, ContinueAsNewOptions::default())?;
            }
            let next = ctx.state_mut(|s| {
                let booking = s.booking_mut();
                let next = booking.next_action();
                if let Some((id, _)) = &next {
                    booking.mark_in_flight(*id);
                }
                next.map(|(id, action)| (id, action, booking.clone()))
            });
            match next {
                Some((id, action, booking)) => {
                    let event =
                        Self::run_action(ctx, &settings, &booking, id, action, &mut published)
                            .await?;
                    ctx.state_mut(|s| s.inbox.push_front(event));
                }
                None => Self::wait_for_due_or_signal(ctx, patches.timer_driven_due).await?,
            }
        }
    }

    /// The lead confirmed the tour.
    #[signal]
    pub fn confirm(&mut self, ctx: &mut SyncWorkflowContext<Self>, signal: ConfirmSignal) {
        self.receive(ctx, "confirm", &signal.event_id, signals::confirm(&signal));
    }

    /// The tour moves to a new time; the calendar event moves with it.
    #[signal]
    pub fn reschedule(&mut self, ctx: &mut SyncWorkflowContext<Self>, signal: RescheduleSignal) {
        self.receive(
            ctx,
            "reschedule",
            &signal.event_id,
            signals::reschedule(&signal),
        );
    }

    /// The booking is cancelled; the lead gets one cancellation notice and nothing after it.
    #[signal]
    pub fn cancel(&mut self, ctx: &mut SyncWorkflowContext<Self>, signal: CancelSignal) {
        self.receive(ctx, "cancel", &signal.event_id, signals::cancel(&signal));
    }

    /// The lead opened the questionnaire link: form reminders stop, tour preparation starts.
    #[signal]
    pub fn questionnaire_visited(
        &mut self,
        ctx: &mut SyncWorkflowContext<Self>,
        signal: QuestionnaireVisitedSignal,
    ) {
        let event = signals::questionnaire_visited(&signal);
        self.receive(ctx, "questionnaire_visited", &signal.event_id, event);
    }

    /// The agent marked the tour as done.
    #[signal]
    pub fn tour_complete(
        &mut self,
        ctx: &mut SyncWorkflowContext<Self>,
        signal: TourCompleteSignal,
    ) {
        let event = signals::tour_complete(&signal);
        self.receive(ctx, "tour_complete", &signal.event_id, event);
    }

    /// Twilio reported on one of the booking's text messages.
    #[signal]
    pub fn sms_status(&mut self, ctx: &mut SyncWorkflowContext<Self>, signal: SmsStatusSignal) {
        let event = signals::sms_status(&signal);
        self.receive(ctx, "sms_status", &signal.event_id, event);
    }

    /// The lead texted STOP: later steps go by email.
    #[signal]
    pub fn sms_opt_out(&mut self, ctx: &mut SyncWorkflowContext<Self>, signal: SmsOptOutSignal) {
        let event = signals::sms_opt_out(&signal);
        self.receive(ctx, "sms_opt_out", &signal.event_id, event);
    }

    /// The slot ledger gave this waitlisted booking a seat that came free.
    #[signal]
    pub fn seat_granted(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _grant: SeatGranted) {
        self.inbox.push_back(Event::SeatGranted);
    }

    /// An operator retries the step that failed for good.
    #[signal]
    pub fn retry(&mut self, ctx: &mut SyncWorkflowContext<Self>, signal: RetrySignal) {
        self.receive(ctx, "retry", &signal.event_id, signals::retry(&signal));
    }

    /// An operator gives up on the step that failed for good.
    #[signal]
    pub fn skip(&mut self, ctx: &mut SyncWorkflowContext<Self>, signal: SkipSignal) {
        self.receive(ctx, "skip", &signal.event_id, signals::skip(&signal));
    }

    /// Refuses at once what the booking would refuse, so a page can tell the lead right away.
    #[update_validator(request_change)]
    fn validate_request_change(
        &self,
        _ctx: &WorkflowContextView,
        change: &ChangeRequest,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let event = signals::change(change)?;
        if matches!(event, Event::QuestionnaireVisited { .. }) {
            return self.validate_visit(&event);
        }
        let Some(booking) = &self.booking else {
            return Err("the booking is still starting; try again in a moment".into());
        };
        let now = self
            .clock
            .ok_or("the booking is still starting; try again in a moment")?;
        // Dry-run on a copy, after whatever is still queued, exactly as the run loop will.
        let mut trial = booking.clone();
        for queued in &self.inbox {
            let _ = trial.apply(queued.clone(), now);
        }
        trial
            .apply(event, now)
            .map(|_| ())
            .map_err(|refusal| refusal.reason.into())
    }

    /// One of the lead's changes, accepted (the validator refused what is not allowed).
    #[update]
    pub fn request_change(
        &mut self,
        _ctx: &mut SyncWorkflowContext<Self>,
        change: ChangeRequest,
    ) -> ChangeAccepted {
        let event = signals::change(&change).expect("the validator accepted this change");
        let event_id = event
            .event_id()
            .map(ToString::to_string)
            .unwrap_or_default();
        let duplicate = self.booking.as_ref().is_some_and(|b| b.has_seen(&event_id))
            || self
                .inbox
                .iter()
                .any(|e| e.event_id().map(|id| id.as_str()) == Some(event_id.as_str()));
        self.inbox.push_back(event);
        ChangeAccepted {
            event_id,
            duplicate,
        }
    }

    /// Everything an operator needs to know about this booking, at this moment.
    #[query]
    pub fn status(&self, _ctx: &WorkflowContextView) -> BookingSnapshot {
        self.snapshot()
    }
}

impl BookingWorkflow {
    /// Whether this run should hand the booking to a fresh one: past the booking's history
    /// limit, or when the server suggests it (history size, not only length).
    fn history_is_long(ctx: &WorkflowContext<Self>, settings: &BookingSettings) -> bool {
        let limit = settings.history_limit.max(MIN_HISTORY_LIMIT);
        (ctx.history_length() >= limit || ctx.continue_as_new_suggested())
            && ctx.all_handlers_finished()
            && ctx.state(|s| s.inbox.is_empty())
    }

    /// The input of the next run: the booking as first requested, plus everything it has
    /// remembered since.
    fn continuation(&self) -> Result<BookingRequest, String> {
        let state_json = serde_json::to_string(self.booking())
            .map_err(|e| format!("the booking state does not serialise: {e}"))?;
        Ok(BookingRequest {
            continued: Some(BookingContinuation {
                state_json,
                malformed: self.malformed.clone(),
                cancel_requested: self.cancel_requested,
                runs: self.earlier_runs + 1,
            }),
            ..self.request.clone()
        })
    }

    /// A questionnaire visit is worth a history event only the first time: a link opened again
    /// (or by a mail scanner, or a thousand times) is refused here, before it is written
    /// anywhere, with [`VISIT_ALREADY_RECORDED`]. A visit while the booking is still starting
    /// is accepted and waits in the inbox, as a signal would.
    fn validate_visit(&self, event: &Event) -> ValidatorResult {
        let event_id = event.event_id().map(|id| id.as_str()).unwrap_or_default();
        let queued = self.inbox.iter().any(|queued| {
            matches!(queued, Event::QuestionnaireVisited { .. })
                || queued.event_id().map(|id| id.as_str()) == Some(event_id)
        });
        if queued {
            return Err(VISIT_ALREADY_RECORDED.into());
        }
        let Some(booking) = &self.booking else {
            return Ok(());
        };
        if booking.questionnaire_visited() || booking.has_seen(event_id) {
            return Err(VISIT_ALREADY_RECORDED.into());
        }
        let now = self
            .clock
            .ok_or("the booking is still starting; try again in a moment")?;
        booking
            .clone()
            .apply(event.clone(), now)
            .map(|_| ())
            .map_err(|refusal| refusal.reason.into())
    }

    /// Removes and returns the first cancel waiting in the inbox, if any.
    fn take_first_cancel(&mut self) -> Option<Event> {
        let index = self
            .inbox
            .iter()
            .position(|e| matches!(e, Event::Cancel { .. }))?;
        self.inbox.remove(index)
    }

    fn booking(&self) -> &BookingState {
        self.booking
            .as_ref()
            .expect("the run creates the booking before using it")
    }

    fn booking_mut(&mut self) -> &mut BookingState {
        self.booking
            .as_mut()
            .expect("the run creates the booking before using it")
    }

    fn receive(
        &mut self,
        ctx: &SyncWorkflowContext<Self>,
        name: &str,
        raw_event_id: &str,
        parsed: Result<Event, FieldError>,
    ) {
        match parsed {
            Ok(event) => self.inbox.push_back(event),
            Err(error) => {
                self.malformed.push(RefusedEvent {
                    event_id: raw_event_id.to_owned(),
                    event: name.to_owned(),
                    reason: format!("malformed payload: {error}"),
                    at: ctx.workflow_time().map(|t| to_timestamp(t.into())),
                });
                // Carried through continue-as-new like the machine's own refusals, and
                // bounded the same way.
                if self.malformed.len() > REFUSALS_KEPT {
                    self.malformed.remove(0);
                }
            }
        }
    }

    fn snapshot(&self) -> BookingSnapshot {
        let mut snapshot = match &self.booking {
            Some(booking) => snapshot(booking),
            None => BookingSnapshot {
                booking_id: self.request.booking_id.clone(),
                status: BookingStatus::PendingConfirmation as i32,
                kind: self.request.kind,
                property_id: self.request.property_id.clone(),
                agent_id: self.request.agent_id.clone(),
                tour: self.request.tour,
                ..Default::default()
            },
        };
        snapshot
            .refused_events
            .extend(self.malformed.iter().cloned());
        snapshot
    }

    /// Applies every queued event, in order. Refusals and duplicates are recorded by the
    /// machine itself; there is nothing else to do with them here.
    fn apply_inbox(ctx: &WorkflowContext<Self>) -> WorkflowResult<()> {
        let now = now(ctx)?;
        ctx.state_mut(|s| {
            s.clock = Some(now);
            while let Some(event) = s.inbox.pop_front() {
                let booking = s
                    .booking
                    .as_mut()
                    .expect("the run creates the booking first");
                match booking.apply(event, now) {
                    Ok(Outcome::Applied(_)) | Ok(Outcome::Duplicate) | Err(_) => {}
                }
            }
        });
        Ok(())
    }

    fn publish(
        ctx: &WorkflowContext<Self>,
        published: attributes::Published,
    ) -> attributes::Published {
        let (updates, next) = ctx.state(|s| {
            let status = snapshot(s.booking()).status();
            attributes::changes(s.booking(), status, &published)
        });
        if !updates.is_empty() {
            ctx.upsert_search_attributes(updates);
        }
        next
    }

    /// Runs one action; signals that arrive while it runs are applied as they come (a cancel
    /// must not wait for a slow email's retries), and its result becomes the next event.
    async fn run_action(
        ctx: &WorkflowContext<Self>,
        settings: &BookingSettings,
        booking: &BookingState,
        id: crate::lifecycle::ActionId,
        action: crate::lifecycle::Action,
        published: &mut attributes::Published,
    ) -> WorkflowResult<Event> {
        let now = now(ctx)?;
        let mut running = Box::pin(actions::perform(ctx, settings, booking, &action, now)).fuse();
        loop {
            temporalio_sdk::workflows::select! {
                result = running => {
                    return Ok(match result {
                        Ok(outcome) => Event::ActionSucceeded { action_id: id, outcome },
                        Err(failure) => Event::ActionFailed { action_id: id, failure },
                    });
                }
                arrived = Self::wait_for_inbox(ctx).fuse() => {
                    arrived?;
                    Self::apply_inbox(ctx)?;
                    *published = Self::publish(ctx, std::mem::take(published));
                }
            }
        }
    }

    /// Reserves the booking's slot in its ledger, then checks the agent's real calendar as the
    /// final guard (private viewings: an open house is one event everyone shares). A taken
    /// slot refuses the booking with the reason and alternatives; a full open house waitlists
    /// it.
    async fn reserve_slot(
        ctx: &WorkflowContext<Self>,
        settings: &BookingSettings,
        booking: &mut BookingState,
        patches: Patches,
    ) -> WorkflowResult<()> {
        let config = actions::ledger_config(booking);
        let ledger_id = config.workflow_id();
        let booking_id = booking.booking_id().to_string();
        let request = ReserveRequest {
            booking_id: booking_id.clone(),
            window: actions::window(&booking.tour()),
            seats: 1,
            notify_workflow_id: ctx.workflow_id().to_owned(),
        };
        let outcome = Self::until_done(ctx, patches, "reserve the slot in the ledger", || {
            detached::activity(
                ctx,
                ReserveSlot,
                ReserveSlotInput {
                    ledger: config.clone(),
                    request: request.clone(),
                },
                actions::ledger_options(settings, LEDGER_RESERVE, "reserve slot in the ledger"),
            )
        })
        .await?;
        let now = now(ctx)?;
        if booking.slot_reserved(&outcome, now) == AfterReserve::Settled {
            return Ok(());
        }
        let tour = booking.tour();
        let free_busy = match detached::activity(
            ctx,
            BookingActivities::check_free_busy,
            CheckFreeBusyInput {
                booking_id: booking_id.clone(),
                calendar_id: settings.calendar_id.clone(),
                start: tour.start(),
                end: tour.end(),
            },
            settings
                .activities
                .get(activity::CHECK_FREE_BUSY)
                .options("check the agent's calendar is free"),
        )
        .await
        {
            Ok(free_busy) => free_busy,
            Err(error) if patches.resilient_ledger => {
                let why = error
                    .failure()
                    .map(|f| f.message.clone())
                    .unwrap_or_else(|| error.to_string());
                booking.hold_slot_unguarded(&why, now);
                return Ok(());
            }
            Err(error) => return Err(error.into()),
        };
        let busy_until = free_busy.busy.iter().map(|busy| busy.end);
        if booking.calendar_checked(free_busy.free, busy_until, now) == AfterCalendarCheck::Held {
            return Ok(());
        }
        Self::until_done(ctx, patches, "release the slot in the ledger", || {
            detached::activity(
                ctx,
                ReleaseSlot,
                ReleaseSlotInput {
                    ledger_id: ledger_id.clone(),
                    booking_id: booking_id.clone(),
                },
                actions::ledger_options(settings, LEDGER_RELEASE, "release slot"),
            )
        })
        .await?;
        Ok(())
    }

    /// Runs a ledger call until it succeeds. A call that failed for good (its retry policy ran
    /// out) flags the booking and is tried again after a durable pause, instead of failing the
    /// booking; histories from before [`RESILIENT_LEDGER_PATCH`] keep failing as they did.
    async fn until_done<T, F, Fut>(
        ctx: &WorkflowContext<Self>,
        patches: Patches,
        what: &str,
        mut call: F,
    ) -> WorkflowResult<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ActivityExecutionError>>,
    {
        loop {
            match call().await {
                Ok(value) => return Ok(value),
                Err(error) if patches.resilient_ledger => {
                    ctx.upsert_search_attributes([
                        crate::search_attributes::NEEDS_ATTENTION.value_set(true)
                    ]);
                    let summary = format!(
                        "could not {what} ({}); trying again",
                        error
                            .failure()
                            .map(|f| f.message.as_str())
                            .unwrap_or("failed")
                    );
                    detached::timer(
                        ctx,
                        TimerOptions::builder(LEDGER_RETRY_PAUSE)
                            .summary(summary)
                            .build(),
                    )
                    .await;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Waits until the inbox holds an event. A cancellation request from Temporal becomes the
    /// booking's own cancel event, once: the booking then cancels the way a lead's cancellation
    /// does, cleanup and notice included, instead of stopping with its slot, calendar event and
    /// reminders left behind.
    async fn wait_for_inbox(ctx: &WorkflowContext<Self>) -> WorkflowResult<()> {
        if ctx.state(|s| s.cancel_requested) {
            // The workflow's token stays cancelled: wait on one that nothing cancels.
            let options = WaitConditionOptions::builder()
                .cancellation_token(WorkflowCancellationToken::new())
                .build();
            ctx.wait_condition_with_options(|s| !s.inbox.is_empty(), options)
                .await?;
            return Ok(());
        }
        if let Err(request) = ctx.wait_condition(|s| !s.inbox.is_empty()).await {
            ctx.state_mut(|s| {
                s.cancel_requested = true;
                s.inbox.push_back(signals::cancel_request(request.reason()));
            });
        }
        Ok(())
    }

    /// Sleeps until the next planned step is due or a signal arrives, whichever is first.
    async fn wait_for_due_or_signal(
        ctx: &WorkflowContext<Self>,
        timer_driven: bool,
    ) -> WorkflowResult<()> {
        let next_due = ctx.state(|s| s.booking().next_due());
        let Some((due, summary)) = next_due else {
            Self::wait_for_inbox(ctx).await?;
            return Ok(());
        };
        let wait = (due - now(ctx)?).to_std().unwrap_or_default();
        let wait = if timer_driven {
            // Even an overdue step waits on a (short) timer: whether a timer is started must not
            // depend on the clock, only its length may.
            wait.max(MIN_TIMER)
        } else if wait.is_zero() {
            ctx.state_mut(|s| s.inbox.push_back(Event::Due));
            return Ok(());
        } else {
            wait
        };
        let timer = detached::timer(ctx, TimerOptions::builder(wait).summary(summary).build());
        let mut timer = std::pin::pin!(timer);
        temporalio_sdk::workflows::select! {
            // The queued `Due` is judged at the clock of the activation that delivers it, as
            // every recorded history was.
            _ = timer.as_mut() => {
                ctx.state_mut(|s| s.inbox.push_back(Event::Due));
            }
            arrived = Self::wait_for_inbox(ctx).fuse() => {
                // The plan may change with the signal; the next loop arms a fresh timer.
                timer.cancel();
                arrived?;
            }
        }
        Ok(())
    }
}

/// Why a questionnaire visit was refused when an earlier one is already recorded or queued;
/// the shim treats this refusal as success (the lead still gets the questionnaire).
pub const VISIT_ALREADY_RECORDED: &str = "the questionnaire visit is already recorded";

type ValidatorResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// The floor of a booking's history limit: a run must get well past its own first steps (about
/// a hundred events) before it may hand over, or two runs could hand over to each other forever.
const MIN_HISTORY_LIMIT: u32 = 200;

/// The shortest timer armed for a due step: an overdue step goes out a second late rather
/// than making the workflow's commands depend on the clock.
const MIN_TIMER: Duration = Duration::from_secs(1);

/// The workflow clock: the only "now" workflow code may use.
fn now(ctx: &WorkflowContext<BookingWorkflow>) -> WorkflowResult<DateTime<Utc>> {
    Ok(ctx
        .workflow_time()
        .map(DateTime::<Utc>::from)
        .ok_or_else(|| ApplicationFailure::new("the workflow has no clock yet"))?)
}
