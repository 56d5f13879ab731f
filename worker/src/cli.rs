//! `booking-worker`'s command line: `--help` lists every setting with its environment variable,
//! and each can also be given as a flag (`--task-queue` for `BOOKINGS_TASK_QUEUE`).
//!
//! The settings themselves are read by the typed configuration layers ([`crate::WorkerConfig`],
//! `booking_activities::config`, [`crate::tuning`], [`crate::observability`]) through one
//! lookup function; this module only decides where a value comes from: the flag, else the
//! environment. [`SETTINGS`] is the one list, and a test checks that every variable those
//! layers read is in it, so `--help` cannot fall behind.

use clap::{Arg, ArgAction, ArgMatches, Command};

/// One setting of the worker.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub var: &'static str,
    pub help: &'static str,
    /// Its value never appears in `--help` (only whether it is set).
    pub secret: bool,
}

const fn setting(var: &'static str, help: &'static str) -> Setting {
    Setting {
        var,
        help,
        secret: false,
    }
}

const fn secret(var: &'static str, help: &'static str) -> Setting {
    Setting {
        var,
        help,
        secret: true,
    }
}

/// Every setting the worker reads, in the order `--help` shows them.
pub const SETTINGS: &[Setting] = &[
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
        "crm: keep a HubSpot note per sent email step (the duplicate guard); off: none [default: crm]",
    ),
    setting("BOOKINGS_CALENDLY_URL", "Calendly v2 base URL"),
    secret(
        "BOOKINGS_CALENDLY_TOKEN",
        "Calendly personal access token (or BOOKINGS_CALENDLY_TOKEN_FILE)",
    ),
    setting(
        "BOOKINGS_CALENDLY_TOKEN_FILE",
        "File holding the Calendly token",
    ),
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
    setting(
        "BOOKINGS_WORKER_METRICS_ADDR",
        "Address serving the Temporal SDK's Prometheus metrics, e.g. 0.0.0.0:9464 [default: off]",
    ),
    setting(
        "BOOKINGS_WORKER_HEALTH_ADDR",
        "Address serving /healthz and /readyz, e.g. 0.0.0.0:9465 [default: off]",
    ),
];

/// `BOOKINGS_TASK_QUEUE` → `task-queue`. Leaked: clap keeps flag names as `&'static str`, and
/// the command is built once per process (a few hundred bytes).
fn flag_name(var: &str) -> &'static str {
    let name = var
        .trim_start_matches("BOOKINGS_")
        .to_ascii_lowercase()
        .replace('_', "-");
    Box::leak(name.into_boxed_str())
}

/// The worker's command: no positional arguments, one flag per setting.
pub fn command() -> Command {
    let args = SETTINGS.iter().map(|s| {
        Arg::new(s.var)
            .long(flag_name(s.var))
            .env(s.var)
            .value_name("VALUE")
            .help(s.help)
            .hide_env_values(s.secret)
            .action(ArgAction::Set)
    });
    Command::new("booking-worker")
        .about(
            "Runs the booking workflows and activities on a Temporal task queue until SIGINT or \
             SIGTERM. Every setting is a flag or its environment variable.",
        )
        .after_help(
            "Temporal itself is reached through the SDK's standard settings: TEMPORAL_ADDRESS \
             (default localhost:7233), TEMPORAL_NAMESPACE (default), TEMPORAL_API_KEY, \
             TEMPORAL_TLS_* or a temporal.toml profile (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE). \
             Log levels: RUST_LOG (default info).",
        )
        .version(env!("CARGO_PKG_VERSION"))
        .args(args)
}

/// A lookup over the parsed command line: a flag's value, else its environment variable (clap
/// reads both); a name outside [`SETTINGS`] is read from the environment. Clap skips a variable
/// set to the empty string; it is handed on as empty, so the configuration reports it as blank
/// rather than as missing.
pub fn lookup(matches: ArgMatches) -> impl Fn(&str) -> Option<String> {
    move |name: &str| {
        let from_env = || std::env::var(name).ok();
        if SETTINGS.iter().any(|s| s.var == name) {
            matches
                .get_one::<String>(name)
                .cloned()
                .or_else(|| from_env().filter(|v| v.is_empty()))
        } else {
            from_env()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `"BOOKINGS_…"` literal the configuration layers read.
    fn variables_read() -> std::collections::BTreeSet<String> {
        let sources = [
            include_str!("lib.rs"),
            include_str!("tuning.rs"),
            include_str!("ledger.rs"),
            include_str!("observability.rs"),
            include_str!("../../activities/src/config.rs"),
        ];
        let mut vars = std::collections::BTreeSet::new();
        for source in sources {
            for (i, _) in source.match_indices("\"BOOKINGS_") {
                let rest = &source[i + 1..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                    .unwrap_or(rest.len());
                // Only a literal that is a name alone, not a message that starts with one.
                if rest[end..].starts_with('"') {
                    vars.insert(rest[..end].to_owned());
                }
            }
        }
        vars
    }

    #[test]
    fn help_lists_every_setting_the_configuration_reads() {
        // Renamed settings, refused at start with their new name.
        let retired = [
            "BOOKINGS_GOOGLE_CALENDAR_ID",
            "BOOKINGS_GOOGLE_AGENT_CALENDARS",
        ];
        for var in variables_read() {
            if retired.contains(&var.as_str()) {
                continue;
            }
            assert!(
                SETTINGS.iter().any(|s| s.var == var),
                "{var} is read but not in --help"
            );
        }
        command().debug_assert();
    }

    #[test]
    fn a_flag_wins_over_nothing_and_secrets_are_hidden() {
        let matches = command()
            .try_get_matches_from(["booking-worker", "--task-queue", "tq-1"])
            .unwrap();
        let lookup = lookup(matches);
        assert_eq!(lookup("BOOKINGS_TASK_QUEUE").as_deref(), Some("tq-1"));
        let help = command().render_long_help().to_string();
        assert!(help.contains("BOOKINGS_MICROSOFT_CLIENT_SECRET"), "{help}");
        assert!(help.contains("--agent-calendars"), "{help}");
    }
}
