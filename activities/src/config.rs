//! Where the providers are and how to authenticate to them.
//!
//! Every default points at the local sandbox (`booking-sandbox`, port 8089), so a new user sees
//! the whole system work before entering any credential; the real providers are a matter of
//! setting the variables below, not of changing code. A secret `X` may also be given as a file
//! path in `X_FILE` (the container convention for mounted secrets).
//!
//! # Variables
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BOOKINGS_SANDBOX_URL` | `http://127.0.0.1:8089` | base of every default below |
//! | `BOOKINGS_SENDGRID_URL` | `{sandbox}/sendgrid` | SendGrid base (real: `https://api.sendgrid.com`) |
//! | `BOOKINGS_SENDGRID_API_KEY` (`_FILE`) | sandbox key | SendGrid API key (secret) |
//! | `BOOKINGS_EMAIL_FROM`, `BOOKINGS_EMAIL_FROM_NAME` | `tours@example.com`, `Tours` | sender |
//! | `BOOKINGS_EMAIL_SENT_MARKERS` | `crm` | `crm`: the email guard keeps a HubSpot note per sent step (see [`crate::email`]); `off`: no guard |
//! | `BOOKINGS_GOOGLE_CALENDAR_URL` | `{sandbox}/google/calendar/v3` | Calendar v3 base (real: `https://www.googleapis.com/calendar/v3`) |
//! | `BOOKINGS_GOOGLE_CALENDAR_ID` | `primary` | calendar used when an agent has none of its own |
//! | `BOOKINGS_GOOGLE_AGENT_CALENDARS` | empty | per-agent calendars, `agent=calendarId,agent2=calendarId2` |
//! | `BOOKINGS_GOOGLE_TOKEN_URL` | `{sandbox}/google/oauth2/token` | OAuth token endpoint (real: `https://oauth2.googleapis.com/token`) |
//! | `BOOKINGS_GOOGLE_CLIENT_ID` | sandbox client id | OAuth client id |
//! | `BOOKINGS_GOOGLE_CLIENT_SECRET` (`_FILE`) | sandbox secret | OAuth client secret (secret) |
//! | `BOOKINGS_GOOGLE_REFRESH_TOKEN` (`_FILE`) | sandbox grant | refresh token of the `default` Google account (secret) |
//! | `BOOKINGS_HUBSPOT_URL` | `{sandbox}/hubspot` | HubSpot base (real: `https://api.hubapi.com`) |
//! | `BOOKINGS_HUBSPOT_TOKEN` (`_FILE`) | sandbox token | HubSpot private-app token (secret) |
//! | `BOOKINGS_CALENDLY_URL` | `{sandbox}/calendly` | Calendly v2 base (real: `https://api.calendly.com`) |
//! | `BOOKINGS_CALENDLY_TOKEN` (`_FILE`) | sandbox token | Calendly personal access token (secret) |

use std::{collections::BTreeMap, path::PathBuf};

use url::Url;

use crate::secret::Secret;

/// Base of every default URL: the sandbox started by `scripts/run`.
pub const DEFAULT_SANDBOX_URL: &str = "http://127.0.0.1:8089";

/// Why the configuration cannot be used. Fatal: the process must not start with it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var} is not a valid URL ({value:?}): {source}")]
    InvalidUrl {
        var: &'static str,
        value: String,
        source: url::ParseError,
    },
    #[error("{var} points at {path}, which cannot be read: {source}")]
    UnreadableSecretFile {
        var: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{var} is empty")]
    Empty { var: String },
    #[error("{var} is malformed ({value:?}): {reason}")]
    Malformed {
        var: &'static str,
        value: String,
        reason: &'static str,
    },
}

/// Whether `send_email` keeps a durable sent-marker per step (see [`crate::email`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentMarkers {
    /// A HubSpot note keyed by `email:<booking_id>:<step>`.
    Crm,
    /// No guard: a retry after an unacknowledged send sends again.
    Off,
}

