//! Acuity Scheduling API v1 stand-in, served under `/acuity` (real base
//! `https://acuityscheduling.com`): `GET /api/v1/appointments/{id}` and
//! `GET /api/v1/appointments?minDate&maxDate&canceled&max`, HTTP Basic with the user id and
//! API key ([`SandboxConfig::acuity_user_id`], [`SandboxConfig::acuity_api_key`]), Acuity's
//! error shape `{status_code, message, error}`. Fault injection applies under
//! `/acuity/api/v1/appointments` like any path.
//!
//! Control under `/_sandbox/acuity` ([`control_router`]): create, reschedule, cancel and change
//! appointments, each sending its signed webhook ([`webhooks`]) with delivery controls
//! (twice, held, wrongly signed, or none), release held deliveries in order or reversed,
//! redeliver one, list deliveries, and set the webhook URL.

pub mod appointments;
pub mod error;
pub mod model;
pub mod webhooks;

use std::collections::BTreeMap;

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::webhook_retries::deliver_in_order;
use crate::{config::SandboxConfig, state::Shared};
use appointments::{
    AcuityCancel, AcuityChange, AcuityNewAppointment, AcuityReschedule, ChangeError,
};
use error::AcuityError;
use model::AcuityAppointment;
use webhooks::{AcuityWebhookDelivery, AcuityWebhooks, ReleaseOrder};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AcuityState {
    pub appointments: BTreeMap<u64, AcuityAppointment>,
    pub next_id: u64,
    /// Every webhook, oldest first.
    pub deliveries: Vec<AcuityWebhookDelivery>,
    /// Where webhooks go; `None`: recorded as not sent.
    pub webhook_url: Option<String>,
}

impl Default for AcuityState {
    fn default() -> Self {
        Self {
            appointments: BTreeMap::new(),
            next_id: 1000,
            deliveries: Vec::new(),
            webhook_url: None,
        }
    }
}

impl AcuityState {
    /// A configured webhook URL wins over a loaded snapshot's.
    pub fn apply_config(&mut self, config: &SandboxConfig) {
        if config.acuity_webhook_url.is_some() {
            self.webhook_url = config.acuity_webhook_url.clone();
        }
    }

    pub fn delivery_mut(&mut self, id: &str) -> Option<&mut AcuityWebhookDelivery> {
        self.deliveries.iter_mut().find(|d| d.id == id)
    }
}

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/api/v1/appointments", get(list))
        .route("/api/v1/appointments/{id}", get(fetch))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn method_not_allowed() -> AcuityError {
    AcuityError::method_not_allowed()
}

async fn not_found(_uri: Uri) -> AcuityError {
    AcuityError::not_found()
}

fn authenticate(config: &SandboxConfig, headers: &HeaderMap) -> Result<(), AcuityError> {
    let ok = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, encoded)| data_encoding::BASE64.decode(encoded.trim().as_bytes()).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .is_some_and(|pair| pair == format!("{}:{}", config.acuity_user_id, config.acuity_api_key));
    if ok {
        Ok(())
    } else {
        Err(AcuityError::unauthorized())
    }
}

async fn fetch(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, AcuityError> {
    authenticate(&app.config, &headers)?;
    let id: u64 = id
        .parse()
        .map_err(|_| AcuityError::appointment_not_found())?;
    app.read(|p| {
        p.acuity
            .appointments
            .get(&id)
            .map(AcuityAppointment::render)
    })
    .map(Json)
    .ok_or_else(AcuityError::appointment_not_found)
}

async fn list(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Json<Value>, AcuityError> {
    authenticate(&app.config, &headers)?;
    let date = |name: &str| -> Result<Option<NaiveDate>, AcuityError> {
        query
            .get(name)
            .map(|raw| {
                NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                    .map_err(|_| AcuityError::invalid_parameter(name, "must be a YYYY-MM-DD date"))
            })
            .transpose()
    };
    let min = date("minDate")?;
    let max = date("maxDate")?;
    let canceled = match query.get("canceled").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(AcuityError::invalid_parameter(
                "canceled",
                "must be true or false",
            ));
        }
    };
    let cap = match query.get("max") {
        None => 100,
        Some(raw) => raw
            .parse::<usize>()
            .map_err(|_| AcuityError::invalid_parameter("max", "must be a number"))?,
    };
    let mut listed: Vec<AcuityAppointment> = app.read(|p| {
        p.acuity
            .appointments
            .values()
            .filter(|a| a.canceled == canceled)
            .filter(|a| min.is_none_or(|m| a.local_date() >= m))
            .filter(|a| max.is_none_or(|m| a.local_date() <= m))
            .cloned()
            .collect()
    });
    listed.sort_by_key(|a| (a.start, a.id));
    listed.truncate(cap);
    Ok(Json(Value::Array(
        listed.iter().map(AcuityAppointment::render).collect(),
    )))
}

