//! Control and inspection of the Twilio stand-in, under `/_sandbox/twilio`: sent messages with
//! their status callbacks, opt-outs, simulated replies, the inbound webhook and the callback
//! faults.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

use super::is_callback_url;
use super::model::{
    TwilioCallbackFaults, TwilioInbound, TwilioInboundMessage, TwilioInboundWebhook, TwilioMessage,
    TwilioOptOut,
};
use crate::body::{JsonBody, PathParams};
use crate::control::{Changes, ControlError};
use crate::state::Shared;

type Result<T> = std::result::Result<T, ControlError>;

pub fn router() -> Router<Shared> {
    Router::new()
        // Forgetting sent messages stops their pending status changes and callbacks.
        .route(
            "/messages",
            get(messages).delete(Changes::Providers(|p| p.twilio.messages.clear())),
        )
        .route("/messages/{sid}", get(message))
        .route("/opt-outs", get(opt_outs))
        .route("/inbound", get(inbound_messages).post(inbound))
        .route(
            "/inbound-webhook",
            get(inbound_webhook).put(set_inbound_webhook),
        )
        .route(
            "/callback-faults",
            get(callback_faults).put(set_callback_faults),
        )
}

async fn messages(State(app): State<Shared>) -> Json<Vec<TwilioMessage>> {
    Json(app.read(|p| p.twilio.messages.clone()))
}

async fn message(
    State(app): State<Shared>,
    PathParams(sid, _): PathParams<String, ControlError>,
) -> Result<Json<TwilioMessage>> {
    app.read(|p| p.twilio.message(&sid).cloned())
        .map(Json)
        .ok_or_else(|| ControlError::not_found(format!("no Twilio message {sid}")))
}

async fn opt_outs(State(app): State<Shared>) -> Json<Vec<TwilioOptOut>> {
    Json(app.read(|p| p.twilio.opt_outs.values().cloned().collect()))
}

async fn inbound_messages(State(app): State<Shared>) -> Json<Vec<TwilioInboundMessage>> {
    Json(app.read(|p| p.twilio.inbound.clone()))
}

/// Plays a reply from a lead; answers after the webhook answered (both deliveries with
/// `twice`).
async fn inbound(
    State(app): State<Shared>,
    JsonBody(request, _): JsonBody<TwilioInbound, ControlError>,
) -> Result<Json<TwilioInboundMessage>> {
    super::inbound::receive(&app, request).await.map(Json)
}

async fn inbound_webhook(State(app): State<Shared>) -> Json<TwilioInboundWebhook> {
    Json(TwilioInboundWebhook {
        url: app.read(|p| p.twilio.inbound_webhook_url.clone()),
    })
}

async fn set_inbound_webhook(
    State(app): State<Shared>,
    JsonBody(webhook, _): JsonBody<TwilioInboundWebhook, ControlError>,
) -> Result<Json<TwilioInboundWebhook>> {
    if let Some(url) = &webhook.url
        && !is_callback_url(url)
    {
        return Err(ControlError::new(
            StatusCode::BAD_REQUEST,
            format!("url must be an absolute http(s) URL, got {url:?}"),
        ));
    }
    app.change(|p| p.twilio.inbound_webhook_url = webhook.url.clone());
    Ok(Json(webhook))
}

async fn callback_faults(State(app): State<Shared>) -> Json<TwilioCallbackFaults> {
    Json(app.runtime(|rt| rt.twilio_callback_faults))
}

/// Applies to messages accepted from now on.
async fn set_callback_faults(
    State(app): State<Shared>,
    JsonBody(faults, _): JsonBody<TwilioCallbackFaults, ControlError>,
) -> Json<TwilioCallbackFaults> {
    app.runtime(|rt| rt.twilio_callback_faults = faults);
    Json(faults)
}
