//! Handing deliveries to Temporal: the only place the shim calls it.
//!
//! Every call is bounded by the configured hand-off timeout (the SDK client retries transient
//! RPC failures internally, which would otherwise hold a webhook sender's connection for
//! minutes) and classified into [`HandoffError`], whose variant alone decides the HTTP answer.
//!
//! It also records how long hand-offs take (`shim_handoff_duration_seconds`, see
//! [`Handoff::timed`]): the one place that metric is observed.

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use booking_proto::{
    domain::{BookingId, ValidBooking},
    phone::PhoneNumber,
    v1::{
        ChangeAccepted, ChangeRequest, QuestionnaireVisitedSignal, SmsOptOutSignal,
        SmsStatusSignal, TourCompleteSignal, change_request::Change,
    },
};
use booking_workflows::{
    BookingWorkflow,
    booking::{
        VISIT_ALREADY_RECORDED,
        client::{self, BookingCallError, BookingClient, OnExisting, classify_interaction},
    },
    dead_letter::{self, DeadLetter, DeadLetterWorkflow},
};
use temporalio_client::{Client, WorkflowSignalOptions};

use crate::metrics::Metrics;

/// Why a hand-off did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandoffError {
    /// Retryable: Temporal is not connected, did not answer in time, or refused for a passing
    /// reason. Answered 503 with `Retry-After`.
    #[error("Temporal is unavailable: {0}")]
    Unavailable(String),
    /// Fatal for this request: no booking has this id.
    #[error("no such booking")]
    NotFound,
    /// Fatal for this request: the booking exists but is closed (finished or cancelled and
    /// done), so it can take no more changes.
    #[error("the booking is closed")]
    Closed,
    /// Fatal for this request: the booking refused the change (its state does not allow it);
    /// carries the booking's reason, safe to show the lead.
    #[error("the booking refused the change: {0}")]
    Refused(String),
}

pub use booking_workflows::booking::client::{Started, StartingSignal as BookingSignal};

/// Why a verified scheduler delivery (Calendly, Acuity) was not handed off.
#[derive(Debug)]
pub enum ProcessError {
    /// Fatal: kept as a dead letter and acknowledged.
    Unprocessable(String),
    /// Retryable: answered 503 with `Retry-After`, so the scheduler sends it again.
    Unavailable(String),
}

impl From<HandoffError> for ProcessError {
    fn from(e: HandoffError) -> Self {
        match e {
            HandoffError::Unavailable(m) => ProcessError::Unavailable(m),
            other => ProcessError::Unprocessable(other.to_string()),
        }
    }
}

/// The shim's reading of a call's failure. A start Temporal refuses is answered 503 like an
/// outage, so the sender retries and nothing it delivered is dropped: the shim validated the
/// booking itself, so such a refusal is never the sender's fault.
impl From<BookingCallError> for HandoffError {
    fn from(e: BookingCallError) -> Self {
        match e {
            BookingCallError::NotFound(_) => Self::NotFound,
            BookingCallError::Closed(_) => Self::Closed,
            BookingCallError::Refused(reason) => Self::Refused(reason),
            other @ (BookingCallError::Unavailable(_)
            | BookingCallError::Invalid(_)
            | BookingCallError::AlreadyExists(_)) => Self::Unavailable(other.to_string()),
        }
    }
}

/// The Temporal side of the shim: the task queue, the timeout, and the hand-off latency metric.
#[derive(Clone)]
pub struct Handoff {
    pub task_queue: String,
    pub timeout: Duration,
    pub metrics: Arc<Metrics>,
}

