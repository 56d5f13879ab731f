//! `booking-shim`'s command line: `--help` lists every setting with its environment variable,
//! and each can also be given as a flag (see [`booking_activities::settings_cli`]).
//!
//! [`SETTINGS`] is the one list of what the shim reads (through [`crate::config`] and the
//! Calendly settings it shares with the worker); a test checks that every variable they read is
//! in it.

use booking_activities::settings_cli::{self, Settings, secret, setting};
use clap::Command;

/// Every setting the shim reads, in the order `--help` shows them.
pub const SETTINGS: Settings = &[
    &[
        setting(
            "SHIM_HOST",
            "Interface to listen on [default: 127.0.0.1; 0.0.0.0 in its container]",
        ),
        setting("SHIM_PORT", "Port to listen on [default: 8090]"),
        settings_cli::TEMPORAL_COMPRESSION,
        setting(
            "BOOKINGS_TASK_QUEUE",
            "Task queue of booking and dead-letter workflows [default: bookings]",
        ),
        setting(
            "BOOKINGS_SANDBOX",
            "1/true: sandbox mode (the sandbox's public values stand in for unset secrets); unset/0/false: production, every secret required",
        ),
        setting(
            "BOOKINGS_SANDBOX_URL",
            "Base of the Calendly URL default in sandbox mode [default: http://127.0.0.1:8089]",
        ),
    ],
    settings_cli::CALENDLY,
    &[
        secret(
            "SHIM_CALENDLY_SIGNING_KEY",
            "Key of Calendly's webhook signatures (or SHIM_CALENDLY_SIGNING_KEY_FILE)",
        ),
        setting(
            "SHIM_CALENDLY_SIGNING_KEY_FILE",
            "File holding the Calendly signing key",
        ),
        secret(
            "SHIM_CALENDLY_SIGNING_KEY_PREVIOUS",
            "The previous signing key, accepted while rotating (or _FILE)",
        ),
        setting(
            "SHIM_CALENDLY_SIGNING_KEY_PREVIOUS_FILE",
            "File holding the previous Calendly signing key",
        ),
    ],
    settings_cli::ACUITY,
    &[
        secret(
            "SHIM_TWILIO_AUTH_TOKEN",
            "Twilio auth token, which signs Twilio's webhooks (or SHIM_TWILIO_AUTH_TOKEN_FILE)",
        ),
        setting(
            "SHIM_TWILIO_AUTH_TOKEN_FILE",
            "File holding the Twilio auth token",
        ),
        setting(
            "SHIM_PUBLIC_URL",
            "Base URL webhook senders call, as Twilio signs it (e.g. https://hooks.example.com) [sandbox default: http://<Host header>]",
        ),
        setting(
            "SHIM_SIGNATURE_TOLERANCE_SECS",
            "How far a signature timestamp may be from now [default: 180]",
        ),
        secret(
            "SHIM_FORM_TOKEN",
            "Bearer token of POST /webhooks/form (or SHIM_FORM_TOKEN_FILE)",
        ),
        setting("SHIM_FORM_TOKEN_FILE", "File holding the form token"),
        secret(
            "SHIM_FORM_WEBHOOK_SECRET",
            "Standard Webhooks secret of the form, whsec_<base64> (or _FILE)",
        ),
        setting(
            "SHIM_FORM_WEBHOOK_SECRET_FILE",
            "File holding the form webhook secret",
        ),
        secret(
            "SHIM_FORM_WEBHOOK_SECRET_PREVIOUS",
            "The previous form webhook secret, accepted while rotating (or _FILE)",
        ),
        setting(
            "SHIM_FORM_WEBHOOK_SECRET_PREVIOUS_FILE",
            "File holding the previous form webhook secret",
        ),
        secret(
            "SHIM_OPERATOR_TOKEN",
            "Bearer token of the operator endpoints (or SHIM_OPERATOR_TOKEN_FILE)",
        ),
        setting(
            "SHIM_OPERATOR_TOKEN_FILE",
            "File holding the operator token",
        ),
        secret(
            "SHIM_LINK_SECRET",
            "Key of the leads' signed links (or SHIM_LINK_SECRET_FILE)",
        ),
        setting("SHIM_LINK_SECRET_FILE", "File holding the link key"),
        setting(
            "SHIM_QUESTIONNAIRE_URL",
            "Where /q/{token} redirects after recording the visit",
        ),
        setting(
            "SHIM_BODY_LIMIT_BYTES",
            "Larger bodies are answered 413 unread [default: 262144]",
        ),
        setting(
            "SHIM_BODY_READ_TIMEOUT_MS",
            "How long a body may take once its headers arrived [default: 10000]",
        ),
        setting(
            "SHIM_HEADER_READ_TIMEOUT_MS",
            "How long a connection may take to send its headers [default: 5000]",
        ),
        setting(
            "SHIM_MAX_CONNECTIONS",
            "Open connections at most [default: 1024]",
        ),
        setting(
            "SHIM_MAX_IN_FLIGHT_REQUESTS",
            "Requests served at once; more are answered 503 [default: 512]",
        ),
        setting(
            "SHIM_HANDOFF_TIMEOUT_MS",
            "How long a hand-off to Temporal may take before a 503 [default: 5000]",
        ),
        setting(
            "SHIM_RETRY_AFTER_SECS",
            "The Retry-After of a 503 [default: 5]",
        ),
        setting(
            "SHIM_AVAILABILITY_REFRESH_MS",
            "How long an open house's seat counter is served from memory [default: 2000]",
        ),
        setting(
            "SHIM_AVAILABILITY_QUERY_TIMEOUT_MS",
            "How long one seat-counter query may take [default: 2000]",
        ),
        setting(
            "SHIM_AVAILABILITY_CACHE_ENTRIES",
            "Open house ids the seat-counter cache remembers [default: 10000]",
        ),
    ],
];

/// The shim's command.
pub fn command() -> Command {
    settings_cli::command(
        "booking-shim",
        env!("CARGO_PKG_VERSION"),
        "Serves the webhook front door (Calendly, form and Twilio webhooks, lead links, operator calls) \
         and hands every accepted delivery to Temporal. Every setting is a flag or its \
         environment variable.",
        "Temporal is reached through the SDK's standard settings: TEMPORAL_ADDRESS (default \
         localhost:7233), TEMPORAL_NAMESPACE (default), TEMPORAL_API_KEY, TEMPORAL_TLS_* or a \
         temporal.toml profile. Log levels: RUST_LOG (default info).",
        SETTINGS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_every_setting_the_configuration_reads() {
        // The Calendly settings are all the shim reads of the providers' configuration.
        let reads = |var: &str| {
            var.starts_with("SHIM_")
                || var.starts_with("BOOKINGS_CALENDLY")
                || [
                    "BOOKINGS_TASK_QUEUE",
                    "BOOKINGS_SANDBOX",
                    "BOOKINGS_SANDBOX_URL",
                ]
                .contains(&var)
        };
        let own = [
            include_str!("config.rs"),
            include_str!("config/secrets.rs"),
            include_str!("main.rs"),
        ];
        let unlisted = settings_cli::unlisted(&own, SETTINGS, reads);
        assert!(unlisted.is_empty(), "read but not in --help: {unlisted:?}");
        command().debug_assert();
    }
}
