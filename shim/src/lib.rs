//! The webhook shim: the engine's front door.
//!
//! It receives scheduler (Calendly) and form webhooks and signed link clicks, authenticates
//! them, parses them into typed domain values, and hands each to its booking workflow,
//! answering 2xx only once Temporal has accepted the hand-off.
//!
//! | route | what |
//! |---|---|
//! | `POST /webhooks/calendly` | Calendly `invitee.created` / `invitee.canceled`, signed ([`signature`], [`calendly`]) |
//! | `POST /webhooks/form` | the booking form, bearer token or Standard Webhooks signature ([`form`]) |
//! | `GET /q/{token}` | questionnaire link: records the visit, 303 to the questionnaire ([`links`]) |
//! | `GET`/`POST /b/{token}/confirm`, `/b/{token}/cancel` | the lead's confirm / cancel pages |
//! | `POST /bookings/{id}/tour-complete` | operator (bearer token) marks a tour done |
//! | `GET /healthz`, `/readyz`, `/metrics`, `/openapi.json` | probes, Prometheus, the API contract |
//!
//! Answers: 401 for any authentication failure, with no detail (the log has the reason);
//! 400 `{"errors":[{field,message}]}` for our own forms; 202 plus a dead-letter workflow for a
//! correctly signed Calendly payload we cannot process (Calendly would otherwise retry for a
//! day and then disable the subscription); 413 over the body limit; 415 for non-JSON; 503 with
//! `Retry-After` while Temporal (or the Calendly API a reschedule needs) is unreachable.
//!
//! Every request carries a request id (`X-Request-Id`, accepted or made), echoed in the
//! response, present in every log line of the request (a tracing span, which names the route
//! template, never the path: paths carry link tokens, see [`request_log`]), and passed into the
//! workflow (`BookingRequest.request_id`, the dead letter's `request_id`).
//!
//! Limits against exhaustion: a header deadline and a connection cap ([`serve`]), a cap on
//! requests in flight ([`in_flight`]), a body deadline, and a bounded, single-flight cache in
//! front of the seat counter's workflow queries ([`availability`]).

pub mod availability;
pub mod calendly;
pub mod coalescing_cache;
pub mod config;
pub mod form;
pub mod handoff;
pub mod in_flight;
pub mod links;
pub mod metrics;
mod openapi;
pub mod request_log;
mod server;
pub mod signature;

use std::{sync::Arc, time::Instant};

