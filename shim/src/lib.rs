//! The webhook shim: the engine's front door.
//!
//! It receives scheduler (Calendly), form and Twilio webhooks and signed link clicks,
//! authenticates them, parses them into typed domain values, and hands each to its booking
//! workflow, answering 2xx only once Temporal has accepted the hand-off.
//!
//! | route | what |
//! |---|---|
//! | `POST /webhooks/calendly` | Calendly `invitee.created` / `invitee.canceled`, signed ([`signature`], [`calendly`]) |
//! | `POST /webhooks/form` | the booking form, bearer token or Standard Webhooks signature ([`form`]) |
//! | `GET /q/{token}` | questionnaire link: records the visit, 303 to the questionnaire ([`links`]) |
//! | `GET`/`POST /b/{token}/confirm`, `/b/{token}/cancel` | the lead's confirm / cancel pages |
//! | `POST /bookings/{id}/tour-complete` | operator (bearer token) marks a tour done |
//! | `POST /webhooks/twilio/status?booking_id=..&step=..` | Twilio's delivery report of a booking's text, `X-Twilio-Signature` ([`twilio`]) |
//! | `POST /webhooks/twilio/inbound` | a lead's text reply: STOP (Twilio's opt-out words) turns texts off, `C` confirms, `X` cancels, anything else is a dead letter; answered with empty TwiML |
//! | `GET /healthz`, `/readyz`, `/metrics`, `/openapi.json` | probes, Prometheus, the API contract |
//!
//! Answers: 401 for any authentication failure, with no detail (the log has the reason);
//! 400 `{"errors":[{field,message}]}` for our own forms; 202 plus a dead-letter workflow for a
//! correctly signed Calendly payload we cannot process (Calendly would otherwise retry for a
//! day and then disable the subscription); for a signed Twilio delivery, 400 naming each bad
//! parameter once it is kept as a dead letter, and 200 for everything taken (a reply with
//! empty TwiML as `text/xml`, a report about a booking that is gone included); 413 over the
//! body limit; 415 for non-JSON; 503 with `Retry-After` while Temporal (or the Calendly API a
//! reschedule needs) is unreachable.
//!
//! Every request carries a request id (`X-Request-Id`, accepted or made), echoed in the
//! response, present in every log line of the request (a tracing span, which names the route
//! template, never the path: paths carry link tokens, see [`request_log`]), and passed into the
//! workflow (`BookingRequest.request_id`, the dead letter's `request_id`).
//!
//! Limits against exhaustion: a header deadline and a connection cap ([`serve`]), a cap on
//! requests in flight ([`in_flight`]), a body deadline, and a bounded, single-flight cache in
//! front of the seat counter's workflow queries ([`availability`]).

pub mod acuity;
pub mod answers;
pub mod availability;
pub mod calendly;
pub mod cli;
pub mod coalescing_cache;
pub mod config;
pub mod error;
pub mod form;
pub mod handoff;
pub mod in_flight;
pub mod links;
pub mod metrics;
pub mod middleware;
mod openapi;
pub mod outcome;
pub mod request_log;
pub mod routes;
mod server;
pub mod signature;
pub mod twilio;

use std::sync::Arc;

use axum::{
    extract::DefaultBodyLimit,
    handler::Handler,
    http::{HeaderName, Method},
    routing::{MethodFilter, MethodRouter, on},
};
use booking_activities::{
    acuity::client::AcuityClient, http::Http, redact::Redactor, scheduler::client::CalendlyClient,
};
use temporalio_client::Client;
use tokio::sync::RwLock;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::{
    calendly::Chains,
    config::ShimConfig,
    error::RetryAfter,
    handoff::Handoff,
    metrics::Metrics,
    routes::{operator, probes},
};

pub use axum::Router;
pub use config::ConfigError;
pub use error::ApiError;
pub use request_log::{REQUEST_ID_HEADER, RequestId};
pub use server::serve;

/// What the handlers share: configuration, the Temporal client once connected, the Calendly
/// API client, the metrics and the `Retry-After` of 503s.
#[derive(Clone)]
pub struct ShimState {
    inner: Arc<Inner>,
}

struct Inner {
    temporal: RwLock<Option<Client>>,
    config: ShimConfig,
    handoff: Handoff,
    chains: Chains,
    /// `None` when Acuity is not configured.
    acuity: Option<AcuityClient>,
    metrics: Arc<Metrics>,
    seats: availability::AvailabilityCache,
    retry_after: RetryAfter,
}

impl Default for ShimState {
    /// Defaults for every setting (the sandbox's signing key and Calendly API).
    fn default() -> Self {
        Self::new(ShimConfig::for_sandbox(|_| None).expect("the defaults are valid"))
    }
}