pub fn control_router() -> Router<Shared> {
    Router::new()
        .route("/appointments", post(create).get(all))
        .route("/appointments/{id}/reschedule", post(reschedule))
        .route("/appointments/{id}/cancel", post(cancel))
        .route("/appointments/{id}/change", post(change))
        .route("/webhook", put(set_webhook).get(get_webhook))
        .route("/webhooks/deliveries", get(deliveries))
        .route("/webhooks/release", post(release))
        .route("/webhooks/{id}/redeliver", post(redeliver))
}

fn refused(e: ChangeError) -> Response {
    let (status, message) = match e {
        ChangeError::Invalid(m) => (StatusCode::BAD_REQUEST, m),
        ChangeError::NotFound(id) => (StatusCode::NOT_FOUND, format!("no appointment {id}")),
        ChangeError::Conflict(m) => (StatusCode::CONFLICT, m),
    };
    (status, Json(json!({ "error": message }))).into_response()
}

/// Applies a change, records its webhooks and sends those not held, in order.
async fn changed(
    app: &Shared,
    action: &str,
    controls: webhooks::AcuityDeliveryControls,
    change: impl FnOnce(&mut AcuityState) -> Result<AcuityAppointment, ChangeError>,
) -> Response {
    let config = app.config.clone();
    let done = app.change(|p| {
        let appointment = change(&mut p.acuity)?;
        let send = webhooks::record(&mut p.acuity, &config, action, &appointment, controls);
        Ok::<_, ChangeError>((appointment, send))
    });
    match done {
        Ok((appointment, send)) => {
            // Sent in the background, as Acuity does: the control call answers at once.
            let app = app.clone();
            tokio::spawn(async move { deliver_in_order::<AcuityWebhooks>(&app, &send).await });
            (StatusCode::OK, Json(appointment.render())).into_response()
        }
        Err(e) => refused(e),
    }
}

async fn create(State(app): State<Shared>, Json(request): Json<AcuityNewAppointment>) -> Response {
    let controls = request.delivery;
    changed(&app, "appointment.scheduled", controls, |s| {
        appointments::schedule(s, &request)
    })
    .await
}

async fn all(State(app): State<Shared>) -> Json<Value> {
    Json(Value::Array(app.read(|p| {
        p.acuity
            .appointments
            .values()
            .map(AcuityAppointment::render)
            .collect()
    })))
}

async fn reschedule(
    State(app): State<Shared>,
    Path(id): Path<u64>,
    Json(request): Json<AcuityReschedule>,
) -> Response {
    let controls = request.delivery;
    changed(&app, "appointment.rescheduled", controls, |s| {
        appointments::reschedule(s, id, &request)
    })
    .await
}

async fn cancel(
    State(app): State<Shared>,
    Path(id): Path<u64>,
    Json(request): Json<AcuityCancel>,
) -> Response {
    let controls = request.delivery;
    changed(&app, "appointment.canceled", controls, |s| {
        appointments::cancel(s, id, &request)
    })
    .await
}

async fn change(
    State(app): State<Shared>,
    Path(id): Path<u64>,
    Json(request): Json<AcuityChange>,
) -> Response {
    let controls = request.delivery;
    changed(&app, "appointment.changed", controls, |s| {
        appointments::change(s, id, &request)
    })
    .await
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AcuityWebhook {
    pub url: Option<String>,
}

async fn set_webhook(State(app): State<Shared>, Json(webhook): Json<AcuityWebhook>) -> StatusCode {
    app.change(|p| p.acuity.webhook_url = webhook.url);
    StatusCode::NO_CONTENT
}

async fn get_webhook(State(app): State<Shared>) -> Json<AcuityWebhook> {
    Json(AcuityWebhook {
        url: app.read(|p| p.acuity.webhook_url.clone()),
    })
}

async fn deliveries(State(app): State<Shared>) -> Json<Vec<AcuityWebhookDelivery>> {
    Json(app.read(|p| p.acuity.deliveries.clone()))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Release {
    order: ReleaseOrder,
}

async fn release(State(app): State<Shared>, Json(body): Json<Release>) -> Json<Value> {
    let ids = app.change(|p| webhooks::release(&mut p.acuity, body.order));
    deliver_in_order::<AcuityWebhooks>(&app, &ids).await;
    Json(json!({ "released": ids }))
}

async fn redeliver(State(app): State<Shared>, Path(id): Path<String>) -> Response {
    match app.change(|p| webhooks::redelivery(&mut p.acuity, &id)) {
        Some(new_id) => {
            deliver_in_order::<AcuityWebhooks>(&app, std::slice::from_ref(&new_id)).await;
            Json(json!({ "id": new_id })).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("no delivery {id}") })),
        )
            .into_response(),
    }
}