use axum::{
    Json,
    body::Bytes,
    extract::{DefaultBodyLimit, MatchedPath, Path, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use booking_activities::{http::Http, redact::Redactor, scheduler::client::CalendlyClient};
use booking_proto::{
    domain::{BookingId, FieldError},
    v1::{
        CancelSignal, ChangeRequest, ConfirmSignal, QuestionnaireVisitedSignal, RescheduleSignal,
        TourCompleteSignal, change_request::Change,
    },
};
use booking_workflows::dead_letter::DeadLetter;
use chrono::Utc;
use sha2::{Digest, Sha256};
use temporalio_client::{Client, grpc::WorkflowService, tonic::IntoRequest};
use temporalio_common::protos::temporal::api::workflowservice::v1::GetSystemInfoRequest;
use tokio::sync::RwLock;

use crate::{
    calendly::{CalendlyDelivery, ChainError, Chains, Unprocessable},
    config::ShimConfig,
    handoff::{BookingSignal, Handoff, HandoffError, Started},
    links::Purpose,
    metrics::Metrics,
    signature::SignatureError,
};

pub use config::ConfigError;
pub use request_log::{REQUEST_ID_HEADER, RequestId};
pub use server::serve;

/// What the handlers share: configuration, the Temporal client once connected, the Calendly
/// API client and the metrics.
#[derive(Clone)]
pub struct ShimState {
    inner: Arc<Inner>,
}

struct Inner {
    temporal: RwLock<Option<Client>>,
    config: ShimConfig,
    handoff: Handoff,
    chains: Chains,
    metrics: Metrics,
    seats: availability::AvailabilityCache,
}

impl Default for ShimState {
    /// Defaults for every setting (the sandbox's signing key and Calendly API).
    fn default() -> Self {
        Self::new(ShimConfig::for_sandbox(|_| None).expect("the defaults are valid"))
    }
}

impl ShimState {
    pub fn new(config: ShimConfig) -> Self {
        let secrets = vec![config.calendly.token.clone()];
        let http = Http::new(
            reqwest::Client::builder()
                .timeout(config.handoff_timeout)
                .build()
                .unwrap_or_default(),
            Redactor::new(secrets),
        );
        let chains = Chains::new(CalendlyClient::new(http, config.calendly.clone()));
        let seats = availability::AvailabilityCache::from_config(&config);
        let handoff = Handoff {
            task_queue: config.task_queue.clone(),
            timeout: config.handoff_timeout,
        };
        Self {
            inner: Arc::new(Inner {
                temporal: RwLock::new(None),
                config,
                handoff,
                chains,
                metrics: Metrics::default(),
                seats,
            }),
        }
    }

    pub async fn set_client(&self, client: Client) {
        *self.inner.temporal.write().await = Some(client);
    }

    /// Ledger queries the seat counter has sent (tests check it stays bounded).
    pub fn availability_queries(&self) -> u64 {
        self.inner.seats.queries()
    }

    /// Open house ids the seat counter cache remembers right now (at most
    /// `SHIM_AVAILABILITY_CACHE_ENTRIES`).
    pub fn availability_cache_len(&self) -> usize {
        self.inner.seats.len()
    }

    pub fn config(&self) -> &ShimConfig {
        &self.inner.config
    }

    async fn client(&self) -> Result<Client, ApiError> {
        self.inner
            .temporal
            .read()
            .await
            .clone()
            .ok_or_else(|| ApiError::Unavailable("not connected to Temporal yet".into()))
    }
}

pub fn router(state: ShimState) -> Router {
    let limit = state.inner.config.body_limit;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/openapi.json", get(openapi_json))
        .route("/webhooks/calendly", post(calendly_webhook))
        .route("/webhooks/form", post(form_webhook))
        .route("/q/{token}", get(questionnaire_link))
        .route("/b/{token}/confirm", get(confirm_page).post(confirm_action))
        .route("/b/{token}/cancel", get(cancel_page).post(cancel_action))
        .route("/bookings/{id}/tour-complete", post(tour_complete))
        .route(
            "/open-houses/{id}/availability",
            get(open_house_availability),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .route_layer(middleware::from_fn(request_log::record_route))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            read_body_in_time,
        ))
        .layer(middleware::from_fn_with_state(
            in_flight::InFlight::new(state.inner.config.max_in_flight_requests),
            in_flight::limit,
        ))
        .layer(middleware::from_fn(request_log::request_span))
        .with_state(state)
}

/// Reads the whole body (up to the body limit) within `SHIM_BODY_READ_TIMEOUT_MS` of the
/// headers, before any handler runs: a client trickling its body gets 408 and its connection
/// closed instead of holding a task open. A declared length over the limit is answered 413
/// unread; a chunked body is cut off with 413 as soon as it passes the limit.
async fn read_body_in_time(
    State(state): State<ShimState>,
    request: Request,
    next: Next,
) -> Response {
    use futures::StreamExt;
    let limit = state.inner.config.body_limit;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let refused = |status: StatusCode, message: &str| {
        let mut response = (status, Json(serde_json::json!({ "error": message }))).into_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    };
    if declared.is_some_and(|len| len > limit as u64) {
        tracing::info!(declared, limit, "the declared body is over the limit");
        return refused(StatusCode::PAYLOAD_TOO_LARGE, "the body is over the limit");
    }
    let (parts, body) = request.into_parts();
    let mut stream = body.into_data_stream();
    let read = async {
        let mut buffer: Vec<u8> = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
            if buffer.len() + chunk.len() > limit {
                return Err((
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "the body is over the limit".to_owned(),
                ));
            }
            buffer.extend_from_slice(&chunk);
        }
        Ok(buffer)
    };
    let timeout = state.inner.config.body_read_timeout;
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(buffer)) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(buffer)))
                .await
        }
        Ok(Err((status, reason))) => {
            tracing::info!(status = status.as_u16(), %reason, "the body could not be read");
            refused(status, "the body could not be read")
        }
        Err(_) => {
            tracing::warn!(
                timeout_ms = timeout.as_millis() as u64,
                "the body did not arrive in time; closing the connection"
            );
            refused(
                StatusCode::REQUEST_TIMEOUT,
                "the body did not arrive in time",
            )
        }
    }
}

