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
    about: &'static str,
    after_help: &'static str,
    settings: &'static [Setting],
) -> Command {
    let args = settings.iter().map(|s| {
        Arg::new(s.var)
            .long(flag_name(s.var))
            .env(s.var)
            .value_name("VALUE")
            .help(s.help)
            .hide_env_values(s.secret)
            .action(ArgAction::Set)
    });
    Command::new(name)
        .about(about)
        .after_help(after_help)
        .args(args)
}

/// A lookup over the parsed command line: a flag's value, else its environment variable (clap
/// reads both); a name outside `settings` is read from the environment. Clap skips a variable
/// set to the empty string; it is handed on as empty, so the configuration reports it as blank
/// rather than as missing.
pub fn lookup(
    matches: ArgMatches,
    settings: &'static [Setting],
) -> impl Fn(&str) -> Option<String> {
    move |name: &str| {
        let from_env = || std::env::var(name).ok();
        if settings.iter().any(|s| s.var == name) {
            matches
                .get_one::<String>(name)
                .cloned()
                .or_else(|| from_env().filter(|v| v.is_empty()))
        } else {
            from_env()
        }
    }
}

/// Every `"BOOKINGS_…"` or `"SHIM_…"` string literal in `sources` that is a name alone (for the
/// completeness tests of each binary's list).
pub fn variables_named(sources: &[&str]) -> std::collections::BTreeSet<String> {
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

    const SETTINGS: &[Setting] = &[
        setting("BOOKINGS_TASK_QUEUE", "task queue"),
        secret("SHIM_LINK_SECRET", "secret"),
    ];

    #[test]
    fn a_flag_or_its_variable_reaches_the_lookup_and_secrets_stay_hidden() {
        let matches = command("t", "about", "after", SETTINGS)
            .try_get_matches_from(["t", "--task-queue", "tq-1"])
            .unwrap();
        let lookup = lookup(matches, SETTINGS);
        assert_eq!(lookup("BOOKINGS_TASK_QUEUE").as_deref(), Some("tq-1"));
        let help = command("t", "about", "after", SETTINGS)
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
}
