//! The control and inspection API under `/_sandbox`: what tests and demos use to look
//! inside the providers and to make them misbehave. Errors here are `{"error": "..."}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::body::{BodyError, JsonBody, PathParams, QueryPairs};
use crate::faults::{ChaosConfig, DropConnections, FaultRule, Faults, Injection, Latency};
use crate::google_calendar::model::CalendarEventRecord;
use crate::google_oauth::GoogleGrant;
use crate::hubspot::schema::ObjectType;
use crate::hubspot::store::CrmObject;
use crate::request_log::RequestRecord;
use crate::rng::SplitMix64;
use crate::sendgrid::model::SentEmail;
use crate::state::{Providers, Runtime, Shared};
use crate::time;
pub use changes::{Changes, ChangesNamed};

mod changes;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlError {
    pub status: StatusCode,
    pub message: String,
}

impl ControlError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
}

impl From<BodyError> for ControlError {
    fn from(e: BodyError) -> Self {
        Self::new(StatusCode::BAD_REQUEST, e.detail())
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

type Result<T> = std::result::Result<T, ControlError>;

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .route("/reset", post(reset))
        .route("/state", get(dump_state))
        .route(
            "/requests",
            get(requests).delete(Changes::Runtime(|rt| rt.requests.clear())),
        )
        .route(
            "/faults",
            get(faults).delete(Changes::Runtime(clear_faults)),
        )
        .route("/faults/injections", post(add_fault::<Injection>))
        .route("/faults/latency", post(add_fault::<Latency>))
        .route("/faults/drops", post(add_fault::<DropConnections>))
        .route(
            "/faults/chaos",
            put(set_chaos).delete(Changes::Runtime(|rt| rt.faults.chaos = None)),
        )
        .route("/google/grants", get(grants).post(add_grant))
        .route(
            "/google/grants/{refresh_token}/revoke",
            post(grant_change(true)),
        )
        .route(
            "/google/grants/{refresh_token}/restore",
            post(grant_change(false)),
        )
        .route(
            "/google/access-tokens/expire",
            post(Changes::Providers(|p| {
                p.google_oauth.expire_all(time::now())
            })),
        )
        .route(
            "/google/sync-tokens/expire",
            post(Changes::Providers(|p| p.google_calendar.renew_epoch())),
        )
        .route("/google/events", get(calendar_events))
        .route("/hubspot/{object_type}", get(crm_objects))
        .route(
            "/sendgrid/emails",
            get(emails).delete(Changes::Providers(|p| p.sendgrid.emails.clear())),
        )
        .route("/sendgrid/emails/count", get(email_count))
        .nest("/calendly", crate::calendly::control::router())
        .nest("/microsoft", crate::microsoft::control::router())
        .nest("/twilio", crate::twilio::control::router())
        .nest("/acuity", crate::acuity::control_router())
        .nest("/ical", crate::ical::control_router())
        .fallback(|| async { ControlError::not_found("no such control endpoint") })
}

async fn reset(State(app): State<Shared>) -> StatusCode {
    app.reset();
    tracing::info!("sandbox reset");
    StatusCode::NO_CONTENT
}

async fn dump_state(State(app): State<Shared>) -> Json<Value> {
    Json(app.read(|p| serde_json::to_value(p).unwrap_or_default()))
}

/// `?method=POST&path_prefix=/sendgrid` narrow the log.
async fn requests(State(app): State<Shared>, query: QueryPairs) -> Json<Vec<RequestRecord>> {
    let method = query.get("method").map(str::to_ascii_uppercase);
    let prefix = query.get("path_prefix").unwrap_or("");
    Json(app.runtime(|rt| {
        rt.requests
            .entries()
            .filter(|r| {
                method.as_ref().is_none_or(|m| &r.method == m) && r.path.starts_with(prefix)
            })
            .cloned()
            .collect()
    }))
}

async fn faults(State(app): State<Shared>) -> Json<Faults> {
    Json(app.runtime(|rt| rt.faults.clone()))
}

/// Also clears the Twilio callback faults.
fn clear_faults(rt: &mut Runtime) {
    rt.faults = Faults::default();
    rt.twilio_callback_faults = Default::default();
}

/// Adds a fault rule to the list of its kind.
async fn add_fault<R: FaultRule>(
    State(app): State<Shared>,
    JsonBody(rule, _): JsonBody<R, ControlError>,
) -> Result<StatusCode> {
    rule.check()
        .map_err(|m| ControlError::new(StatusCode::BAD_REQUEST, m))?;
    app.runtime(|rt| R::list(&mut rt.faults).push(rule));
    Ok(StatusCode::NO_CONTENT)
}

async fn set_chaos(
    State(app): State<Shared>,
    JsonBody(chaos, _): JsonBody<ChaosConfig, ControlError>,
) -> Result<StatusCode> {
    let rates = [
        chaos.server_error_rate,
        chaos.rate_limit_rate,
        chaos.latency_rate,
    ];
    if rates.iter().any(|r| !(0.0..=1.0).contains(r))
        || chaos.server_error_rate + chaos.rate_limit_rate > 1.0
    {
        return Err(ControlError::new(
            StatusCode::BAD_REQUEST,
            "rates must be within [0, 1] and server_error_rate + rate_limit_rate at most 1",
        ));
    }
    app.runtime(|rt| {
        if let Some(seed) = chaos.seed {
            rt.rng = SplitMix64::seeded(seed);
        }
        rt.faults.chaos = Some(chaos);
    });
    Ok(StatusCode::NO_CONTENT)
}

async fn grants(State(app): State<Shared>) -> Json<Vec<GoogleGrant>> {
    Json(app.read(|p| p.google_oauth.grants.values().cloned().collect()))
}

async fn add_grant(
    State(app): State<Shared>,
    JsonBody(grant, _): JsonBody<GoogleGrant, ControlError>,
) -> StatusCode {
    app.change(|p| {
        p.google_oauth
            .grants
            .insert(grant.refresh_token.clone(), grant)
    });
    StatusCode::NO_CONTENT
}

fn grant_change(revoked: bool) -> ChangesNamed<impl Fn(&mut Providers, &str) -> bool + Clone> {
    ChangesNamed {
        what: "grant with refresh token",
        change: move |p: &mut Providers, token: &str| p.google_oauth.set_revoked(token, revoked),
    }
}

/// `?include_deleted=true` adds cancelled events.
async fn calendar_events(
    State(app): State<Shared>,
    query: QueryPairs,
) -> Json<Vec<CalendarEventRecord>> {
    let include_deleted = query.flag("include_deleted").unwrap_or(false);
    Json(app.read(|p| p.google_calendar.records(include_deleted)))
}

/// Every record of a type, archived ones included (see their `archived` flag).
async fn crm_objects(
    State(app): State<Shared>,
    PathParams(object_type, _): PathParams<String, ControlError>,
) -> Result<Json<Vec<CrmObject>>> {
    let t = ObjectType::parse(&object_type)
        .map_err(|_| ControlError::not_found(format!("unknown object type {object_type}")))?;
    Ok(Json(app.read(|p| {
        p.hubspot.objects(t).values().cloned().collect()
    })))
}

async fn emails(State(app): State<Shared>) -> Json<Vec<SentEmail>> {
    Json(app.read(|p| p.sendgrid.emails.clone()))
}

/// How many emails were accepted: a poller waiting on thousands of bookings reads one number
/// instead of cloning and serializing every message under the lock the providers share.
async fn email_count(State(app): State<Shared>) -> Json<Value> {
    Json(json!({ "count": app.read(|p| p.sendgrid.emails.len()) }))
}