async fn count_requests(State(state): State<ShimState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    state
        .inner
        .metrics
        .count_request(&route, response.status().as_u16());
    response
}

fn request_id_of(request: &axum::http::Extensions) -> String {
    request
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default()
}

/// Every way a request can fail, mapped to one status each.
#[derive(Debug)]
pub enum ApiError {
    /// Fatal: authentication failed (401). The reason is logged, never answered.
    Unauthorized(SignatureError),
    /// Fatal: our own form's input is invalid (400, every field error listed).
    Invalid(Vec<FieldError>),
    /// Fatal: the body is not JSON (415).
    UnsupportedMediaType,
    /// Fatal: the link is invalid or expired, or the booking does not exist (404).
    NotFound,
    /// Fatal: the booking refused the change (409, with its reason).
    Refused(String),
    /// Retryable: Temporal or the Calendly API is unreachable (503 with `Retry-After`).
    Unavailable(String),
    /// Retryable: the shim is serving `SHIM_MAX_IN_FLIGHT_REQUESTS` already (503 with
    /// `Retry-After`; not logged per request, the request's "answered" line says 503).
    Overloaded,
}

impl From<HandoffError> for ApiError {
    fn from(e: HandoffError) -> Self {
        match e {
            HandoffError::Unavailable(m) => ApiError::Unavailable(m),
            HandoffError::NotFound => ApiError::NotFound,
            HandoffError::Closed => ApiError::Refused("the booking is closed".into()),
            HandoffError::Refused(m) => ApiError::Refused(m),
        }
    }
}

/// The `Retry-After` of every 503, set once at startup from the configuration.
static RETRY_AFTER_SECS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(5);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Unauthorized(reason) => {
                tracing::warn!(%reason, "authentication failed");
                (
                    StatusCode::UNAUTHORIZED,
                    Json(serde_json::json!({ "error": "unauthorized" })),
                )
                    .into_response()
            }
            ApiError::Invalid(errors) => {
                tracing::info!(count = errors.len(), "invalid input");
                let errors: Vec<_> = errors
                    .iter()
                    .map(|e| serde_json::json!({ "field": e.field, "message": e.message }))
                    .collect();
                (
                    StatusCode::BAD_REQUEST,
                    Json(serde_json::json!({ "errors": errors })),
                )
                    .into_response()
            }
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Json(serde_json::json!({ "error": "the body must be application/json" })),
            )
                .into_response(),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                Json(serde_json::json!({ "error": "not found" })),
            )
                .into_response(),
            ApiError::Refused(reason) => (
                StatusCode::CONFLICT,
                Json(serde_json::json!({ "error": reason })),
            )
                .into_response(),
            ApiError::Unavailable(reason) => {
                tracing::warn!(%reason, "hand-off not possible now; asking the sender to retry");
                retry_later()
            }
            ApiError::Overloaded => retry_later(),
        }
    }
}

/// 503 with the configured `Retry-After`.
fn retry_later() -> Response {
    let retry = RETRY_AFTER_SECS.load(std::sync::atomic::Ordering::Relaxed);
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, retry.to_string())],
        Json(serde_json::json!({ "error": "temporarily unavailable, retry later" })),
    )
        .into_response()
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(state): State<ShimState>) -> (StatusCode, Json<serde_json::Value>) {
    let Some(mut client) = state.inner.temporal.read().await.clone() else {
        return not_ready("not connected to Temporal yet");
    };
    match WorkflowService::get_system_info(
        &mut client,
        GetSystemInfoRequest::default().into_request(),
    )
    .await
    {
        Ok(_) => (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready" })),
        ),
        Err(status) => {
            tracing::warn!(error = %status, "readiness check: Temporal did not answer");
            not_ready("Temporal does not answer")
        }
    }
}