impl Handoff {
    /// Runs one request's whole hand-off of `kind` (`calendly`, `form`, `link`, `operator`):
    /// the Temporal calls it makes and, for Calendly, the API reads a reschedule needs and the
    /// dead letter an unprocessable delivery becomes. Records its duration, whatever its
    /// outcome, as one observation of `shim_handoff_duration_seconds`.
    pub async fn timed<T>(&self, kind: &'static str, handoff: impl Future<Output = T>) -> T {
        let began = Instant::now();
        let outcome = handoff.await;
        self.metrics.observe_handoff(kind, began.elapsed());
        outcome
    }

    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, HandoffError>>,
    ) -> Result<T, HandoffError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .unwrap_or_else(|_| {
                Err(HandoffError::Unavailable(format!(
                    "no answer within {}ms",
                    self.timeout.as_millis()
                )))
            })
    }

    fn bookings(&self, client: &Client) -> BookingClient {
        BookingClient::new(client.clone(), self.task_queue.clone())
    }

    /// Starts the booking's workflow unless it exists.
    pub async fn start_booking(
        &self,
        client: &Client,
        booking: &ValidBooking,
    ) -> Result<Started, HandoffError> {
        let bookings = self.bookings(client);
        self.bounded(async { Ok(bookings.start(booking, OnExisting::Reuse).await?) })
            .await
    }

    /// Sends `signal` to the booking, starting it from `request` first if it does not exist
    /// (a cancel or reschedule that overtook the creation it follows).
    pub async fn signal_with_start(
        &self,
        client: &Client,
        booking: &ValidBooking,
        signal: BookingSignal,
    ) -> Result<Started, HandoffError> {
        let bookings = self.bookings(client);
        self.bounded(async { Ok(bookings.signal_with_start(booking, signal).await?) })
            .await
    }

    /// Records that the lead opened the questionnaire, at most once per booking's history.
    ///
    /// The visit goes through the `request_change` update with the visit's event id as the
    /// update id: Temporal answers a repeated id from the first outcome without touching the
    /// history, and the booking's validator refuses any later visit before it is written, so
    /// a link opened ten thousand times costs the booking two events, not ten thousand. When
    /// no worker answers in time, the visit falls back to the signal, which Temporal holds
    /// durably without one.
    pub async fn questionnaire_visited(
        &self,
        client: &Client,
        booking: &BookingId,
        signal: QuestionnaireVisitedSignal,
    ) -> Result<(), HandoffError> {
        let change = ChangeRequest {
            change: Some(Change::QuestionnaireVisited(signal.clone())),
        };
        match self
            .request_change(client, booking, change, signal.event_id.clone())
            .await
        {
            Ok(_) => Ok(()),
            Err(HandoffError::Refused(reason)) => {
                // Already recorded, or the booking is past caring (cancelled): nothing to
                // record, and the lead still gets the questionnaire.
                if reason != VISIT_ALREADY_RECORDED {
                    tracing::info!(%reason, "the booking did not record the questionnaire visit");
                }
                Ok(())
            }
            Err(HandoffError::Unavailable(why)) => {
                tracing::info!(%why, "no verdict on the visit in time; sending it as a signal");
                let handle = client.get_workflow_handle::<BookingWorkflow>(booking.workflow_id());
                self.bounded(async {
                    handle
                        .signal(
                            BookingWorkflow::questionnaire_visited,
                            signal,
                            WorkflowSignalOptions::default(),
                        )
                        .await
                        .map_err(|e| classify_interaction(booking, e).into())
                })
                .await
            }
            Err(other) => Err(other),
        }
    }

    /// Signals an existing booking that its tour happened.
    pub async fn tour_complete(
        &self,
        client: &Client,
        booking: &BookingId,
        signal: TourCompleteSignal,
    ) -> Result<(), HandoffError> {
        let handle = client.get_workflow_handle::<BookingWorkflow>(booking.workflow_id());
        self.bounded(async {
            handle
                .signal(
                    BookingWorkflow::tour_complete,
                    signal,
                    WorkflowSignalOptions::default(),
                )
                .await
                .map_err(|e| classify_interaction(booking, e).into())
        })
        .await
    }

    /// Asks the booking for a change and waits for its verdict (the confirm/cancel pages).
    pub async fn request_change(
        &self,
        client: &Client,
        booking: &BookingId,
        change: ChangeRequest,
        update_id: String,
    ) -> Result<ChangeAccepted, HandoffError> {
        let bookings = self.bookings(client);
        self.bounded(async { Ok(bookings.request_change(booking, change, update_id).await?) })
            .await
    }

    /// Delivers Twilio's report on one of a booking's texts.
    pub async fn sms_status(
        &self,
        client: &Client,
        booking: &BookingId,
        signal: SmsStatusSignal,
    ) -> Result<(), HandoffError> {
        let bookings = self.bookings(client);
        self.bounded(async { Ok(bookings.sms_status(booking, signal).await?) })
            .await
    }

    /// Turns texts off for one booking of a lead who replied STOP.
    pub async fn sms_opt_out(
        &self,
        client: &Client,
        booking: &BookingId,
        signal: SmsOptOutSignal,
    ) -> Result<(), HandoffError> {
        let bookings = self.bookings(client);
        self.bounded(async { Ok(bookings.sms_opt_out(booking, signal).await?) })
            .await
    }

    /// The running bookings of the lead with `phone`, newest first.
    pub async fn running_bookings_for_phone(
        &self,
        client: &Client,
        phone: &PhoneNumber,
    ) -> Result<Vec<BookingId>, HandoffError> {
        let bookings = self.bookings(client);
        self.bounded(async { Ok(bookings.running_bookings_for_phone(phone).await?) })
            .await
    }

    /// Keeps an unprocessable delivery as a dead-letter workflow (one per distinct body).
    pub async fn dead_letter(
        &self,
        client: &Client,
        body_sha256_hex: &str,
        letter: DeadLetter,
    ) -> Result<(), HandoffError> {
        // The same id policy as bookings: a redelivered bad payload is one dead letter.
        let options = client::start_options(
            &self.task_queue,
            dead_letter::workflow_id(body_sha256_hex),
            OnExisting::Reuse,
            None,
        );
        self.bounded(async {
            match client
                .start_workflow(DeadLetterWorkflow::run, letter, options)
                .await
            {
                Ok(_) => Ok(()),
                Err(e) => client::start_refusal(e).map_or(Ok(()), |refusal| Err(refusal.into())),
            }
        })
        .await
    }
}
