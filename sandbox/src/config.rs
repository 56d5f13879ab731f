//! Sandbox configuration: everything has a default so `SandboxConfig::default()` is a
//! working sandbox on a free local port.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::defaults;

/// How the sandbox is started. Every field has a default (see [`Default`]).
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where to listen. Default `127.0.0.1:0` (a free port; read it from [`crate::RunningSandbox::addr`]).
    pub bind: SocketAddr,
    /// Base URL that appears inside resource URIs (Calendly `uri` fields, `next_page`).
    /// Default: the bound address as `http://127.0.0.1:PORT`. Set it when clients reach the
    /// sandbox under another name (for example a docker-compose service name).
    pub public_base_url: Option<String>,
    /// JSON file holding all provider state: loaded on start when present, saved shortly
    /// after every change and on shutdown. `None` keeps everything in memory.
    pub snapshot_path: Option<PathBuf>,
    /// How long after a change the snapshot is written (changes in between are batched).
    pub snapshot_debounce: Duration,

    /// Access-token lifetime of the Google OAuth stand-in (real Google: 3600 s).
    pub token_lifetime: Duration,
    /// Client id of the pre-provisioned Google grant.
    pub google_client_id: String,
    /// Client secret of the pre-provisioned Google grant.
    pub google_client_secret: String,
    /// Refresh token of the pre-provisioned Google grant.
    pub google_refresh_token: String,
    /// The calendar that the calendar id `primary` refers to.
    pub google_primary_calendar: String,

    /// Directory (tenant) id of the pre-provisioned Microsoft app registration.
    pub microsoft_tenant_id: String,
    /// Application (client) id of the pre-provisioned Microsoft app registration.
    pub microsoft_client_id: String,
    /// Client secret of the pre-provisioned Microsoft app registration.
    pub microsoft_client_secret: String,
    /// Access-token lifetime of the Microsoft identity stand-in (real: 3599 s, `expires_in`).
    pub microsoft_token_lifetime: Duration,

    /// HubSpot private-app token.
    pub hubspot_token: String,
    /// Requests allowed per rolling 10-second window (HubSpot's `ten_secondly_rolling` limit).
    pub hubspot_limit_per_10s: u32,

    /// SendGrid API key.
    pub sendgrid_api_key: String,
    /// Mail-send requests allowed per one-second window.
    pub sendgrid_limit_per_second: u32,

    /// Calendly personal access token.
    pub calendly_token: String,
    /// URL the Calendly webhook subscription posts to. `None`: deliveries are recorded
    /// but not sent until a target is set through the control API.
    pub calendly_webhook_target: Option<String>,
    /// Webhook signing key (HMAC-SHA256 key of `Calendly-Webhook-Signature`).
    pub calendly_signing_key: String,
    /// First retry delay after a failed delivery; doubles on each further failure.
    pub webhook_retry_base: Duration,
    /// Upper bound of the retry delay.
    pub webhook_retry_cap: Duration,
    /// Time after the first attempt when Calendly gives up and disables the subscription.
    pub webhook_retry_horizon: Duration,
    /// How long one delivery attempt may take before it counts as failed.
    pub webhook_timeout: Duration,

    /// Twilio account SID (HTTP Basic user; must also be the `{AccountSid}` of the path).
    pub twilio_account_sid: String,
    /// Twilio auth token (HTTP Basic password; signs `X-Twilio-Signature`).
    pub twilio_auth_token: String,
    /// The account's SMS number: the only `From` a send may use, the number a
    /// Messaging Service send goes out from, and the `To` of inbound replies.
    pub twilio_from_number: String,
    /// The number's "A message comes in" webhook (inbound replies are POSTed there).
    /// `None` until set through the control API.
    pub twilio_inbound_webhook_url: Option<String>,
    /// Time between a message's status changes (`queued` → `sent` → `delivered`).
    pub twilio_status_delay: Duration,
    /// Attempts per status callback, the first included (non-2xx or no answer is retried).
    pub twilio_callback_attempts: u32,
    /// Delay before the first status-callback retry; doubles per further failure.
    pub twilio_callback_retry_base: Duration,

    /// Acuity user id (HTTP Basic user).
    pub acuity_user_id: String,
    /// Acuity API key (HTTP Basic password; signs `X-Acuity-Signature`).
    pub acuity_api_key: String,
    /// Where Acuity webhooks go; `None` until set through the control API.
    pub acuity_webhook_url: Option<String>,
    /// Attempts per Acuity webhook, the first included.
    pub acuity_webhook_attempts: u32,
    /// Delay before the first Acuity webhook retry; doubles per further failure.
    pub acuity_webhook_retry_base: Duration,

    /// Most recent provider requests kept in the request log.
    pub request_log_capacity: usize,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            public_base_url: None,
            snapshot_path: None,
            snapshot_debounce: Duration::from_millis(250),
            token_lifetime: Duration::from_secs(3600),
            google_client_id: defaults::GOOGLE_CLIENT_ID.to_owned(),
            google_client_secret: defaults::GOOGLE_CLIENT_SECRET.to_owned(),
            google_refresh_token: defaults::GOOGLE_REFRESH_TOKEN.to_owned(),
            google_primary_calendar: defaults::GOOGLE_PRIMARY_CALENDAR.to_owned(),
            microsoft_tenant_id: defaults::MICROSOFT_TENANT_ID.to_owned(),
            microsoft_client_id: defaults::MICROSOFT_CLIENT_ID.to_owned(),
            microsoft_client_secret: defaults::MICROSOFT_CLIENT_SECRET.to_owned(),
            microsoft_token_lifetime: Duration::from_secs(3599),
            hubspot_token: defaults::HUBSPOT_TOKEN.to_owned(),
            hubspot_limit_per_10s: 100,
            sendgrid_api_key: defaults::SENDGRID_API_KEY.to_owned(),
            sendgrid_limit_per_second: 1000,
            calendly_token: defaults::CALENDLY_TOKEN.to_owned(),
            calendly_webhook_target: None,
            calendly_signing_key: defaults::CALENDLY_SIGNING_KEY.to_owned(),
            webhook_retry_base: Duration::from_secs(1),
            webhook_retry_cap: Duration::from_secs(3600),
            webhook_retry_horizon: Duration::from_secs(24 * 3600),
            webhook_timeout: Duration::from_secs(10),
            twilio_account_sid: defaults::TWILIO_ACCOUNT_SID.to_owned(),
            twilio_auth_token: defaults::TWILIO_AUTH_TOKEN.to_owned(),
            twilio_from_number: defaults::TWILIO_FROM_NUMBER.to_owned(),
            twilio_inbound_webhook_url: None,
            twilio_status_delay: Duration::from_millis(200),
            twilio_callback_attempts: 4,
            twilio_callback_retry_base: Duration::from_millis(500),
            acuity_user_id: defaults::ACUITY_USER_ID.to_owned(),
            acuity_api_key: defaults::ACUITY_API_KEY.to_owned(),
            acuity_webhook_url: None,
            acuity_webhook_attempts: 5,
            acuity_webhook_retry_base: Duration::from_millis(500),
            request_log_capacity: 100_000,
        }
    }
}