fn not_ready(reason: &str) -> (StatusCode, Json<serde_json::Value>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(serde_json::json!({ "status": "not ready", "reason": reason })),
    )
}

async fn metrics_text(State(state): State<ShimState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.inner.metrics.render(),
    )
}

async fn openapi_json() -> Json<serde_json::Value> {
    Json(openapi::document())
}

/// `application/json` (with or without parameters), or `application/*+json`.
fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let ok = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| {
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType)
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// What became of a Calendly delivery that was not dead-lettered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Started,
    Rescheduled,
    Cancelled,
    /// A redelivery of something whose booking closed long ago.
    AlreadyClosed,
    /// An old reschedule half whose new invitee has itself moved on or been cancelled.
    Superseded,
    /// A reschedule's cancel half without its successor's URI: the create half will move it.
    AwaitingCreate,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Started => "started",
            Outcome::Rescheduled => "rescheduled",
            Outcome::Cancelled => "cancelled",
            Outcome::AlreadyClosed => "already_closed",
            Outcome::Superseded => "superseded",
            Outcome::AwaitingCreate => "awaiting_create",
        }
    }
}

/// Why a Calendly delivery was not handed off.
enum ProcessError {
    /// Fatal: kept as a dead letter and acknowledged.
    Unprocessable(String),
    /// Retryable: answered 503.
    Unavailable(String),
}

impl From<Unprocessable> for ProcessError {
    fn from(e: Unprocessable) -> Self {
        ProcessError::Unprocessable(e.0)
    }
}

impl From<ChainError> for ProcessError {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::Unavailable(m) => ProcessError::Unavailable(m),
            ChainError::Broken(m) => ProcessError::Unprocessable(m),
        }
    }
}

impl From<HandoffError> for ProcessError {
    fn from(e: HandoffError) -> Self {
        match e {
            HandoffError::Unavailable(m) => ProcessError::Unavailable(m),
            other => ProcessError::Unprocessable(other.to_string()),
        }
    }
}

fn started(s: Started, then: Outcome) -> Outcome {
    match s {
        Started::Running => then,
        Started::AlreadyClosed => Outcome::AlreadyClosed,
    }
}

async fn process_calendly(
    state: &ShimState,
    client: &Client,
    delivery: CalendlyDelivery,
    request_id: &str,
) -> Result<(BookingId, Outcome), ProcessError> {
    let chains = &state.inner.chains;
    let handoff = &state.inner.handoff;
    match delivery {
        CalendlyDelivery::Created(facts) => match &facts.old_invitee {
            None => {
                let booking = facts.invitee.booking_id()?;
                let valid =
                    facts.request(&booking, &facts.invitee.created_event_id(), request_id)?;
                let s = handoff.start_booking(client, &valid).await?;
                Ok((booking, started(s, Outcome::Started)))
            }
            Some(_) => {
                let root = chains
                    .root(&facts.invitee, facts.old_invitee.as_ref())
                    .await?;
                let booking = root.booking_id()?;
                if !chains.invitee(&facts.invitee).await?.active {
                    return Ok((booking, Outcome::Superseded));
                }
                let event_id = facts.invitee.created_event_id();
                let valid = facts.request(&booking, &event_id, request_id)?;
                let signal = RescheduleSignal {
                    event_id,
                    tour: Some(facts.tour.to_proto()),
                    source_ref: facts.invitee.uri.clone(),
                };
                let s = handoff
                    .signal_with_start(client, &valid, BookingSignal::Reschedule(signal))
                    .await?;
                Ok((booking, started(s, Outcome::Rescheduled)))
            }
        },
        CalendlyDelivery::Canceled {
            facts,
            rescheduled,
            rescheduled_to,
            reason,
            cancelled_by,
        } => {
            let root = chains
                .root(&facts.invitee, facts.old_invitee.as_ref())
                .await?;
            let booking = root.booking_id()?;
            if rescheduled {
                // The same booking moving, never a cancel: send the reschedule the create half
                // would send (same event id), so whichever half comes first moves it.
                let Some(new) = rescheduled_to else {
                    return Ok((booking, Outcome::AwaitingCreate));
                };
                if !chains.invitee(&new).await?.active {
                    return Ok((booking, Outcome::Superseded));
                }
                let tour = chains.tour(&new.event_uuid).await?;
                let event_id = new.created_event_id();
                let mut moved = facts.clone();
                moved.invitee = new.clone();
                moved.tour = tour;
                let valid = moved.request(&booking, &event_id, request_id)?;
                let signal = RescheduleSignal {
                    event_id,
                    tour: Some(tour.to_proto()),
                    source_ref: new.uri.clone(),
                };
                let s = handoff
                    .signal_with_start(client, &valid, BookingSignal::Reschedule(signal))
                    .await?;
                return Ok((booking, started(s, Outcome::Rescheduled)));
            }
            let valid = facts.request(&booking, &facts.invitee.created_event_id(), request_id)?;
            let signal = CancelSignal {
                event_id: facts.invitee.canceled_event_id(),
                reason,
                cancelled_by,
            };
            let s = handoff
                .signal_with_start(client, &valid, BookingSignal::Cancel(signal))
                .await?;
            Ok((booking, started(s, Outcome::Cancelled)))
        }
    }
}

