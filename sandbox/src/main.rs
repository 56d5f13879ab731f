//! `booking-sandbox`: serves the provider stand-ins until Ctrl-C or SIGTERM, then writes
//! the snapshot (if configured) and exits.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use booking_sandbox::{SandboxConfig, defaults};
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "booking-sandbox",
    version,
    about = "Local stand-ins for Google Calendar, Google OAuth, Microsoft Graph, Microsoft identity platform, HubSpot, SendGrid, Calendly and Twilio"
)]
struct Args {
    /// Interface to listen on.
    #[arg(long, env = "SANDBOX_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on.
    #[arg(long, env = "SANDBOX_PORT", default_value_t = defaults::PORT)]
    port: u16,
    /// Base URL clients use to reach the sandbox (appears in Calendly URIs).
    #[arg(long, env = "SANDBOX_PUBLIC_URL")]
    public_url: Option<String>,
    /// JSON file to load state from and save it to.
    #[arg(long, env = "SANDBOX_SNAPSHOT")]
    snapshot: Option<PathBuf>,
    /// Where Calendly webhooks are POSTed.
    #[arg(long, env = "SANDBOX_WEBHOOK_TARGET")]
    webhook_target: Option<String>,
    /// Calendly webhook signing key.
    #[arg(long, env = "SANDBOX_SIGNING_KEY", default_value = defaults::CALENDLY_SIGNING_KEY)]
    signing_key: String,
    /// First webhook retry delay, in milliseconds (doubles per failure).
    #[arg(long, env = "SANDBOX_WEBHOOK_RETRY_BASE_MS", default_value_t = 1000)]
    webhook_retry_base_ms: u64,
    /// Longest webhook retry delay, in seconds.
    #[arg(long, env = "SANDBOX_WEBHOOK_RETRY_CAP_SECS", default_value_t = 3600)]
    webhook_retry_cap_secs: u64,
    /// How long webhook retries go on before the subscription is disabled, in seconds.
    #[arg(long, env = "SANDBOX_WEBHOOK_RETRY_HORIZON_SECS", default_value_t = 24 * 3600)]
    webhook_retry_horizon_secs: u64,
    /// Google access-token lifetime, in seconds.
    #[arg(long, env = "SANDBOX_TOKEN_LIFETIME_SECS", default_value_t = 3600)]
    token_lifetime_secs: u64,
    /// HubSpot requests allowed per rolling ten seconds.
    #[arg(long, env = "SANDBOX_HUBSPOT_LIMIT", default_value_t = 100)]
    hubspot_limit: u32,
    /// SendGrid mail-send requests allowed per second.
    #[arg(long, env = "SANDBOX_SENDGRID_LIMIT", default_value_t = 1000)]
    sendgrid_limit: u32,
    #[arg(long, env = "SANDBOX_GOOGLE_CLIENT_ID", default_value = defaults::GOOGLE_CLIENT_ID)]
    google_client_id: String,
    #[arg(long, env = "SANDBOX_GOOGLE_CLIENT_SECRET", default_value = defaults::GOOGLE_CLIENT_SECRET)]
    google_client_secret: String,
    #[arg(long, env = "SANDBOX_GOOGLE_REFRESH_TOKEN", default_value = defaults::GOOGLE_REFRESH_TOKEN)]
    google_refresh_token: String,
    #[arg(long, env = "SANDBOX_MICROSOFT_TENANT_ID", default_value = defaults::MICROSOFT_TENANT_ID)]
    microsoft_tenant_id: String,
    #[arg(long, env = "SANDBOX_MICROSOFT_CLIENT_ID", default_value = defaults::MICROSOFT_CLIENT_ID)]
    microsoft_client_id: String,
    #[arg(long, env = "SANDBOX_MICROSOFT_CLIENT_SECRET", default_value = defaults::MICROSOFT_CLIENT_SECRET)]
    microsoft_client_secret: String,
    #[arg(long, env = "SANDBOX_HUBSPOT_TOKEN", default_value = defaults::HUBSPOT_TOKEN)]
    hubspot_token: String,
    #[arg(long, env = "SANDBOX_SENDGRID_API_KEY", default_value = defaults::SENDGRID_API_KEY)]
    sendgrid_api_key: String,
    #[arg(long, env = "SANDBOX_CALENDLY_TOKEN", default_value = defaults::CALENDLY_TOKEN)]
    calendly_token: String,
    #[arg(long, env = "SANDBOX_TWILIO_ACCOUNT_SID", default_value = defaults::TWILIO_ACCOUNT_SID)]
    twilio_account_sid: String,
    #[arg(long, env = "SANDBOX_TWILIO_AUTH_TOKEN", default_value = defaults::TWILIO_AUTH_TOKEN)]
    twilio_auth_token: String,
    /// The Twilio account's SMS number (the only `From` sends may use).
    #[arg(long, env = "SANDBOX_TWILIO_FROM_NUMBER", default_value = defaults::TWILIO_FROM_NUMBER)]
    twilio_from_number: String,
    /// Where replies to the Twilio number are POSTed ("A message comes in").
    #[arg(long, env = "SANDBOX_TWILIO_INBOUND_WEBHOOK")]
    twilio_inbound_webhook: Option<String>,
    /// Time between a text's status changes (queued, sent, delivered), in milliseconds.
    #[arg(long, env = "SANDBOX_TWILIO_STATUS_DELAY_MS", default_value_t = 200)]
    twilio_status_delay_ms: u64,
    /// Where Acuity webhooks are POSTed.
    #[arg(long, env = "SANDBOX_ACUITY_WEBHOOK")]
    acuity_webhook: Option<String>,
    #[arg(long, env = "SANDBOX_ACUITY_USER_ID", default_value = defaults::ACUITY_USER_ID)]
    acuity_user_id: String,
    #[arg(long, env = "SANDBOX_ACUITY_API_KEY", default_value = defaults::ACUITY_API_KEY)]
    acuity_api_key: String,
    /// Log as JSON lines.
    #[arg(long, env = "SANDBOX_LOG_JSON")]
    log_json: bool,
}

