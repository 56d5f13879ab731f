//! Control endpoints under `/_sandbox/calendly`: play the invitee (book, cancel,
//! reschedule), inspect and replay webhook deliveries, configure the subscription.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::CalendlyState;
use super::WebhookSubscription;
use super::WebhookSubscriptionUpdate;
use super::booking::{
    self, BookInvitee, Booked, BookingError, CancelInvitee, Cancelled, InviteeChanged,
    RescheduleInvitee, Rescheduled, envelope,
};
use super::model::{CalendlyEvent, CalendlyInvitee};
use super::webhooks::{CalendlyWebhooks, RawWebhook, SignatureOverride, WebhookDelivery};
use crate::body::{JsonBody, PathParams, RawBody, parse_json};
use crate::control::ControlError;
use crate::state::Shared;
use crate::webhook_retries::deliver_in_order;

type Result<T> = std::result::Result<T, ControlError>;

impl From<BookingError> for ControlError {
    fn from(e: BookingError) -> Self {
        match e {
            BookingError::Invalid(m) => Self::new(StatusCode::BAD_REQUEST, m),
            BookingError::NotFound(m) => Self::not_found(m),
            BookingError::Conflict(m) => Self::new(StatusCode::CONFLICT, m),
        }
    }
}

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/events", get(events))
        .route("/invitees", get(invitees).post(book))
        .route("/invitees/{uuid}/cancel", post(cancel))
        .route("/invitees/{uuid}/reschedule", post(reschedule))
        .route("/deliveries", get(deliveries))
        .route("/deliveries/{id}/redeliver", post(redeliver))
        .route("/webhooks/raw", post(send_raw))
        .route("/webhook", get(subscription).put(update_subscription))
}

async fn events(State(app): State<Shared>) -> Json<Vec<CalendlyEvent>> {
    Json(app.read(|p| {
        let mut events: Vec<_> = p.calendly.events.values().cloned().collect();
        events.sort_by_key(|e| e.created_at);
        events
    }))
}

async fn invitees(State(app): State<Shared>) -> Json<Vec<CalendlyInvitee>> {
    Json(app.read(|p| {
        let mut invitees: Vec<_> = p.calendly.invitees.values().cloned().collect();
        invitees.sort_by_key(|i| i.created_at);
        invitees
    }))
}

async fn deliveries(State(app): State<Shared>) -> Json<Vec<WebhookDelivery>> {
    Json(app.read(|p| p.calendly.deliveries.clone()))
}

/// Stores the deliveries, makes their first attempts in order, and returns them as they
/// stand afterwards.
async fn send(app: &Shared, new: Vec<WebhookDelivery>) -> Vec<WebhookDelivery> {
    let ids: Vec<String> = new.iter().map(|d| d.id.clone()).collect();
    app.change(|p| p.calendly.deliveries.extend(new));
    deliver_in_order::<CalendlyWebhooks>(app, &ids).await;
    app.read(|p| {
        ids.iter()
            .filter_map(|id| p.calendly.deliveries.iter().find(|d| &d.id == id).cloned())
            .collect()
    })
}

async fn book(
    State(app): State<Shared>,
    JsonBody(request, _): JsonBody<BookInvitee, ControlError>,
) -> Result<Json<Booked>> {
    let book = |c: &mut CalendlyState| booking::book(c, &request);
    play(&app, "invitee.created", request.deliver, book)
        .await
        .map(Json)
}

/// Plays one invitee change and sends its webhook (`name`: `invitee.created` or
/// `invitee.canceled`), or stores it unsent when `deliver` is false.
async fn play(
    app: &Shared,
    name: &'static str,
    deliver: bool,
    change: impl FnOnce(
        &mut CalendlyState,
    ) -> std::result::Result<(CalendlyEvent, CalendlyInvitee), BookingError>,
) -> Result<InviteeChanged> {
    let base = app.calendly_base();
    let (event, invitee, delivery) = app.change(|p| {
        let (event, invitee) = change(&mut p.calendly)?;
        let body = envelope(&p.calendly, name, &invitee.uuid, &base);
        let uuid = Some(invitee.uuid.clone());
        let delivery = WebhookDelivery::new(name, uuid, body, deliver);
        Ok::<_, BookingError>((event, invitee, delivery))
    })?;
    let deliveries = send(app, vec![delivery]).await;
    Ok(InviteeChanged {
        event,
        invitee,
        deliveries,
    })
}