async fn calendly_webhook(
    State(state): State<ShimState>,
    request: axum::http::request::Parts,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request_id = request_id_of(&request.extensions);
    let headers = &request.headers;
    require_json(headers)?;
    let config = state.config();
    signature::verify_calendly(
        header_str(headers, "calendly-webhook-signature"),
        &body,
        &config.calendly_signing_keys,
        config.signature_tolerance,
        Utc::now().timestamp(),
    )
    .map_err(ApiError::Unauthorized)?;
    let client = state.client().await?;
    let began = Instant::now();
    let processed = match calendly::parse(&body) {
        Ok(delivery) => process_calendly(&state, &client, delivery, &request_id).await,
        Err(e) => Err(e.into()),
    };
    let answer = match processed {
        Ok((booking, outcome)) => {
            tracing::info!(booking_id = %booking, outcome = outcome.as_str(), "calendly delivery handed off");
            Ok((
                StatusCode::OK,
                Json(serde_json::json!({
                    "status": "accepted",
                    "bookingId": booking.as_str(),
                    "outcome": outcome.as_str(),
                })),
            )
                .into_response())
        }
        Err(ProcessError::Unavailable(m)) => Err(ApiError::Unavailable(m)),
        Err(ProcessError::Unprocessable(reason)) => {
            dead_letter(&state, &client, "calendly", &body, reason, &request_id).await
        }
    };
    state
        .inner
        .metrics
        .observe_handoff("calendly", began.elapsed());
    answer
}

/// Keeps a verified but unprocessable delivery as a dead-letter workflow; 202 once Temporal
/// holds it.
async fn dead_letter(
    state: &ShimState,
    client: &Client,
    source: &str,
    body: &[u8],
    reason: String,
    request_id: &str,
) -> Result<Response, ApiError> {
    let digest = hex::encode(Sha256::digest(body));
    tracing::warn!(%reason, dead_letter = %digest, "unprocessable delivery kept as a dead letter");
    let letter = DeadLetter {
        payload: String::from_utf8_lossy(body).into_owned(),
        reason,
        source: source.to_owned(),
        received_at: Utc::now().to_rfc3339(),
        request_id: request_id.to_owned(),
    };
    state
        .inner
        .handoff
        .dead_letter(client, &digest, letter)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({
            "status": "dead_lettered",
            "deadLetterId": booking_workflows::dead_letter::workflow_id(&digest),
        })),
    )
        .into_response())
}

