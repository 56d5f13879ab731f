//! `booking-worker`'s command line: `--help` lists every setting with its environment variable,
//! and each can also be given as a flag (see [`booking_activities::settings_cli`]).
//!
//! [`SETTINGS`] is the one list of what the worker reads (through [`crate::WorkerConfig`],
//! `booking_activities::config`, [`crate::tuning`] and [`crate::observability`]); a test
//! checks that every variable those layers read is in it.

use booking_activities::settings_cli::{self, Settings, secret, setting};
use clap::Command;

/// Every setting the worker reads, in the order `--help` shows them.
pub const SETTINGS: Settings = &[
    &[
        setting(
            "BOOKINGS_TASK_QUEUE",
            "Task queue to poll [default: bookings]",
        ),
        setting(
            "BOOKINGS_SANDBOX",
            "1/true: sandbox mode (unset secrets and URLs default to the provider sandbox's); unset/0/false: production, every secret required",
        ),
        setting(
            "BOOKINGS_SANDBOX_URL",
            "Base of every provider URL default in sandbox mode [default: http://127.0.0.1:8089]",
        ),
        setting(
            "BOOKINGS_FOLLOW_UP_POLICY",
            "JSON file with the follow-up cadence (fields left out keep the production default)",
        ),
        setting(
            "BOOKINGS_ACTIVITY_POLICIES",
            "JSON file of activity timeouts and retry policies (entries replace the defaults they name)",
        ),
        setting(
            "BOOKINGS_BOOKING_HISTORY_LIMIT",
            "Events a booking's run may reach before it continues as new [default: 4000, at least 200]",
        ),
        setting(
            "BOOKINGS_OPEN_HOUSE_CAPACITY",
            "Seats of an open house [default: 20]",
        ),
        setting(
            "BOOKINGS_DEFAULT_CALENDAR",
            "Calendar of agents not listed in BOOKINGS_AGENT_CALENDARS: google:<calendarId> or microsoft:<userId> [default: google:primary]",
        ),
        setting(
            "BOOKINGS_AGENT_CALENDARS",
            "Per-agent calendars: agent=google:<calendarId>,agent2=microsoft:<userId>",
        ),
        setting(
            "BOOKINGS_GOOGLE_CALENDAR_URL",
            "Google Calendar v3 base URL",
        ),
        setting("BOOKINGS_GOOGLE_TOKEN_URL", "Google OAuth token endpoint"),
        setting(
            "BOOKINGS_GOOGLE_CLIENT_ID",
            "Google OAuth client id (required when a calendar is google:)",
        ),
        secret(
            "BOOKINGS_GOOGLE_CLIENT_SECRET",
            "Google OAuth client secret (or BOOKINGS_GOOGLE_CLIENT_SECRET_FILE)",
        ),
        setting(
            "BOOKINGS_GOOGLE_CLIENT_SECRET_FILE",
            "File holding the Google OAuth client secret",
        ),
        secret(
            "BOOKINGS_GOOGLE_REFRESH_TOKEN",
            "Refresh token of the Google account (or BOOKINGS_GOOGLE_REFRESH_TOKEN_FILE)",
        ),
        setting(
            "BOOKINGS_GOOGLE_REFRESH_TOKEN_FILE",
            "File holding the Google refresh token",
        ),
        setting("BOOKINGS_MICROSOFT_GRAPH_URL", "Microsoft Graph base URL"),
        setting(
            "BOOKINGS_MICROSOFT_LOGIN_URL",
            "Microsoft identity platform base URL",
        ),
        setting(
            "BOOKINGS_MICROSOFT_TENANT_ID",
            "Directory (tenant) id (required when a calendar is microsoft:)",
        ),
        setting(
            "BOOKINGS_MICROSOFT_CLIENT_ID",
            "Application (client) id of the app registration (required when a calendar is microsoft:)",
        ),
        secret(
            "BOOKINGS_MICROSOFT_CLIENT_SECRET",
            "Client secret of the app registration (or BOOKINGS_MICROSOFT_CLIENT_SECRET_FILE)",
        ),
        setting(
            "BOOKINGS_MICROSOFT_CLIENT_SECRET_FILE",
            "File holding the Microsoft client secret",
        ),
        setting("BOOKINGS_HUBSPOT_URL", "HubSpot base URL"),
        secret(
            "BOOKINGS_HUBSPOT_TOKEN",
            "HubSpot private-app token (or BOOKINGS_HUBSPOT_TOKEN_FILE)",
        ),
        setting(
            "BOOKINGS_HUBSPOT_TOKEN_FILE",
            "File holding the HubSpot token",
        ),
        setting("BOOKINGS_SENDGRID_URL", "SendGrid base URL"),
        secret(
            "BOOKINGS_SENDGRID_API_KEY",
            "SendGrid API key (or BOOKINGS_SENDGRID_API_KEY_FILE)",
        ),
        setting(
            "BOOKINGS_SENDGRID_API_KEY_FILE",
            "File holding the SendGrid API key",
        ),
        setting(
            "BOOKINGS_EMAIL_FROM",
            "Sender address of booking emails [default: tours@example.com]",
        ),
        setting(
            "BOOKINGS_EMAIL_FROM_NAME",
            "Sender name of booking emails [default: Tours]",
        ),
        setting(
            "BOOKINGS_EMAIL_SENT_MARKERS",
            "crm: keep a HubSpot note per sent email or text step (the duplicate guard, for both); off: none [default: crm]",
        ),
        setting("BOOKINGS_TWILIO_URL", "Twilio API base URL"),
        setting(
            "BOOKINGS_TWILIO_ACCOUNT_SID",
            "Twilio account SID, AC and 32 hex digits",
        ),
        secret(
            "BOOKINGS_TWILIO_AUTH_TOKEN",
            "Twilio auth token (or BOOKINGS_TWILIO_AUTH_TOKEN_FILE)",
        ),
        setting(
            "BOOKINGS_TWILIO_AUTH_TOKEN_FILE",
            "File holding the Twilio auth token",
        ),
        setting(
            "BOOKINGS_TWILIO_FROM",
            "Number texts are sent from, E.164 (required unless BOOKINGS_TWILIO_MESSAGING_SERVICE_SID is set)",
        ),
        setting(
            "BOOKINGS_TWILIO_MESSAGING_SERVICE_SID",
            "Messaging Service (MG...) texts are sent through, instead of BOOKINGS_TWILIO_FROM",
        ),
        setting(
            "BOOKINGS_TWILIO_STATUS_CALLBACK_URL",
            "The shim's public https://.../webhooks/twilio/status, asked for delivery status callbacks [default: none]",
        ),
    ],
    settings_cli::CALENDLY,
    settings_cli::ACUITY,
    &[
        setting(
            "BOOKINGS_WORKER_MAX_CACHED_WORKFLOWS",
            "Bookings kept in memory between tasks (sticky cache) [default: SDK]",
        ),
        setting(
            "BOOKINGS_WORKER_WORKFLOW_SLOTS",
            "Workflow tasks run at once [default: SDK]",
        ),
        setting(
            "BOOKINGS_WORKER_ACTIVITY_SLOTS",
            "Activities run at once [default: SDK]",
        ),
        setting(
            "BOOKINGS_WORKER_LOCAL_ACTIVITY_SLOTS",
            "Local activities run at once [default: SDK]",
        ),
        setting(
            "BOOKINGS_WORKER_WORKFLOW_POLLERS",
            "Concurrent workflow task long polls [default: SDK]",
        ),
        setting(
            "BOOKINGS_WORKER_ACTIVITY_POLLERS",
            "Concurrent activity task long polls [default: SDK]",
        ),
        settings_cli::TEMPORAL_COMPRESSION,
        setting(
            "BOOKINGS_WORKER_METRICS_ADDR",
            "Address serving the Temporal SDK's Prometheus metrics, e.g. 0.0.0.0:9464 [default: off]",
        ),
        setting(
            "BOOKINGS_WORKER_HEALTH_ADDR",
            "Address serving /healthz and /readyz, e.g. 0.0.0.0:9465 [default: off]",
        ),
    ],
];