impl ShimState {
    pub fn new(config: ShimConfig) -> Self {
        let mut secrets = vec![config.calendly.token.clone()];
        secrets.extend(config.acuity.as_ref().map(|a| a.api_key.clone()));
        let http = Http::new(
            reqwest::Client::builder()
                .timeout(config.handoff_timeout)
                .build()
                .unwrap_or_default(),
            Redactor::new(secrets),
        );
        let chains = Chains::new(CalendlyClient::new(http.clone(), config.calendly.clone()));
        let acuity = config
            .acuity
            .as_ref()
            .map(|acuity| AcuityClient::new(acuity, http));
        let seats = availability::AvailabilityCache::from_config(&config);
        let metrics = Arc::new(Metrics::default());
        let handoff = Handoff {
            task_queue: config.task_queue.clone(),
            timeout: config.handoff_timeout,
            metrics: metrics.clone(),
        };
        Self {
            inner: Arc::new(Inner {
                temporal: RwLock::new(None),
                retry_after: RetryAfter::new(config.retry_after),
                config,
                handoff,
                chains,
                acuity,
                metrics,
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

    /// The `Retry-After` every 503 carries (`SHIM_RETRY_AFTER_SECS`).
    pub fn retry_after(&self) -> RetryAfter {
        self.inner.retry_after
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

/// One route: a method and path template, and its handler. The router registers the handler
/// under `method` itself, so the method a test reads is the one served.
pub(crate) struct Route {
    pub method: Method,
    pub path: &'static str,
    handler: Box<dyn FnOnce(MethodFilter) -> MethodRouter<ShimState>>,
}

fn at<H, T>(method: Method, path: &'static str, handler: H) -> Route
where
    H: Handler<T, ShimState>,
    T: 'static,
{
    Route {
        method,
        path,
        handler: Box::new(move |filter| on(filter, handler)),
    }
}

/// Every route the shim serves. The router registers exactly these and the OpenAPI tests hold
/// the document to the same list, so no route goes undescribed and no description outlives
/// its route.
pub(crate) fn route_table() -> Vec<Route> {
    use Method as M;
    use routes::{acuity, availability, calendly, form, links, twilio};
    vec![
        at(M::GET, "/healthz", probes::healthz),
        at(M::GET, "/readyz", probes::readyz),
        at(M::GET, "/metrics", probes::metrics_text),
        at(M::GET, "/openapi.json", probes::openapi_json),
        at(M::POST, "/webhooks/calendly", calendly::calendly_webhook),
        at(M::POST, "/webhooks/form", form::form_webhook),
        at(M::POST, "/webhooks/acuity", acuity::acuity_webhook),
        at(M::POST, twilio::STATUS_ROUTE, twilio::twilio_status),
        at(M::POST, twilio::INBOUND_ROUTE, twilio::twilio_inbound),
        at(M::GET, "/q/{token}", links::questionnaire_link),
        at(M::GET, "/b/{token}/confirm", links::confirm_page),
        at(M::POST, "/b/{token}/confirm", links::confirm_action),
        at(M::GET, "/b/{token}/cancel", links::cancel_page),
        at(M::POST, "/b/{token}/cancel", links::cancel_action),
        at(
            M::POST,
            "/bookings/{id}/tour-complete",
            operator::tour_complete,
        ),
        at(
            M::GET,
            "/open-houses/{id}/availability",
            availability::open_house_availability,
        ),
    ]
}

/// Every route, under the shim's middleware. From the outside in: the request id (accepted
/// when sane, else made; echoed in the response), the request's span, the `Retry-After` of
/// 503s, the in-flight cap, the body deadline and limit; per matched route, the route template
/// in the span and the request counter.
pub fn router(state: ShimState) -> Router {
    let config = state.config();
    let limit = config.body_limit;
    let in_flight = in_flight::InFlight::new(config.max_in_flight_requests, state.retry_after());
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    // Two methods on one path merge into one method router.
    let routes = route_table()
        .into_iter()
        .fold(Router::new(), |router, route| {
            let filter = MethodFilter::try_from(route.method).expect("a method axum routes");
            router.route(route.path, (route.handler)(filter))
        });
    routes
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::count_requests,
        ))
        .route_layer(axum::middleware::from_fn(request_log::record_route))
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::read_body_in_time,
        ))
        .layer(axum::middleware::from_fn_with_state(
            in_flight,
            in_flight::limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::retry_after,
        ))
        .layer(axum::middleware::from_fn(request_log::request_span))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(axum::middleware::map_request(
            request_log::accept_request_id,
        ))
        .with_state(state)
}