async fn form_webhook(
    State(state): State<ShimState>,
    request: axum::http::request::Parts,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request_id = request_id_of(&request.extensions);
    let headers = &request.headers;
    let config = state.config();
    // Either credential will do: a bearer token (simple forms) or a Standard Webhooks
    // signature (form services that sign).
    let authenticated = if headers.contains_key(header::AUTHORIZATION) {
        signature::verify_bearer(
            header_str(headers, "authorization"),
            config.form_token.as_ref(),
        )
    } else {
        signature::verify_standard_webhook(
            signature::StandardWebhookHeaders {
                id: header_str(headers, "webhook-id"),
                timestamp: header_str(headers, "webhook-timestamp"),
                signature: header_str(headers, "webhook-signature"),
            },
            &body,
            &config.form_webhook_keys,
            config.signature_tolerance,
            Utc::now().timestamp(),
        )
    };
    authenticated.map_err(ApiError::Unauthorized)?;
    require_json(headers)?;
    let valid = form::parse(&body, Utc::now(), &request_id).map_err(ApiError::Invalid)?;
    let client = state.client().await?;
    let began = Instant::now();
    let outcome = state.inner.handoff.start_booking(&client, &valid).await;
    state.inner.metrics.observe_handoff("form", began.elapsed());
    let outcome = started(outcome?, Outcome::Started);
    tracing::info!(booking_id = %valid.booking_id, outcome = outcome.as_str(), "form handed off");
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({
            "status": "accepted",
            "bookingId": valid.booking_id.as_str(),
            "outcome": outcome.as_str(),
        })),
    )
        .into_response())
}

fn verify_link(state: &ShimState, token: &str, purpose: Purpose) -> Result<BookingId, ApiError> {
    links::verify(
        &state.config().link_secret,
        token,
        purpose,
        Utc::now().timestamp(),
    )
    .map_err(|reason| {
        tracing::info!(%reason, "link refused");
        ApiError::NotFound
    })
}

/// A short, stable id for events a link click produces: the same click twice is one event.
fn link_event_id(purpose: &str, token: &str) -> String {
    format!(
        "link:{purpose}:{}",
        &hex::encode(Sha256::digest(token.as_bytes()))[..32]
    )
}

async fn questionnaire_link(
    State(state): State<ShimState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let booking = verify_link(&state, &token, Purpose::Questionnaire)?;
    let client = state.client().await?;
    let began = Instant::now();
    let result = state
        .inner
        .handoff
        .questionnaire_visited(
            &client,
            &booking,
            QuestionnaireVisitedSignal {
                event_id: link_event_id("questionnaire", &token),
            },
        )
        .await;
    state.inner.metrics.observe_handoff("link", began.elapsed());
    result?;
    let mut target = state.config().questionnaire_url.clone();
    target
        .query_pairs_mut()
        .append_pair("booking", booking.as_str());
    Ok(Redirect::to(target.as_str()).into_response())
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    (
        status,
        Html(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body><h1>{t}</h1><p>{x}</p></body></html>",
            t = escape(title),
            x = escape(text)
        )),
    )
        .into_response()
}

/// The page a link opens: a button, because mail scanners and previewers follow GET links and
/// must not confirm or cancel a tour by doing so.
fn action_page(state: &ShimState, token: &str, purpose: Purpose) -> Response {
    if verify_link(state, token, purpose).is_err() {
        return page(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "This link is invalid or has expired.",
        );
    }
    let (title, button) = match purpose {
        Purpose::Confirm => ("Confirm your tour", "Confirm"),
        _ => ("Cancel your tour", "Cancel the tour"),
    };
    (
        StatusCode::OK,
        Html(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
             <body><h1>{title}</h1><form method=\"post\"><button type=\"submit\">{button}</button>\
             </form></body></html>"
        )),
    )
        .into_response()
}

async fn confirm_page(State(state): State<ShimState>, Path(token): Path<String>) -> Response {
    action_page(&state, &token, Purpose::Confirm)
}

async fn cancel_page(State(state): State<ShimState>, Path(token): Path<String>) -> Response {
    action_page(&state, &token, Purpose::Cancel)
}

async fn confirm_action(State(state): State<ShimState>, Path(token): Path<String>) -> Response {
    let event_id = link_event_id("confirm", &token);
    let change = Change::Confirm(ConfirmSignal {
        event_id: event_id.clone(),
    });
    change_page(
        &state,
        &token,
        Purpose::Confirm,
        change,
        event_id,
        "Your tour is confirmed.",
    )
    .await
}