/// The worker's command.
pub fn command() -> Command {
    settings_cli::command(
        "booking-worker",
        env!("CARGO_PKG_VERSION"),
        "Runs the booking workflows and activities on a Temporal task queue until SIGINT or \
         SIGTERM. Every setting is a flag or its environment variable.",
        "Temporal itself is reached through the SDK's standard settings: TEMPORAL_ADDRESS \
         (default localhost:7233), TEMPORAL_NAMESPACE (default), TEMPORAL_API_KEY, \
         TEMPORAL_TLS_* or a temporal.toml profile (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE). \
         Log levels: RUST_LOG (default info).",
        SETTINGS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_every_setting_the_configuration_reads() {
        let own = [
            include_str!("lib.rs"),
            include_str!("tuning.rs"),
            include_str!("ledger.rs"),
            include_str!("observability.rs"),
        ];
        // Renamed settings, refused at start with their new name.
        let retired = [
            "BOOKINGS_GOOGLE_CALENDAR_ID",
            "BOOKINGS_GOOGLE_AGENT_CALENDARS",
        ];
        let unlisted = settings_cli::unlisted(&own, SETTINGS, |var| !retired.contains(&var));
        assert!(unlisted.is_empty(), "read but not in --help: {unlisted:?}");
        command().debug_assert();
        let help = command().render_long_help().to_string();
        assert!(help.contains("--agent-calendars"), "{help}");
    }
}