/// Google Calendar v3.
#[derive(Debug, Clone)]
pub struct GoogleCalendarConfig {
    pub base_url: Url,
    /// Calendar of agents without their own entry in `agent_calendars`.
    pub default_calendar_id: String,
    /// Agent id -> calendar id.
    pub agent_calendars: BTreeMap<String, String>,
}

impl GoogleCalendarConfig {
    /// The calendar an agent's tours go to.
    pub fn calendar_for(&self, agent: Option<&str>) -> &str {
        agent
            .and_then(|a| self.agent_calendars.get(a))
            .map(String::as_str)
            .unwrap_or(&self.default_calendar_id)
    }
}

/// Google OAuth 2.0 refresh-token grant (the only OAuth flow the engine runs itself).
#[derive(Debug, Clone)]
pub struct GoogleOAuthConfig {
    pub token_url: Url,
    pub client_id: String,
    pub client_secret: Secret,
    /// Refresh token of the account named [`crate::token::DEFAULT_ACCOUNT`].
    pub refresh_token: Secret,
}

/// HubSpot CRM v3.
#[derive(Debug, Clone)]
pub struct HubSpotConfig {
    pub base_url: Url,
    pub token: Secret,
}

/// Calendly v2.
#[derive(Debug, Clone)]
pub struct CalendlyConfig {
    pub base_url: Url,
    pub token: Secret,
}

/// SendGrid v3 (`POST {base_url}/v3/mail/send`).
#[derive(Debug, Clone)]
pub struct SendGridConfig {
    pub base_url: Url,
    pub api_key: Secret,
    /// The address every booking email is sent from.
    pub from_email: String,
    pub from_name: String,
}

/// Everything the activities need to reach the outside world.
#[derive(Debug, Clone)]
pub struct ProvidersConfig {
    pub sendgrid: SendGridConfig,
    pub sent_markers: SentMarkers,
    pub google_calendar: GoogleCalendarConfig,
    pub google_oauth: GoogleOAuthConfig,
    pub hubspot: HubSpotConfig,
    pub calendly: CalendlyConfig,
}

impl ProvidersConfig {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests need not touch the process
    /// environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env { lookup: &lookup };
        let sandbox = env.url("BOOKINGS_SANDBOX_URL", DEFAULT_SANDBOX_URL)?;
        let under_sandbox =
            |path: &str| format!("{}/{path}", sandbox.as_str().trim_end_matches('/'));
        Ok(Self {
            sendgrid: SendGridConfig {
                base_url: env.url("BOOKINGS_SENDGRID_URL", &under_sandbox("sendgrid"))?,
                api_key: env.secret("BOOKINGS_SENDGRID_API_KEY", "SG.sandbox-key")?,
                from_email: env.string("BOOKINGS_EMAIL_FROM", "tours@example.com")?,
                from_name: env.string("BOOKINGS_EMAIL_FROM_NAME", "Tours")?,
            },
            sent_markers: match env.string("BOOKINGS_EMAIL_SENT_MARKERS", "crm")?.as_str() {
                "crm" => SentMarkers::Crm,
                "off" => SentMarkers::Off,
                other => {
                    return Err(ConfigError::Malformed {
                        var: "BOOKINGS_EMAIL_SENT_MARKERS",
                        value: other.to_owned(),
                        reason: "expected `crm` or `off`",
                    });
                }
            },
            google_calendar: GoogleCalendarConfig {
                base_url: env.url(
                    "BOOKINGS_GOOGLE_CALENDAR_URL",
                    &under_sandbox("google/calendar/v3"),
                )?,
                default_calendar_id: env.string("BOOKINGS_GOOGLE_CALENDAR_ID", "primary")?,
                agent_calendars: env.pairs("BOOKINGS_GOOGLE_AGENT_CALENDARS")?,
            },
            google_oauth: GoogleOAuthConfig {
                token_url: env.url(
                    "BOOKINGS_GOOGLE_TOKEN_URL",
                    &under_sandbox("google/oauth2/token"),
                )?,
                client_id: env.string("BOOKINGS_GOOGLE_CLIENT_ID", "sandbox-client-id")?,
                client_secret: env
                    .secret("BOOKINGS_GOOGLE_CLIENT_SECRET", "sandbox-client-secret")?,
                refresh_token: env
                    .secret("BOOKINGS_GOOGLE_REFRESH_TOKEN", "sandbox-refresh-token")?,
            },
            hubspot: HubSpotConfig {
                base_url: env.url("BOOKINGS_HUBSPOT_URL", &under_sandbox("hubspot"))?,
                token: env.secret("BOOKINGS_HUBSPOT_TOKEN", "sandbox-hubspot-token")?,
            },
            calendly: CalendlyConfig {
                base_url: env.url("BOOKINGS_CALENDLY_URL", &under_sandbox("calendly"))?,
                token: env.secret("BOOKINGS_CALENDLY_TOKEN", "sandbox-calendly-token")?,
            },
        })
    }

    /// Every secret value configured, for [`crate::redact::Redactor`].
    pub fn secrets(&self) -> Vec<Secret> {
        vec![
            self.sendgrid.api_key.clone(),
            self.google_oauth.client_secret.clone(),
            self.google_oauth.refresh_token.clone(),
            self.hubspot.token.clone(),
            self.calendly.token.clone(),
        ]
    }

    /// Points every provider at a sandbox running at `base_url` (tests, demos, benchmarks).
    pub fn for_sandbox(base_url: &str) -> Result<Self, ConfigError> {
        let base = base_url.to_owned();
        Self::from_lookup(move |name| (name == "BOOKINGS_SANDBOX_URL").then(|| base.clone()))
    }
}

struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl Env<'_> {
    fn string(&self, var: &'static str, default: &str) -> Result<String, ConfigError> {
        match (self.lookup)(var) {
            Some(value) if value.trim().is_empty() => Err(ConfigError::Empty { var: var.into() }),
            Some(value) => Ok(value),
            None => Ok(default.to_owned()),
        }
    }

    fn url(&self, var: &'static str, default: &str) -> Result<Url, ConfigError> {
        let value = self.string(var, default)?;
        Url::parse(&value).map_err(|source| ConfigError::InvalidUrl { var, value, source })
    }

    /// `key=value,key2=value2`; unset or blank is empty.
    fn pairs(&self, var: &'static str) -> Result<BTreeMap<String, String>, ConfigError> {
        let Some(value) = (self.lookup)(var) else {
            return Ok(BTreeMap::new());
        };
        value
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| match item.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => {
                    Ok((k.trim().to_owned(), v.trim().to_owned()))
                }
                _ => Err(ConfigError::Malformed {
                    var,
                    value: value.clone(),
                    reason: "expected `key=value` pairs separated by commas",
                }),
            })
            .collect()
    }

    fn secret(&self, var: &'static str, default: &str) -> Result<Secret, ConfigError> {
        let file_var = format!("{var}_FILE");
        if let Some(path) = (self.lookup)(&file_var) {
            let path = PathBuf::from(path);
            let value = std::fs::read_to_string(&path).map_err(|source| {
                ConfigError::UnreadableSecretFile {
                    var: file_var.clone(),
                    path: path.clone(),
                    source,
                }
            })?;
            let value = value.trim();
            if value.is_empty() {
                return Err(ConfigError::Empty { var: file_var });
            }
            return Ok(Secret::new(value));
        }
        self.string(var, default).map(Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<ProvidersConfig, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProvidersConfig::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_point_at_the_sandbox() {
        let config = config(&[]).unwrap();
        assert_eq!(
            config.sendgrid.base_url.as_str(),
            "http://127.0.0.1:8089/sendgrid"
        );
    }

    #[test]
    fn one_variable_moves_every_provider_to_another_sandbox() {
        let config = config(&[("BOOKINGS_SANDBOX_URL", "http://10.0.0.5:9000/")]).unwrap();
        assert_eq!(
            config.sendgrid.base_url.as_str(),
            "http://10.0.0.5:9000/sendgrid"
        );
    }

    #[test]
    fn every_provider_defaults_to_the_sandbox_and_its_credentials() {
        let config = config(&[("BOOKINGS_SANDBOX_URL", "http://sb:1")]).unwrap();
        assert_eq!(
            config.google_calendar.base_url.as_str(),
            "http://sb:1/google/calendar/v3"
        );
        assert_eq!(
            config.google_oauth.token_url.as_str(),
            "http://sb:1/google/oauth2/token"
        );
        assert_eq!(config.hubspot.base_url.as_str(), "http://sb:1/hubspot");
        assert_eq!(config.calendly.base_url.as_str(), "http://sb:1/calendly");
        assert_eq!(
            config.google_oauth.refresh_token.expose(),
            booking_sandbox::defaults::GOOGLE_REFRESH_TOKEN
        );
        assert_eq!(
            config.google_oauth.client_secret.expose(),
            booking_sandbox::defaults::GOOGLE_CLIENT_SECRET
        );
        assert_eq!(
            config.google_oauth.client_id,
            booking_sandbox::defaults::GOOGLE_CLIENT_ID
        );
        assert_eq!(
            config.hubspot.token.expose(),
            booking_sandbox::defaults::HUBSPOT_TOKEN
        );
        assert_eq!(
            config.calendly.token.expose(),
            booking_sandbox::defaults::CALENDLY_TOKEN
        );
        assert_eq!(
            config.sendgrid.api_key.expose(),
            booking_sandbox::defaults::SENDGRID_API_KEY
        );
        assert_eq!(config.google_calendar.calendar_for(Some("ann")), "primary");
        assert_eq!(config.sent_markers, SentMarkers::Crm);
    }

    #[test]
    fn agents_can_have_their_own_calendars() {
        let config = config(&[
            (
                "BOOKINGS_GOOGLE_AGENT_CALENDARS",
                "ann=ann@x.test, bob=bob@x.test",
            ),
            ("BOOKINGS_GOOGLE_CALENDAR_ID", "team@x.test"),
        ])
        .unwrap();
        assert_eq!(
            config.google_calendar.calendar_for(Some("bob")),
            "bob@x.test"
        );
        assert_eq!(
            config.google_calendar.calendar_for(Some("cy")),
            "team@x.test"
        );
        assert_eq!(config.google_calendar.calendar_for(None), "team@x.test");
        let err = config_err(&[("BOOKINGS_GOOGLE_AGENT_CALENDARS", "ann")]);
        assert!(
            err.to_string()
                .starts_with("BOOKINGS_GOOGLE_AGENT_CALENDARS is malformed")
        );
    }

    fn config_err(vars: &[(&str, &str)]) -> ConfigError {
        config(vars).unwrap_err()
    }

    #[test]
    fn a_bad_url_names_the_variable() {
        let err = config(&[("BOOKINGS_SENDGRID_URL", "not a url")]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("BOOKINGS_SENDGRID_URL is not a valid URL")
        );
    }

    #[test]
    fn secrets_can_come_from_files() {
        let dir = std::env::temp_dir().join(format!("bookings-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("sendgrid");
        std::fs::write(&file, "SG.from-file\n").unwrap();
        let config = config(&[("BOOKINGS_SENDGRID_API_KEY_FILE", file.to_str().unwrap())]).unwrap();
        assert_eq!(config.sendgrid.api_key.expose(), "SG.from-file");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_secret_file_is_an_error_not_a_default() {
        let err = config(&[("BOOKINGS_SENDGRID_API_KEY_FILE", "/nonexistent/key")]).unwrap_err();
        assert!(matches!(err, ConfigError::UnreadableSecretFile { .. }));
    }
}