/// The body is optional: no body cancels as the invitee, without a reason.
async fn cancel(
    State(app): State<Shared>,
    PathParams(uuid, _): PathParams<String, ControlError>,
    RawBody(_, bytes, _): RawBody<ControlError>,
) -> Result<Json<Cancelled>> {
    let request: CancelInvitee = if bytes.is_empty() {
        CancelInvitee::default()
    } else {
        parse_json(&bytes)?
    };
    let cancel = |c: &mut CalendlyState| booking::cancel(c, &uuid, &request);
    play(&app, "invitee.canceled", request.deliver, cancel)
        .await
        .map(Json)
}

async fn reschedule(
    State(app): State<Shared>,
    PathParams(uuid, _): PathParams<String, ControlError>,
    JsonBody(request, _): JsonBody<RescheduleInvitee, ControlError>,
) -> Result<Json<Rescheduled>> {
    let base = app.calendly_base();
    let (outcome, pair) = app.change(|p| {
        let outcome = booking::reschedule(&mut p.calendly, &uuid, &request)?;
        let pair = booking::reschedule_deliveries(&p.calendly, &outcome, &request, &base);
        Ok::<_, BookingError>((outcome, pair))
    })?;
    let deliveries = send(&app, pair).await;
    Ok(Json(Rescheduled {
        old_event: outcome.old_event,
        old_invitee: outcome.old_invitee,
        new_event: outcome.new_event,
        new_invitee: outcome.new_invitee,
        deliveries,
    }))
}

/// Sends the same body again as a new delivery (Calendly redelivers; receivers must
/// de-duplicate). Returns after its first attempt.
async fn redeliver(
    State(app): State<Shared>,
    PathParams(id, _): PathParams<String, ControlError>,
) -> Result<Json<WebhookDelivery>> {
    let original = app
        .read(|p| p.calendly.deliveries.iter().find(|d| d.id == id).cloned())
        .ok_or_else(|| ControlError::not_found(format!("no delivery {id}")))?;
    let mut copy = WebhookDelivery::new(
        &original.event,
        original.invitee_uuid.clone(),
        original.body.clone(),
        true,
    );
    copy.redelivery_of = Some(original.id.clone());
    copy.retry = original.retry;
    copy.signature_override = original.signature_override.clone();
    let mut sent = send(&app, vec![copy]).await;
    sent.pop()
        .map(Json)
        .ok_or_else(|| ControlError::not_found("delivery vanished (reset?)"))
}

/// Sends an arbitrary body with a proper, stale, foreign-key, verbatim or missing
/// signature. Returns after the first attempt.
async fn send_raw(
    State(app): State<Shared>,
    JsonBody(raw, _): JsonBody<RawWebhook, ControlError>,
) -> Result<Json<WebhookDelivery>> {
    let event = serde_json::from_str::<serde_json::Value>(&raw.body)
        .ok()
        .and_then(|v| v.get("event").and_then(|e| e.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "raw".to_owned());
    let mut delivery = WebhookDelivery::new(&event, None, raw.body, true);
    delivery.retry = raw.retry;
    delivery.signature_override = Some(SignatureOverride {
        header: raw.signature,
        timestamp: raw.timestamp,
        signing_key: raw.signing_key,
        omit: raw.omit_signature,
    });
    let mut sent = send(&app, vec![delivery]).await;
    sent.pop()
        .map(Json)
        .ok_or_else(|| ControlError::not_found("delivery vanished (reset?)"))
}

async fn subscription(State(app): State<Shared>) -> Json<WebhookSubscription> {
    Json(app.read(|p| p.calendly.subscription.clone()))
}

async fn update_subscription(
    State(app): State<Shared>,
    JsonBody(update, _): JsonBody<WebhookSubscriptionUpdate, ControlError>,
) -> Json<WebhookSubscription> {
    Json(app.change(|p| {
        let sub = &mut p.calendly.subscription;
        if update.clear_target {
            sub.target = None;
        }
        if let Some(target) = update.target {
            sub.target = Some(target);
        }
        if let Some(key) = update.signing_key {
            sub.signing_key = key;
        }
        if let Some(enabled) = update.enabled {
            sub.enabled = enabled;
        }
        sub.clone()
    }))
}
