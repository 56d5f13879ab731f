//! A binary's settings on its command line: `--help` lists each with its environment
//! variable, and each can be given as a flag (`--task-queue` for `BOOKINGS_TASK_QUEUE`).
//!
//! The settings themselves are read by each binary's typed configuration through one lookup
//! function; this module only decides where a value comes from: the flag, else the
//! environment. Each binary keeps its own list of [`Setting`]s, and a test beside it checks
//! that every variable its configuration reads is listed, so `--help` cannot fall behind.

use clap::{Arg, ArgAction, ArgMatches, Command};

/// One setting of a binary.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub var: &'static str,
    pub help: &'static str,
    /// Its value never appears in `--help` (only whether it is set).
    pub secret: bool,
}

/// A binary's settings in `--help` order, as groups, so settings that two binaries read
/// alike (the [`CALENDLY`] and [`ACUITY`] clients) are written once.
pub type Settings = &'static [&'static [Setting]];

/// A setting whose value may be shown.
pub const fn setting(var: &'static str, help: &'static str) -> Setting {
    Setting {
        var,
        help,
        secret: false,
    }
}

/// A setting whose value is never shown.
pub const fn secret(var: &'static str, help: &'static str) -> Setting {
    Setting {
        var,
        help,
        secret: true,
    }
}

/// The gRPC compression of the connection to Temporal (read by `booking_workflows::connection`).
pub const TEMPORAL_COMPRESSION: Setting = setting(
    "BOOKINGS_TEMPORAL_COMPRESSION",
    "gRPC compression to Temporal: gzip or none (next to the server, none saves CPU) [default: gzip]",
);

/// The Calendly API client (read by [`crate::config`]; the worker reconciles through it, the
/// shim reads invitees through it).
pub const CALENDLY: &[Setting] = &[
    setting("BOOKINGS_CALENDLY_URL", "Calendly v2 base URL"),
    secret(
        "BOOKINGS_CALENDLY_TOKEN",
        "Calendly personal access token (or BOOKINGS_CALENDLY_TOKEN_FILE)",
    ),
    setting(
        "BOOKINGS_CALENDLY_TOKEN_FILE",
        "File holding the Calendly token",
    ),
];

/// The Acuity API client (read by [`crate::config`]; its key also signs Acuity's webhooks,
/// which is why the shim reads it).
pub const ACUITY: &[Setting] = &[
    setting(
        "BOOKINGS_ACUITY_URL",
        "Acuity Scheduling API base URL [default: https://acuityscheduling.com]",
    ),
    setting(
        "BOOKINGS_ACUITY_USER_ID",
        "Acuity user id (the API's Basic auth user)",
    ),
    secret(
        "BOOKINGS_ACUITY_API_KEY",
        "Acuity API key, which also signs Acuity's webhooks (or BOOKINGS_ACUITY_API_KEY_FILE)",
    ),
    setting(
        "BOOKINGS_ACUITY_API_KEY_FILE",
        "File holding the Acuity API key",
    ),
];

fn all(settings: Settings) -> impl Iterator<Item = &'static Setting> {
    settings.iter().flat_map(|group| group.iter())
}

/// `BOOKINGS_TASK_QUEUE` → `task-queue`, `SHIM_PORT` → `port`. Leaked: clap keeps flag names as
/// `&'static str`, and a command is built once per process (a few hundred bytes).
fn flag_name(var: &str) -> &'static str {
    let name = var
        .trim_start_matches("BOOKINGS_")
        .trim_start_matches("SHIM_")
        .to_ascii_lowercase()
        .replace('_', "-");
    Box::leak(name.into_boxed_str())
}

/// The binary's command: no positional arguments, one flag per setting.
pub fn command(
    name: &'static str,
    version: &'static str,
    about: &'static str,
    after_help: &'static str,
    settings: Settings,
) -> Command {
    let args = all(settings).map(|s| {
        Arg::new(s.var)
            .long(flag_name(s.var))
            .env(s.var)
            .value_name("VALUE")
            .help(s.help)
            .hide_env_values(s.secret)
            .action(ArgAction::Set)
    });
    Command::new(name)
        .version(version)
        .about(about)
        .after_help(after_help)
        .args(args)
}