async fn cancel_action(State(state): State<ShimState>, Path(token): Path<String>) -> Response {
    let event_id = link_event_id("cancel", &token);
    let change = Change::Cancel(CancelSignal {
        event_id: event_id.clone(),
        reason: "cancelled from the booking link".into(),
        cancelled_by: "lead".into(),
    });
    change_page(
        &state,
        &token,
        Purpose::Cancel,
        change,
        event_id,
        "Your tour is cancelled.",
    )
    .await
}

async fn change_page(
    state: &ShimState,
    token: &str,
    purpose: Purpose,
    change: Change,
    event_id: String,
    done: &str,
) -> Response {
    let booking = match verify_link(state, token, purpose) {
        Ok(b) => b,
        Err(_) => {
            return page(
                StatusCode::NOT_FOUND,
                "Link not valid",
                "This link is invalid or has expired.",
            );
        }
    };
    let client = match state.client().await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let began = Instant::now();
    let result = state
        .inner
        .handoff
        .request_change(
            &client,
            &booking,
            ChangeRequest {
                change: Some(change),
            },
            event_id,
        )
        .await;
    state.inner.metrics.observe_handoff("link", began.elapsed());
    match result {
        Ok(_) => page(StatusCode::OK, "Done", done),
        Err(HandoffError::Refused(reason)) => page(
            StatusCode::CONFLICT,
            "Not possible",
            &format!("We could not do that: {reason}"),
        ),
        Err(HandoffError::Closed) => page(
            StatusCode::CONFLICT,
            "Not possible",
            "This booking can no longer be changed.",
        ),
        Err(HandoffError::NotFound) => page(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "This link is invalid or has expired.",
        ),
        Err(HandoffError::Unavailable(m)) => ApiError::Unavailable(m).into_response(),
    }
}

/// The landing page's seat counter, from the cache (see [`availability`]).
async fn open_house_availability(
    State(state): State<ShimState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if id.is_empty() || id.len() > 200 || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::Invalid(vec![FieldError::new(
            "id",
            "1..=200 visible ASCII characters",
        )]));
    }
    let client = state.client().await?;
    let counter = state
        .inner
        .seats
        .counter(&client, &id)
        .await
        .map_err(|e| match e {
            availability::CounterError::NotFound => ApiError::NotFound,
            retryable @ (availability::CounterError::Unavailable(_)
            | availability::CounterError::TimedOut(_)) => {
                ApiError::Unavailable(retryable.to_string())
            }
        })?;
    let max_age = state.inner.seats.refresh_interval().as_secs().max(1);
    Ok((
        [(
            axum::http::header::CACHE_CONTROL,
            format!("public, max-age={max_age}"),
        )],
        axum::Json(counter),
    )
        .into_response())
}

async fn tour_complete(
    State(state): State<ShimState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    signature::verify_bearer(
        header_str(&headers, "authorization"),
        state.config().operator_token.as_ref(),
    )
    .map_err(ApiError::Unauthorized)?;
    let booking =
        BookingId::parse(&id).map_err(|m| ApiError::Invalid(vec![FieldError::new("id", m)]))?;
    let client = state.client().await?;
    let began = Instant::now();
    let result = state
        .inner
        .handoff
        .tour_complete(
            &client,
            &booking,
            TourCompleteSignal {
                event_id: format!("operator:tour-complete:{booking}"),
            },
        )
        .await;
    state
        .inner
        .metrics
        .observe_handoff("operator", began.elapsed());
    result?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "status": "accepted", "bookingId": booking.as_str() })),
    )
        .into_response())
}

/// Sets the `Retry-After` every 503 carries (process-wide, from the configuration).
pub fn set_retry_after(config: &ShimConfig) {
    RETRY_AFTER_SECS.store(
        config.retry_after.as_secs().max(1),
        std::sync::atomic::Ordering::Relaxed,
    );
}

pub use axum::Router;
