//! Calendly API v2 stand-in, served under `/calendly` (real base `https://api.calendly.com`),
//! plus the webhook sender that plays Calendly's side of a webhook subscription.

mod api;
pub mod booking;
pub mod control;
pub mod error;
pub mod model;
pub mod webhooks;

use std::collections::BTreeMap;

use axum::Router;
use serde::{Deserialize, Serialize};

use crate::config::SandboxConfig;
use crate::state::Shared;
use model::{CalendlyEvent, CalendlyInvitee};
use webhooks::WebhookDelivery;

/// Where and how webhooks are sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSubscription {
    /// `None`: deliveries are recorded as `not_sent`.
    pub target: Option<String>,
    pub signing_key: String,
    /// Calendly disables a subscription whose deliveries kept failing for the whole retry
    /// horizon; a disabled subscription sends nothing until re-enabled.
    pub enabled: bool,
}

impl Default for WebhookSubscription {
    fn default() -> Self {
        Self {
            target: None,
            signing_key: crate::defaults::CALENDLY_SIGNING_KEY.to_owned(),
            enabled: true,
        }
    }
}

/// Changes to the subscription (`PUT /_sandbox/calendly/webhook`); absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookSubscriptionUpdate {
    pub target: Option<String>,
    /// Removes the target (deliveries are then recorded but not sent).
    pub clear_target: bool,
    pub signing_key: Option<String>,
    pub enabled: Option<bool>,
}

impl WebhookSubscriptionUpdate {
    pub fn target(target: impl Into<String>) -> Self {
        Self {
            target: Some(target.into()),
            enabled: Some(true),
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CalendlyState {
    pub events: BTreeMap<String, CalendlyEvent>,
    pub invitees: BTreeMap<String, CalendlyInvitee>,
    /// Every webhook delivery, oldest first.
    pub deliveries: Vec<WebhookDelivery>,
    pub subscription: WebhookSubscription,
}

impl CalendlyState {
    /// Configuration wins over a loaded snapshot for the signing key, and for the target
    /// when one is configured.
    pub fn apply_config(&mut self, config: &SandboxConfig) {
        self.subscription.signing_key = config.calendly_signing_key.clone();
        if config.calendly_webhook_target.is_some() {
            self.subscription.target = config.calendly_webhook_target.clone();
        }
    }

    pub fn delivery_mut(&mut self, id: &str) -> Option<&mut WebhookDelivery> {
        self.deliveries.iter_mut().find(|d| d.id == id)
    }
}

pub fn router() -> Router<Shared> {
    api::router()
}