impl Args {
    fn into_config(self) -> SandboxConfig {
        SandboxConfig {
            bind: SocketAddr::new(self.host, self.port),
            public_base_url: self.public_url,
            snapshot_path: self.snapshot,
            calendly_webhook_target: self.webhook_target,
            calendly_signing_key: self.signing_key,
            webhook_retry_base: Duration::from_millis(self.webhook_retry_base_ms),
            webhook_retry_cap: Duration::from_secs(self.webhook_retry_cap_secs),
            webhook_retry_horizon: Duration::from_secs(self.webhook_retry_horizon_secs),
            token_lifetime: Duration::from_secs(self.token_lifetime_secs),
            hubspot_limit_per_10s: self.hubspot_limit,
            sendgrid_limit_per_second: self.sendgrid_limit,
            google_client_id: self.google_client_id,
            google_client_secret: self.google_client_secret,
            google_refresh_token: self.google_refresh_token,
            microsoft_tenant_id: self.microsoft_tenant_id,
            microsoft_client_id: self.microsoft_client_id,
            microsoft_client_secret: self.microsoft_client_secret,
            hubspot_token: self.hubspot_token,
            sendgrid_api_key: self.sendgrid_api_key,
            calendly_token: self.calendly_token,
            twilio_account_sid: self.twilio_account_sid,
            twilio_auth_token: self.twilio_auth_token,
            twilio_from_number: self.twilio_from_number,
            twilio_inbound_webhook_url: self.twilio_inbound_webhook,
            twilio_status_delay: Duration::from_millis(self.twilio_status_delay_ms),
            acuity_webhook_url: self.acuity_webhook,
            acuity_user_id: self.acuity_user_id,
            acuity_api_key: self.acuity_api_key,
            ..SandboxConfig::default()
        }
    }
}

async fn terminated() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    if args.log_json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let sandbox = booking_sandbox::start(args.into_config())
        .await
        .context("starting the sandbox")?;
    tracing::info!(base_url = %sandbox.base_url(), "booking-sandbox ready");
    terminated().await;
    tracing::info!("shutting down");
    sandbox.shutdown().await;
    Ok(())
}