/// A lookup over the parsed command line: a flag's value, else its environment variable (clap
/// reads both); a name outside `settings` is read from the environment. Clap skips a variable
/// set to the empty string; it is handed on as empty, so the configuration reports it as blank
/// rather than as missing.
pub fn lookup(matches: ArgMatches, settings: Settings) -> impl Fn(&str) -> Option<String> {
    move |name: &str| {
        let from_env = || std::env::var(name).ok();
        if all(settings).any(|s| s.var == name) {
            matches
                .get_one::<String>(name)
                .cloned()
                .or_else(|| from_env().filter(|v| v.is_empty()))
        } else {
            from_env()
        }
    }
}

/// What a service binary does first: answers `--help` and `--version` (and exits) before
/// anything starts, logs at `RUST_LOG` (`info` when unset or unreadable), and hands back the
/// [`lookup`] its configuration reads.
pub fn start(command: Command, settings: Settings) -> impl Fn(&str) -> Option<String> {
    let lookup = lookup(command.get_matches(), settings);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    lookup
}

/// The configuration every binary reads besides its own: the providers' settings and the
/// Temporal connection.
const SHARED_SOURCES: [&str; 2] = [
    include_str!("config.rs"),
    include_str!("../../workflows/src/connection.rs"),
];

/// The variables a binary reads but does not list in `--help`, for the completeness test
/// beside each binary's list: every `"BOOKINGS_…"` or `"SHIM_…"` literal that is a name alone,
/// in `sources` (the binary's own configuration) and the [`SHARED_SOURCES`], that `reads`
/// keeps (a binary reads only part of the shared configuration) and `settings` lacks.
pub fn unlisted(sources: &[&str], settings: Settings, reads: impl Fn(&str) -> bool) -> Vec<String> {
    variables_named(sources.iter().chain(&SHARED_SOURCES))
        .into_iter()
        .filter(|var| reads(var) && !all(settings).any(|s| s.var == var))
        .collect()
}

fn variables_named<'a>(
    sources: impl IntoIterator<Item = &'a &'a str>,
) -> std::collections::BTreeSet<String> {
    let mut vars = std::collections::BTreeSet::new();
    for source in sources {
        for prefix in ["\"BOOKINGS_", "\"SHIM_"] {
            for (i, _) in source.match_indices(prefix) {
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
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: Settings = &[
        &[setting("BOOKINGS_TASK_QUEUE", "task queue")],
        &[secret("SHIM_LINK_SECRET", "secret")],
    ];

    #[test]
    fn a_flag_or_its_variable_reaches_the_lookup_and_secrets_stay_hidden() {
        let matches = command("t", "1", "about", "after", SETTINGS)
            .try_get_matches_from(["t", "--task-queue", "tq-1"])
            .unwrap();
        let lookup = lookup(matches, SETTINGS);
        assert_eq!(lookup("BOOKINGS_TASK_QUEUE").as_deref(), Some("tq-1"));
        let help = command("t", "1", "about", "after", SETTINGS)
            .render_long_help()
            .to_string();
        assert!(help.contains("--link-secret"), "{help}");
        assert!(help.contains("SHIM_LINK_SECRET"), "{help}");
    }

    #[test]
    fn only_literals_that_are_names_count() {
        let vars = variables_named(&["x(\"SHIM_PORT\"); y(\"BOOKINGS_X is bad\")"]);
        assert_eq!(vars.into_iter().collect::<Vec<_>>(), ["SHIM_PORT"]);
    }

    #[test]
    fn a_variable_read_but_not_listed_is_named() {
        let own = "read(\"BOOKINGS_TASK_QUEUE\"); read(\"SHIM_NEW_THING\")";
        assert_eq!(
            unlisted(&[own], SETTINGS, |var| var.starts_with("SHIM_")),
            ["SHIM_NEW_THING"]
        );
        let shared_read = unlisted(&[], &[], |_| true);
        assert!(
            shared_read.iter().any(|var| var == "BOOKINGS_SANDBOX"),
            "the shared configuration is read too: {shared_read:?}"
        );
    }
}
