//! Shared sandbox state. Provider data (what a snapshot saves) and runtime data (fault rules,
//! rate windows, request log: what a restart may forget) sit behind separate mutexes that are
//! never held across an `.await` and never nested.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};

use crate::acuity::AcuityState;
use crate::calendly::CalendlyState;
use crate::config::SandboxConfig;
use crate::faults::Faults;
use crate::google_calendar::CalendarState;
use crate::google_oauth::OAuthState;
use crate::hubspot::HubspotState;
use crate::microsoft::MicrosoftState;
use crate::ratelimit::{FixedWindow, RollingWindow};
use crate::request_log::RequestLog;
use crate::rng::SplitMix64;
use crate::sendgrid::SendgridState;
use crate::twilio::TwilioState;
use crate::twilio::model::TwilioCallbackFaults;

pub type Shared = Arc<AppState>;

/// Everything the providers hold; the unit of snapshot and reset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Providers {
    pub google_oauth: OAuthState,
    pub google_calendar: CalendarState,
    pub hubspot: HubspotState,
    pub sendgrid: SendgridState,
    pub calendly: CalendlyState,
    pub microsoft: MicrosoftState,
    pub twilio: TwilioState,
    pub acuity: AcuityState,
    pub ical: crate::ical::IcalState,
}

impl Providers {
    pub fn initial(config: &SandboxConfig) -> Self {
        let mut providers = Self::default();
        providers.apply_config(config);
        providers
    }

    /// Makes sure what the configuration promises exists, also in a loaded snapshot
    /// (the configured grant and Microsoft app, the configured webhook subscription and
    /// Twilio inbound webhook).
    pub fn apply_config(&mut self, config: &SandboxConfig) {
        self.google_oauth.provision(config);
        self.google_calendar.ensure_epoch();
        self.calendly.apply_config(config);
        self.microsoft.apply_config(config);
        self.twilio.apply_config(config);
        self.acuity.apply_config(config);
    }
}

/// State that is not worth persisting.
pub struct Runtime {
    pub faults: Faults,
    pub requests: RequestLog,
    pub hubspot_window: RollingWindow,
    pub sendgrid_window: FixedWindow,
    pub rng: SplitMix64,
    /// Applied to the status callbacks of Twilio messages accepted while set.
    pub twilio_callback_faults: TwilioCallbackFaults,
}

impl Runtime {
    fn new(config: &SandboxConfig) -> Self {
        Self {
            faults: Faults::default(),
            requests: RequestLog::new(config.request_log_capacity),
            hubspot_window: RollingWindow::new(Duration::from_secs(10)),
            sendgrid_window: FixedWindow::new(Duration::from_secs(1)),
            rng: SplitMix64::from_entropy(),
            twilio_callback_faults: TwilioCallbackFaults::default(),
        }
    }
}

pub struct AppState {
    pub config: SandboxConfig,
    /// `http://host:port` that clients use; resource URIs are built from it.
    pub base_url: String,
    providers: Mutex<Providers>,
    runtime: Mutex<Runtime>,
    changed: Notify,
    /// Client for outgoing webhooks (Calendly's, Twilio's).
    pub http: reqwest::Client,
    shutdown: watch::Receiver<bool>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep serving it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AppState {
    pub fn new(
        config: SandboxConfig,
        base_url: String,
        providers: Providers,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.webhook_timeout)
            .user_agent("Calendly-Webhooks (booking-sandbox)")
            .build()
            .unwrap_or_default();
        Self {
            runtime: Mutex::new(Runtime::new(&config)),
            providers: Mutex::new(providers),
            changed: Notify::new(),
            config,
            base_url,
            http,
            shutdown,
        }
    }

    pub fn read<R>(&self, f: impl FnOnce(&Providers) -> R) -> R {
        f(&lock(&self.providers))
    }

    /// Mutates provider state and wakes the snapshot writer.
    pub fn change<R>(&self, f: impl FnOnce(&mut Providers) -> R) -> R {
        let result = f(&mut lock(&self.providers));
        self.changed.notify_one();
        result
    }

    pub fn runtime<R>(&self, f: impl FnOnce(&mut Runtime) -> R) -> R {
        f(&mut lock(&self.runtime))
    }

    /// Resolves after the next `change`.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// Resolves when shutdown starts.
    pub async fn shutting_down(&self) {
        let mut rx = self.shutdown.clone();
        // An error means the sender is gone, which also means shutdown.
        let _ = rx.wait_for(|down| *down).await;
    }

    /// Base of Calendly resource URIs (`{base}/calendly`).
    pub fn calendly_base(&self) -> String {
        format!("{}/calendly", self.base_url)
    }

    /// Back to a fresh sandbox: provider data, fault rules and the request log.
    pub fn reset(&self) {
        self.change(|p| {
            // The webhook subscription is set up once per test run (often after start,
            // when the receiver's port is known), so it survives a reset, re-enabled; so
            // does the Twilio number's inbound webhook.
            let subscription = p.calendly.subscription.clone();
            let inbound_webhook = p.twilio.inbound_webhook_url.clone();
            *p = Providers::initial(&self.config);
            p.calendly.subscription = subscription;
            p.calendly.subscription.enabled = true;
            p.twilio.inbound_webhook_url = inbound_webhook;
        });
        self.runtime(|rt| {
            rt.faults = Faults::default();
            rt.twilio_callback_faults = TwilioCallbackFaults::default();
            rt.requests.clear();
            rt.hubspot_window = RollingWindow::new(Duration::from_secs(10));
            rt.sendgrid_window = FixedWindow::new(Duration::from_secs(1));
        });
    }
}
