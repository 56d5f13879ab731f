//! Where the providers are and how to authenticate to them.
//!
//! Two modes, chosen by `BOOKINGS_SANDBOX` ([`Mode`]):
//!
//! - **sandbox** (`BOOKINGS_SANDBOX=1` or `true`; `bookings up` and the tests set it): every
//!   provider URL defaults to a path under the local sandbox (`booking-sandbox`, port 8089) and
//!   every secret to the sandbox's public stand-in, so a new user sees the whole system work
//!   before entering any credential. The process logs a warning saying so.
//! - **production** (unset, `0` or `false`): no secret has a default. A process missing any of
//!   them refuses to start, naming every missing variable; provider URLs default to the real
//!   providers' public API bases, so real secrets never go to a sandbox URL by accident.
//!
//! A secret `X` may also be given as a file path in `X_FILE` (the container convention for
//! mounted secrets); [`read_secret`] is that rule, and the shim reads its secrets through it too.
//!
//! # Variables
//!
//! | variable | sandbox default | production default | meaning |
//! |---|---|---|---|
//! | `BOOKINGS_SANDBOX` | | unset | `1`/`true`: sandbox mode; `0`/`false`/unset: production; anything else is an error |
//! | `BOOKINGS_SANDBOX_URL` | `http://127.0.0.1:8089` | ignored | base of every sandbox default below |
//! | `BOOKINGS_SENDGRID_URL` | `{sandbox}/sendgrid` | `https://api.sendgrid.com` | SendGrid base |
//! | `BOOKINGS_SENDGRID_API_KEY` (`_FILE`) | sandbox key | **required** | SendGrid API key (secret) |
//! | `BOOKINGS_EMAIL_FROM`, `BOOKINGS_EMAIL_FROM_NAME` | `tours@example.com`, `Tours` | same | sender |
//! | `BOOKINGS_EMAIL_SENT_MARKERS` | `crm` | same | `crm`: the duplicate guard keeps a HubSpot note per sent email or text step (see [`crate::sent_marker`]); `off`: no guard, for either |
//! | `BOOKINGS_TWILIO_URL` | `{sandbox}/twilio` | `https://api.twilio.com` | Twilio base (`/2010-04-01/Accounts/{sid}/Messages.json`) |
//! | `BOOKINGS_TWILIO_ACCOUNT_SID` (`_FILE`) | sandbox account | **required** | Twilio account SID (`AC` and 32 hex digits) |
//! | `BOOKINGS_TWILIO_AUTH_TOKEN` (`_FILE`) | sandbox token | **required** | Twilio auth token (secret) |
//! | `BOOKINGS_TWILIO_FROM` | sandbox number | **required**³ | number texts are sent from, E.164 (`+14155550123`) |
//! | `BOOKINGS_TWILIO_MESSAGING_SERVICE_SID` | unset | unset | Messaging Service (`MG` and 32 hex digits) texts are sent through, instead of `BOOKINGS_TWILIO_FROM` |
//! | `BOOKINGS_TWILIO_STATUS_CALLBACK_URL` | unset | unset | absolute URL of the shim's `/webhooks/twilio/status`; each text's `StatusCallback` is it with `?booking_id=..&step=..`; unset: no status callbacks |
//! | `BOOKINGS_DEFAULT_CALENDAR` | `google:primary` | same | calendar of agents not listed below: `google:<calendarId>` or `microsoft:<userId>` |
//! | `BOOKINGS_AGENT_CALENDARS` | empty | same | per-agent calendars, `agent=google:<calendarId>,agent2=microsoft:<userId>` |
//! | `BOOKINGS_GOOGLE_CALENDAR_URL` | `{sandbox}/google/calendar/v3` | `https://www.googleapis.com/calendar/v3` | Calendar v3 base |
//! | `BOOKINGS_GOOGLE_TOKEN_URL` | `{sandbox}/google/oauth2/token` | `https://oauth2.googleapis.com/token` | OAuth token endpoint |
//! | `BOOKINGS_GOOGLE_CLIENT_ID` | sandbox client id | **required**¹ | OAuth client id |
//! | `BOOKINGS_GOOGLE_CLIENT_SECRET` (`_FILE`) | sandbox secret | **required**¹ | OAuth client secret (secret) |
//! | `BOOKINGS_GOOGLE_REFRESH_TOKEN` (`_FILE`) | sandbox grant | **required**¹ | refresh token of the `default` Google account (secret) |
//! | `BOOKINGS_MICROSOFT_GRAPH_URL` | `{sandbox}/microsoft/graph/v1.0` | `https://graph.microsoft.com/v1.0` | Graph base |
//! | `BOOKINGS_MICROSOFT_LOGIN_URL` | `{sandbox}/microsoft/login` | `https://login.microsoftonline.com` | identity platform base (`/{tenant}/oauth2/v2.0/token`) |
//! | `BOOKINGS_MICROSOFT_TENANT_ID` | sandbox tenant | **required**² | directory (tenant) id of the Microsoft 365 organisation |
//! | `BOOKINGS_MICROSOFT_CLIENT_ID` | sandbox app | **required**² | application (client) id of the app registration |
//! | `BOOKINGS_MICROSOFT_CLIENT_SECRET` (`_FILE`) | sandbox secret | **required**² | client secret of the app registration (secret) |
//! | `BOOKINGS_HUBSPOT_URL` | `{sandbox}/hubspot` | `https://api.hubapi.com` | HubSpot base |
//! | `BOOKINGS_HUBSPOT_TOKEN` (`_FILE`) | sandbox token | **required** | HubSpot private-app token (secret) |
//! | `BOOKINGS_CALENDLY_URL` | `{sandbox}/calendly` | `https://api.calendly.com` | Calendly v2 base |
//! | `BOOKINGS_CALENDLY_TOKEN` (`_FILE`) | sandbox token | **required** | Calendly personal access token (secret) |
//! | `BOOKINGS_ACUITY_URL` | `{sandbox}/acuity` | `https://acuityscheduling.com` | Acuity Scheduling base (`/api/v1/...`) |
//! | `BOOKINGS_ACUITY_USER_ID` (`_FILE`) | sandbox user | optional⁴ | Acuity user id, the API's Basic auth user |
//! | `BOOKINGS_ACUITY_API_KEY` (`_FILE`) | sandbox key | optional⁴ | Acuity API key (secret); also the key of Acuity's webhook signatures |
//!
//! ¹ when some calendar (the default or an agent's) is a `google:` one; ² when one is a
//! `microsoft:` one; ³ unless `BOOKINGS_TWILIO_MESSAGING_SERVICE_SID` is set (setting both is
//! an error); ⁴ both or neither: neither set turns Acuity off (its webhooks are refused,
//! reconciliation skips it). The names `BOOKINGS_GOOGLE_CALENDAR_ID` and
//! `BOOKINGS_GOOGLE_AGENT_CALENDARS` of earlier versions are refused with the new name, so a
//! stale deployment fails at start instead of sending every agent's tours to one calendar.

use std::{collections::BTreeMap, path::PathBuf};

use url::Url;

use booking_proto::phone::PhoneNumber;

use crate::{
    calendar::{CalendarRef, CalendarRefError},
    secret::Secret,
};

/// Base of every sandbox default URL: the sandbox started by `scripts/run`.
pub const DEFAULT_SANDBOX_URL: &str = "http://127.0.0.1:8089";

/// The variable that turns sandbox mode on (see [`Mode`]).
pub const SANDBOX_MODE_VAR: &str = "BOOKINGS_SANDBOX";

/// Why the configuration cannot be used. Fatal: the process must not start with it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var} is not a valid URL ({value:?}): {source}")]
    InvalidUrl {
        var: &'static str,
        value: String,
        source: url::ParseError,
    },
    #[error("{var}_FILE points at {path}, which cannot be read: {source}")]
    UnreadableSecretFile {
        var: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{var}_FILE points at {path}, which is empty")]
    EmptySecretFile { var: &'static str, path: PathBuf },
    #[error("{var} is empty")]
    Empty { var: &'static str },
    #[error("{var} is malformed ({value:?}): {reason}")]
    Malformed {
        var: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("{var} entry {entry:?} is refused: {source}")]
    BadCalendar {
        var: &'static str,
        entry: String,
        source: CalendarRefError,
    },
    #[error("{var} is not a valid phone number: {reason}")]
    BadPhoneNumber { var: &'static str, reason: String },
    #[error("{var} was renamed: {hint}")]
    Renamed {
        var: &'static str,
        hint: &'static str,
    },
    /// Every required variable that is missing, so one failed start lists them all.
    #[error(
        "{} not set: required outside sandbox mode (set each, or <VAR>_FILE to a file holding \
         it; {SANDBOX_MODE_VAR}=1 runs against the provider sandbox with its public credentials)",
        vars.join(", ")
    )]
    Missing { vars: Vec<&'static str> },
}

impl ConfigError {
    /// The variable to fix (the first missing one, for [`ConfigError::Missing`]; `X` for a
    /// problem with `X_FILE`).
    pub fn var(&self) -> &'static str {
        match self {
            Self::InvalidUrl { var, .. }
            | Self::UnreadableSecretFile { var, .. }
            | Self::EmptySecretFile { var, .. }
            | Self::Empty { var }
            | Self::Malformed { var, .. }
            | Self::BadCalendar { var, .. }
            | Self::BadPhoneNumber { var, .. }
            | Self::Renamed { var, .. } => var,
            Self::Missing { vars } => vars.first().copied().unwrap_or(SANDBOX_MODE_VAR),
        }
    }
}

/// Whether a process may fall back to the provider sandbox's public credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `BOOKINGS_SANDBOX=1` (or `true`): unset secrets and URLs default to the sandbox's.
    Sandbox,
    /// The default: every secret is required and URLs default to the real providers.
    Production,
}

impl Mode {
    /// Reads `BOOKINGS_SANDBOX` through `lookup`. Unset or blank is production: forgetting the
    /// variable must fail closed, and a typo (`BOOKINGS_SANDBOX=ture`) is an error rather than
    /// a guess either way.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let Some(value) = lookup(SANDBOX_MODE_VAR) else {
            return Ok(Self::Production);
        };
        match value.trim().to_ascii_lowercase().as_str() {
            "1" | "true" => Ok(Self::Sandbox),
            "" | "0" | "false" => Ok(Self::Production),
            _ => Err(ConfigError::Malformed {
                var: SANDBOX_MODE_VAR,
                value,
                reason: "expected 1 or true (sandbox mode), or 0 or false",
            }),
        }
    }

    pub fn is_sandbox(self) -> bool {
        self == Self::Sandbox
    }

    /// Logs once per process, whichever of its configurations reads the mode first, that it
    /// runs on public sandbox credentials: a production process started this way by mistake is
    /// then visible in its first log lines.
    pub fn warn_once_if_sandbox(self) {
        static WARNED: std::sync::Once = std::sync::Once::new();
        if self.is_sandbox() {
            WARNED.call_once(|| {
                tracing::warn!(
                    "sandbox mode ({SANDBOX_MODE_VAR}=1): secrets that are not set are the \
                     provider sandbox's public credentials and provider URLs default to the \
                     sandbox; never run a real deployment this way"
                );
            });
        }
    }
}

/// Reads secret `var` through `lookup`: from the file named by `<var>_FILE` when that is set
/// (trimmed; an unreadable or empty file is an error, never a fallback), else from `var`.
/// `None` when neither is set; a blank `var` is an error.
pub fn read_secret(
    lookup: &dyn Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<Option<Secret>, ConfigError> {
    if let Some(path) = lookup(&format!("{var}_FILE")) {
        let path = PathBuf::from(path);
        let value =
            std::fs::read_to_string(&path).map_err(|source| ConfigError::UnreadableSecretFile {
                var,
                path: path.clone(),
                source,
            })?;
        let value = value.trim();
        if value.is_empty() {
            return Err(ConfigError::EmptySecretFile { var, path });
        }
        return Ok(Some(Secret::new(value)));
    }
    match lookup(var) {
        Some(value) if value.trim().is_empty() => Err(ConfigError::Empty { var }),
        Some(value) => Ok(Some(Secret::new(value))),
        None => Ok(None),
    }
}

/// Whether `send_email` and `send_sms` keep a durable sent-marker per step (see
/// [`crate::sent_marker`]). One setting for both, `BOOKINGS_EMAIL_SENT_MARKERS` (named when
/// only emails had it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentMarkers {
    /// A HubSpot note keyed by `<booking_id>:email:<step>` or `<booking_id>:sms:<step>`.
    Crm,
    /// No guard: a retry after an unacknowledged send sends again.
    Off,
}

/// Which calendar each agent's tours go to, on whichever provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarsConfig {
    /// Calendar of agents without their own entry in `agent_calendars`.
    pub default_calendar: CalendarRef,
    /// Agent id -> calendar.
    pub agent_calendars: BTreeMap<String, CalendarRef>,
}

impl CalendarsConfig {
    /// The calendar an agent's tours go to.
    pub fn calendar_for(&self, agent: Option<&str>) -> &CalendarRef {
        agent
            .and_then(|a| self.agent_calendars.get(a))
            .unwrap_or(&self.default_calendar)
    }

    /// Every configured calendar, each once.
    pub fn all(&self) -> std::collections::BTreeSet<CalendarRef> {
        std::iter::once(&self.default_calendar)
            .chain(self.agent_calendars.values())
            .cloned()
            .collect()
    }

    fn uses_google(&self) -> bool {
        self.all()
            .iter()
            .any(|c| matches!(c, CalendarRef::Google(_)))
    }

    fn uses_microsoft(&self) -> bool {
        self.all()
            .iter()
            .any(|c| matches!(c, CalendarRef::Microsoft(_)))
    }

    /// Agent id -> the wire form of its calendar (see [`CalendarRef::to_wire`]).
    pub fn agent_wire_ids(&self) -> BTreeMap<String, String> {
        self.agent_calendars
            .iter()
            .map(|(agent, calendar)| (agent.clone(), calendar.to_wire()))
            .collect()
    }
}

/// Google Calendar v3.
#[derive(Debug, Clone)]
pub struct GoogleCalendarConfig {
    pub base_url: Url,
}

/// Microsoft Graph v1.0 (calendars of Microsoft 365 mailboxes).
#[derive(Debug, Clone)]
pub struct MicrosoftGraphConfig {
    pub base_url: Url,
}

/// The Microsoft identity platform's client-credentials grant of one app registration.
#[derive(Debug, Clone)]
pub struct MicrosoftIdentityConfig {
    /// `https://login.microsoftonline.com` (or a national cloud's authority host).
    pub login_url: Url,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: Secret,
}

impl MicrosoftIdentityConfig {
    /// `{login}/{tenant}/oauth2/v2.0/token`.
    pub fn token_url(&self) -> Url {
        let path = [self.tenant_id.as_str(), "oauth2", "v2.0", "token"];
        crate::http::endpoint(&self.login_url, path)
    }
}

/// Google OAuth 2.0 refresh-token grant.
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

/// Acuity Scheduling API v1 (Basic auth: user id and API key; the key also signs webhooks).
#[derive(Debug, Clone)]
pub struct AcuityConfig {
    pub base_url: Url,
    pub user_id: String,
    pub api_key: Secret,
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

/// Where Twilio takes a text's sender from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwilioSender {
    /// `From`: one of the account's numbers, E.164.
    Number(String),
    /// `MessagingServiceSid`: Twilio picks a number of the service's pool.
    MessagingService(String),
}

/// Twilio Programmable Messaging (`POST {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json`).
#[derive(Debug, Clone)]
pub struct TwilioConfig {
    pub base_url: Url,
    pub account_sid: String,
    pub auth_token: Secret,
    pub sender: TwilioSender,
    /// The shim's public `…/webhooks/twilio/status`; `None`: texts ask for no status callbacks.
    pub status_callback_url: Option<Url>,
}

/// Everything the activities need to reach the outside world.
#[derive(Debug, Clone)]
pub struct ProvidersConfig {
    pub sendgrid: SendGridConfig,
    pub twilio: TwilioConfig,
    pub sent_markers: SentMarkers,
    pub calendars: CalendarsConfig,
    pub google_calendar: GoogleCalendarConfig,
    /// `None` when no calendar is a Google one.
    pub google_oauth: Option<GoogleOAuthConfig>,
    pub microsoft_graph: MicrosoftGraphConfig,
    /// `None` when no calendar is a Microsoft one.
    pub microsoft_identity: Option<MicrosoftIdentityConfig>,
    pub hubspot: HubSpotConfig,
    pub calendly: CalendlyConfig,
    /// `None` outside sandbox mode when neither Acuity variable is set: Acuity is then not a
    /// source (its webhooks are refused, reconciliation skips it).
    pub acuity: Option<AcuityConfig>,
}

/// Default base URLs of the real providers (production mode).
const SENDGRID_URL: &str = "https://api.sendgrid.com";
const GOOGLE_CALENDAR_URL: &str = "https://www.googleapis.com/calendar/v3";
const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
const MICROSOFT_GRAPH_URL: &str = "https://graph.microsoft.com/v1.0";
const MICROSOFT_LOGIN_URL: &str = "https://login.microsoftonline.com";
const HUBSPOT_URL: &str = "https://api.hubapi.com";
const CALENDLY_URL: &str = "https://api.calendly.com";
const ACUITY_URL: &str = "https://acuityscheduling.com";
const TWILIO_URL: &str = "https://api.twilio.com";

impl ProvidersConfig {
    /// Reads the configuration from the process environment (warning once in sandbox mode).
    pub fn from_env() -> Result<Self, ConfigError> {
        let lookup = |name: &str| std::env::var(name).ok();
        Mode::from_lookup(&lookup)?.warn_once_if_sandbox();
        Self::from_lookup(lookup)
    }

    /// Reads the configuration through `lookup`, so tests need not touch the process
    /// environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(&lookup)?;
        let calendars = CalendarsConfig::read(&env)?;
        let config = Self {
            sendgrid: SendGridConfig {
                base_url: env.provider_url("BOOKINGS_SENDGRID_URL", "sendgrid", SENDGRID_URL)?,
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
                base_url: env.provider_url(
                    "BOOKINGS_GOOGLE_CALENDAR_URL",
                    "google/calendar/v3",
                    GOOGLE_CALENDAR_URL,
                )?,
            },
            google_oauth: calendars
                .uses_google()
                .then(|| GoogleOAuthConfig::read(&env))
                .transpose()?,
            microsoft_graph: MicrosoftGraphConfig {
                base_url: env.provider_url(
                    "BOOKINGS_MICROSOFT_GRAPH_URL",
                    "microsoft/graph/v1.0",
                    MICROSOFT_GRAPH_URL,
                )?,
            },
            microsoft_identity: calendars
                .uses_microsoft()
                .then(|| MicrosoftIdentityConfig::read(&env))
                .transpose()?,
            calendars,
            hubspot: HubSpotConfig {
                base_url: env.provider_url("BOOKINGS_HUBSPOT_URL", "hubspot", HUBSPOT_URL)?,
                token: env.secret("BOOKINGS_HUBSPOT_TOKEN", "sandbox-hubspot-token")?,
            },
            calendly: CalendlyConfig::read(&env)?,
            acuity: AcuityConfig::read(&env)?,
            twilio: TwilioConfig::read(&env)?,
        };
        env.finish()?;
        Ok(config)
    }

    /// Every secret value configured, for [`crate::redact::Redactor`].
    pub fn secrets(&self) -> Vec<Secret> {
        let mut secrets = vec![
            self.sendgrid.api_key.clone(),
            self.hubspot.token.clone(),
            self.calendly.token.clone(),
            self.twilio.auth_token.clone(),
        ];
        if let Some(acuity) = &self.acuity {
            secrets.push(acuity.api_key.clone());
        }
        if let Some(google) = &self.google_oauth {
            secrets.extend([google.client_secret.clone(), google.refresh_token.clone()]);
        }
        if let Some(microsoft) = &self.microsoft_identity {
            secrets.push(microsoft.client_secret.clone());
        }
        secrets
    }

    /// Sandbox mode with every provider in a sandbox running at `base_url` (tests, demos,
    /// benchmarks).
    pub fn for_sandbox(base_url: &str) -> Result<Self, ConfigError> {
        Self::for_sandbox_with(base_url, &[])
    }

    /// [`ProvidersConfig::for_sandbox`] with some variables set, e.g. agents' calendars.
    pub fn for_sandbox_with(base_url: &str, vars: &[(&str, &str)]) -> Result<Self, ConfigError> {
        let base = base_url.to_owned();
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Self::from_lookup(move |name| match name {
            SANDBOX_MODE_VAR => Some("1".to_owned()),
            "BOOKINGS_SANDBOX_URL" => Some(base.clone()),
            _ => vars.get(name).cloned(),
        })
    }
}

impl CalendarsConfig {
    fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        for (var, hint) in [
            (
                "BOOKINGS_GOOGLE_CALENDAR_ID",
                "set BOOKINGS_DEFAULT_CALENDAR=google:<calendarId> instead",
            ),
            (
                "BOOKINGS_GOOGLE_AGENT_CALENDARS",
                "set BOOKINGS_AGENT_CALENDARS=agent=google:<calendarId>,... instead",
            ),
        ] {
            if (env.lookup)(var).is_some() {
                return Err(ConfigError::Renamed { var, hint });
            }
        }
        const DEFAULT: &str = "BOOKINGS_DEFAULT_CALENDAR";
        const AGENTS: &str = "BOOKINGS_AGENT_CALENDARS";
        let calendar = |var, entry: String, text: &str| {
            CalendarRef::parse_config(text).map_err(|source| ConfigError::BadCalendar {
                var,
                entry,
                source,
            })
        };
        let default = env.string(DEFAULT, "google:primary")?;
        Ok(Self {
            default_calendar: calendar(DEFAULT, default.clone(), &default)?,
            agent_calendars: env
                .pairs(AGENTS)?
                .into_iter()
                .map(|(agent, text)| {
                    let parsed = calendar(AGENTS, format!("{agent}={text}"), &text)?;
                    Ok((agent, parsed))
                })
                .collect::<Result<_, ConfigError>>()?,
        })
    }
}

impl GoogleOAuthConfig {
    fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            token_url: env.provider_url(
                "BOOKINGS_GOOGLE_TOKEN_URL",
                "google/oauth2/token",
                GOOGLE_TOKEN_URL,
            )?,
            // Not secret, but the sandbox's client id is as useless to a real deployment as
            // its secret: required alike.
            client_id: env
                .secret("BOOKINGS_GOOGLE_CLIENT_ID", "sandbox-client-id")?
                .expose()
                .to_owned(),
            client_secret: env.secret("BOOKINGS_GOOGLE_CLIENT_SECRET", "sandbox-client-secret")?,
            refresh_token: env.secret("BOOKINGS_GOOGLE_REFRESH_TOKEN", "sandbox-refresh-token")?,
        })
    }
}

impl MicrosoftIdentityConfig {
    fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            login_url: env.provider_url(
                "BOOKINGS_MICROSOFT_LOGIN_URL",
                "microsoft/login",
                MICROSOFT_LOGIN_URL,
            )?,
            tenant_id: env
                .secret("BOOKINGS_MICROSOFT_TENANT_ID", SANDBOX_MICROSOFT_TENANT_ID)?
                .expose()
                .to_owned(),
            client_id: env
                .secret("BOOKINGS_MICROSOFT_CLIENT_ID", SANDBOX_MICROSOFT_CLIENT_ID)?
                .expose()
                .to_owned(),
            client_secret: env.secret(
                "BOOKINGS_MICROSOFT_CLIENT_SECRET",
                SANDBOX_MICROSOFT_CLIENT_SECRET,
            )?,
        })
    }
}

/// The sandbox's public Microsoft app registration (see `booking_sandbox::defaults`).
const SANDBOX_MICROSOFT_TENANT_ID: &str = "sandbox-tenant";
const SANDBOX_MICROSOFT_CLIENT_ID: &str = "00000000-0000-4000-8000-5a4db0c11e47";
const SANDBOX_MICROSOFT_CLIENT_SECRET: &str = "sandbox-microsoft-client-secret";

impl CalendlyConfig {
    /// `BOOKINGS_CALENDLY_URL` and `BOOKINGS_CALENDLY_TOKEN` alone, read exactly as
    /// [`ProvidersConfig::from_lookup`] reads them (mode included): the shim needs only these.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(&lookup)?;
        let config = Self::read(&env)?;
        env.finish()?;
        Ok(config)
    }

    fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            base_url: env.provider_url("BOOKINGS_CALENDLY_URL", "calendly", CALENDLY_URL)?,
            token: env.secret("BOOKINGS_CALENDLY_TOKEN", "sandbox-calendly-token")?,
        })
    }
}

impl AcuityConfig {
    /// The Acuity settings alone, read exactly as [`ProvidersConfig::from_lookup`] reads them
    /// (mode included): the shim verifies webhooks and reads appointments with them.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let env = Env::new(&lookup)?;
        let config = Self::read(&env)?;
        env.finish()?;
        Ok(config)
    }

    /// Acuity is optional: outside sandbox mode, neither variable set means no Acuity; one
    /// without the other is a missing secret, never half a configuration.
    fn read(env: &Env<'_>) -> Result<Option<Self>, ConfigError> {
        const USER: &str = "BOOKINGS_ACUITY_USER_ID";
        const KEY: &str = "BOOKINGS_ACUITY_API_KEY";
        // Each read once: a `_FILE` is read here, not again by `env.secret`.
        let user = read_secret(env.lookup, USER)?;
        let key = read_secret(env.lookup, KEY)?;
        if env.sandbox.is_none() && user.is_none() && key.is_none() {
            return Ok(None);
        }
        let user = match user {
            Some(user) => user,
            // Not secret, but the sandbox's user is as useless to a real account as its key.
            None => env.secret(USER, "sandbox-acuity-user")?,
        };
        let api_key = match key {
            Some(key) => key,
            None => env.secret(KEY, "sandbox-acuity-key")?,
        };
        Ok(Some(Self {
            base_url: env.provider_url("BOOKINGS_ACUITY_URL", "acuity", ACUITY_URL)?,
            user_id: user.expose().to_owned(),
            api_key,
        }))
    }
}

impl TwilioConfig {
    fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        const FROM: &str = "BOOKINGS_TWILIO_FROM";
        const SERVICE: &str = "BOOKINGS_TWILIO_MESSAGING_SERVICE_SID";
        // Not secret, but the sandbox's account is as useless to a real deployment as its
        // token: required alike.
        const ACCOUNT: &str = "BOOKINGS_TWILIO_ACCOUNT_SID";
        let account_sid = env
            .secret(ACCOUNT, SANDBOX_TWILIO_ACCOUNT_SID)?
            .expose()
            .to_owned();
        // Empty only when missing, which `finish` reports.
        let account_sid = if account_sid.is_empty() {
            account_sid
        } else {
            twilio_sid(ACCOUNT, "AC", account_sid)?
        };
        let auth_token = env.secret("BOOKINGS_TWILIO_AUTH_TOKEN", SANDBOX_TWILIO_AUTH_TOKEN)?;
        let sender = match (env.optional(FROM)?, env.optional(SERVICE)?) {
            (Some(_), Some(sid)) => {
                return Err(ConfigError::Malformed {
                    var: SERVICE,
                    value: sid,
                    reason: "texts go either from BOOKINGS_TWILIO_FROM or through a \
                             Messaging Service, not both: unset one",
                });
            }
            (None, Some(sid)) => TwilioSender::MessagingService(twilio_sid(SERVICE, "MG", sid)?),
            (Some(number), None) => TwilioSender::Number(
                PhoneNumber::parse(&number)
                    .map_err(|reason| ConfigError::BadPhoneNumber { var: FROM, reason })?
                    .as_str()
                    .to_owned(),
            ),
            (None, None) => TwilioSender::Number(env.required(FROM, SANDBOX_TWILIO_FROM_NUMBER)),
        };
        Ok(Self {
            base_url: env.provider_url("BOOKINGS_TWILIO_URL", "twilio", TWILIO_URL)?,
            account_sid,
            auth_token,
            sender,
            status_callback_url: env
                .optional(STATUS_CALLBACK)?
                .map(|value| match Url::parse(&value) {
                    Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(url),
                    Ok(_) => Err(ConfigError::Malformed {
                        var: STATUS_CALLBACK,
                        value,
                        reason: "expected an absolute http(s) URL, e.g. \
                                 https://shim.example.com/webhooks/twilio/status",
                    }),
                    Err(source) => Err(ConfigError::InvalidUrl {
                        var: STATUS_CALLBACK,
                        value,
                        source,
                    }),
                })
                .transpose()?,
        })
    }
}

const STATUS_CALLBACK: &str = "BOOKINGS_TWILIO_STATUS_CALLBACK_URL";

/// A Twilio SID: `prefix` (`AC` account, `MG` Messaging Service) and 32 hex digits.
fn twilio_sid(
    var: &'static str,
    prefix: &'static str,
    value: String,
) -> Result<String, ConfigError> {
    let sid = value.trim();
    let well_formed = sid.len() == prefix.len() + 32
        && sid.starts_with(prefix)
        && sid[prefix.len()..].bytes().all(|b| b.is_ascii_hexdigit());
    if well_formed {
        Ok(sid.to_owned())
    } else {
        Err(ConfigError::Malformed {
            var,
            value,
            reason: match prefix {
                "AC" => "expected AC followed by 32 hex digits (the console's Account SID)",
                _ => "expected MG followed by 32 hex digits (the Messaging Service SID)",
            },
        })
    }
}

/// The sandbox's public Twilio account and number (see `booking_sandbox::defaults`).
const SANDBOX_TWILIO_ACCOUNT_SID: &str = "AC5a4db0c11e47000000000000005a4db0";
const SANDBOX_TWILIO_AUTH_TOKEN: &str = "5a4db0c11e47a0d1b0c2d3e4f5a6b7c8";
const SANDBOX_TWILIO_FROM_NUMBER: &str = "+15005550006";

struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    /// `Some(base)` in sandbox mode: where unset provider URLs point.
    sandbox: Option<Url>,
    /// Required variables found unset so far (production mode), reported together.
    missing: std::cell::RefCell<Vec<&'static str>>,
}

impl<'a> Env<'a> {
    fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut env = Self {
            lookup,
            sandbox: None,
            missing: Default::default(),
        };
        if Mode::from_lookup(lookup)?.is_sandbox() {
            env.sandbox = Some(env.url("BOOKINGS_SANDBOX_URL", DEFAULT_SANDBOX_URL)?);
        }
        Ok(env)
    }

    /// Fails with every required variable that was missing.
    fn finish(self) -> Result<(), ConfigError> {
        let vars = self.missing.into_inner();
        if vars.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Missing { vars })
        }
    }
}

impl Env<'_> {
    fn string(&self, var: &'static str, default: &str) -> Result<String, ConfigError> {
        Ok(self.optional(var)?.unwrap_or_else(|| default.to_owned()))
    }

    fn url(&self, var: &'static str, default: &str) -> Result<Url, ConfigError> {
        let value = self.string(var, default)?;
        Url::parse(&value).map_err(|source| ConfigError::InvalidUrl { var, value, source })
    }

    /// A provider base URL: `var`, else `{sandbox}/{sandbox_path}` in sandbox mode and the real
    /// provider's `real` base otherwise.
    fn provider_url(
        &self,
        var: &'static str,
        sandbox_path: &str,
        real: &str,
    ) -> Result<Url, ConfigError> {
        let default = match &self.sandbox {
            Some(sandbox) => format!("{}/{sandbox_path}", sandbox.as_str().trim_end_matches('/')),
            None => real.to_owned(),
        };
        self.url(var, &default)
    }

    /// `var` when set; blank is an error.
    fn optional(&self, var: &'static str) -> Result<Option<String>, ConfigError> {
        match (self.lookup)(var) {
            Some(value) if value.trim().is_empty() => Err(ConfigError::Empty { var }),
            other => Ok(other),
        }
    }

    /// A required setting that is not a secret, when unset: the sandbox's `sandbox_default` in
    /// sandbox mode, else recorded as missing for [`Env::finish`] (like [`Env::secret`]).
    fn required(&self, var: &'static str, sandbox_default: &str) -> String {
        if self.sandbox.is_some() {
            return sandbox_default.to_owned();
        }
        self.missing.borrow_mut().push(var);
        String::new()
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

    /// A required secret ([`read_secret`]): the sandbox's `sandbox_default` in sandbox mode;
    /// otherwise, when unset, `var` is recorded as missing for [`Env::finish`], and the
    /// placeholder returned never leaves this module because `finish` then fails.
    fn secret(&self, var: &'static str, sandbox_default: &str) -> Result<Secret, ConfigError> {
        if let Some(secret) = read_secret(self.lookup, var)? {
            return Ok(secret);
        }
        if self.sandbox.is_some() {
            return Ok(Secret::new(sandbox_default));
        }
        self.missing.borrow_mut().push(var);
        Ok(Secret::new(String::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Every secret (and the client id, Twilio account and sender) a production worker must
    /// be given, in the order a failed start names them, with a value each accepts.
    const REQUIRED: [(&str, &str); 9] = [
        ("BOOKINGS_SENDGRID_API_KEY", "real-value"),
        ("BOOKINGS_GOOGLE_CLIENT_ID", "real-value"),
        ("BOOKINGS_GOOGLE_CLIENT_SECRET", "real-value"),
        ("BOOKINGS_GOOGLE_REFRESH_TOKEN", "real-value"),
        ("BOOKINGS_HUBSPOT_TOKEN", "real-value"),
        ("BOOKINGS_CALENDLY_TOKEN", "real-value"),
        ("BOOKINGS_TWILIO_ACCOUNT_SID", REAL_ACCOUNT_SID),
        ("BOOKINGS_TWILIO_AUTH_TOKEN", "real-value"),
        ("BOOKINGS_TWILIO_FROM", "+14155550132"),
    ];

    const REAL_ACCOUNT_SID: &str = "AC00112233445566778899aabbccddeeff";

    /// The required variables that are not secrets and so have no `_FILE` form.
    const PLAIN: [&str; 1] = ["BOOKINGS_TWILIO_FROM"];

    fn required_names() -> Vec<&'static str> {
        REQUIRED.iter().map(|(var, _)| *var).collect()
    }

    /// Exactly `vars`, no sandbox mode unless they say so.
    fn production(vars: &[(&str, &str)]) -> Result<ProvidersConfig, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProvidersConfig::from_lookup(|name| vars.get(name).cloned())
    }

    /// `vars` in sandbox mode.
    fn config(vars: &[(&str, &str)]) -> Result<ProvidersConfig, ConfigError> {
        let mut vars = vars.to_vec();
        vars.push((SANDBOX_MODE_VAR, "1"));
        production(&vars)
    }

    fn every_secret_but(left_out: &str) -> Vec<(&'static str, &'static str)> {
        REQUIRED
            .into_iter()
            .filter(|(var, _)| *var != left_out)
            .collect()
    }

    #[test]
    fn acuity_is_both_variables_or_neither_outside_sandbox_mode() {
        let none = production(&REQUIRED).unwrap();
        assert!(none.acuity.is_none(), "neither set: Acuity is off");
        let mut half = REQUIRED.to_vec();
        half.push(("BOOKINGS_ACUITY_USER_ID", "12345"));
        match production(&half).unwrap_err() {
            ConfigError::Missing { vars } => assert_eq!(vars, ["BOOKINGS_ACUITY_API_KEY"]),
            other => panic!("{other:?}"),
        }
        half.push(("BOOKINGS_ACUITY_API_KEY", "real-key"));
        let both = production(&half)
            .unwrap()
            .acuity
            .expect("both set: Acuity is on");
        assert_eq!(both.user_id, "12345");
        assert_eq!(both.api_key.expose(), "real-key");
        assert_eq!(both.base_url.as_str(), "https://acuityscheduling.com/");
        assert!(
            config(&[]).unwrap().acuity.is_some(),
            "the sandbox's Acuity"
        );
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
        let google = config
            .google_oauth
            .as_ref()
            .expect("the default calendar is Google's");
        assert_eq!(google.token_url.as_str(), "http://sb:1/google/oauth2/token");
        assert_eq!(config.hubspot.base_url.as_str(), "http://sb:1/hubspot");
        assert_eq!(config.calendly.base_url.as_str(), "http://sb:1/calendly");
        assert_eq!(
            google.refresh_token.expose(),
            booking_sandbox::defaults::GOOGLE_REFRESH_TOKEN
        );
        assert_eq!(
            google.client_secret.expose(),
            booking_sandbox::defaults::GOOGLE_CLIENT_SECRET
        );
        assert_eq!(
            google.client_id,
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
        assert_eq!(
            config.calendars.calendar_for(Some("ann")),
            &CalendarRef::Google("primary".into())
        );
        assert!(
            config.microsoft_identity.is_none(),
            "no calendar is a Microsoft one"
        );
        assert_eq!(config.sent_markers, SentMarkers::Crm);
        assert_eq!(config.twilio.base_url.as_str(), "http://sb:1/twilio");
        assert_eq!(
            config.twilio.account_sid,
            booking_sandbox::defaults::TWILIO_ACCOUNT_SID
        );
        assert_eq!(
            config.twilio.auth_token.expose(),
            booking_sandbox::defaults::TWILIO_AUTH_TOKEN
        );
        assert_eq!(
            config.twilio.sender,
            TwilioSender::Number(booking_sandbox::defaults::TWILIO_FROM_NUMBER.into())
        );
        assert_eq!(config.twilio.status_callback_url, None);
    }

    #[test]
    fn the_twilio_auth_token_is_redacted_with_the_other_secrets() {
        let config = config(&[("BOOKINGS_TWILIO_AUTH_TOKEN", "twilio-token-1")]).unwrap();
        assert!(
            config
                .secrets()
                .iter()
                .any(|s| s.expose() == "twilio-token-1")
        );
        assert!(!format!("{config:?}").contains("twilio-token-1"));
    }

    #[test]
    fn the_sender_is_an_e164_number_or_a_messaging_service_never_both() {
        let from = |value: &str| config(&[("BOOKINGS_TWILIO_FROM", value)]);
        assert_eq!(
            from("+1 415.555.0132").unwrap().twilio.sender,
            TwilioSender::Number("+14155550132".into())
        );
        for bad in ["4155550132", "+1 555", "tours"] {
            let err = from(bad).unwrap_err();
            assert!(
                matches!(err, ConfigError::BadPhoneNumber { .. }),
                "{bad}: {err}"
            );
            assert_eq!(err.var(), "BOOKINGS_TWILIO_FROM");
            assert!(
                err.to_string()
                    .starts_with("BOOKINGS_TWILIO_FROM is not a valid phone number"),
                "{err}"
            );
        }
        // The sandbox's number is one a user may also set by hand.
        assert_eq!(
            from(SANDBOX_TWILIO_FROM_NUMBER).unwrap().twilio.sender,
            TwilioSender::Number(SANDBOX_TWILIO_FROM_NUMBER.into())
        );
        const SERVICE: (&str, &str) = (
            "BOOKINGS_TWILIO_MESSAGING_SERVICE_SID",
            "MG00112233445566778899aabbccddeeff",
        );
        assert_eq!(
            config(&[SERVICE]).unwrap().twilio.sender,
            TwilioSender::MessagingService(SERVICE.1.into())
        );
        let err = config(&[SERVICE, ("BOOKINGS_TWILIO_FROM", "+14155550132")]).unwrap_err();
        assert_eq!(err.var(), "BOOKINGS_TWILIO_MESSAGING_SERVICE_SID");
        assert!(err.to_string().contains("not both"), "{err}");
        let err = config(&[("BOOKINGS_TWILIO_MESSAGING_SERVICE_SID", "AC00")]).unwrap_err();
        assert_eq!(err.var(), "BOOKINGS_TWILIO_MESSAGING_SERVICE_SID");
        // Outside sandbox mode a Messaging Service is a sender: no number is missing.
        let mut vars = every_secret_but("BOOKINGS_TWILIO_FROM");
        vars.push(SERVICE);
        let config = production(&vars).unwrap();
        assert_eq!(
            config.twilio.sender,
            TwilioSender::MessagingService(SERVICE.1.into())
        );
        assert_eq!(config.twilio.base_url.as_str(), "https://api.twilio.com/");
        assert_eq!(config.twilio.account_sid, REAL_ACCOUNT_SID);
    }

    #[test]
    fn a_malformed_account_sid_is_refused_by_name() {
        for bad in ["real-value", "AC123", "MG00112233445566778899aabbccddeeff"] {
            let err = config(&[("BOOKINGS_TWILIO_ACCOUNT_SID", bad)]).unwrap_err();
            assert_eq!(err.var(), "BOOKINGS_TWILIO_ACCOUNT_SID", "{bad}");
            assert!(err.to_string().contains("32 hex digits"), "{err}");
        }
    }

    #[test]
    fn the_status_callback_is_an_optional_absolute_http_url() {
        const VAR: &str = "BOOKINGS_TWILIO_STATUS_CALLBACK_URL";
        let url = "https://shim.example.com/webhooks/twilio/status";
        let config = config(&[(VAR, url)]).unwrap();
        assert_eq!(
            config.twilio.status_callback_url.as_ref().map(Url::as_str),
            Some(url)
        );
        for bad in [
            "/webhooks/twilio/status",
            "ftp://shim.example.com/status",
            " ",
        ] {
            let err = super::tests::config(&[(VAR, bad)]).unwrap_err();
            assert_eq!(err.var(), VAR, "{bad:?}: {err}");
        }
    }

    #[test]
    fn for_sandbox_is_sandbox_mode() {
        let config = ProvidersConfig::for_sandbox("http://sb:2").unwrap();
        assert_eq!(config.hubspot.base_url.as_str(), "http://sb:2/hubspot");
        assert_eq!(
            config.hubspot.token.expose(),
            booking_sandbox::defaults::HUBSPOT_TOKEN
        );
    }

    #[test]
    fn outside_sandbox_mode_every_missing_secret_is_named_at_once() {
        let err = production(&[]).unwrap_err();
        let ConfigError::Missing { vars } = &err else {
            panic!("expected Missing, got {err}");
        };
        assert_eq!(vars, &required_names());
        assert_eq!(err.var(), "BOOKINGS_SENDGRID_API_KEY");
        let message = err.to_string();
        for var in required_names() {
            assert!(message.contains(var), "{message}");
        }
        assert!(message.contains("BOOKINGS_SANDBOX=1"), "{message}");
        // A sandbox URL alone does not make the sandbox's credentials acceptable.
        let err = production(&[("BOOKINGS_SANDBOX_URL", "http://127.0.0.1:8089")]).unwrap_err();
        assert!(matches!(err, ConfigError::Missing { .. }), "{err}");
    }

    #[test]
    fn outside_sandbox_mode_each_secret_is_required_by_name() {
        for (var, value) in REQUIRED {
            let err = production(&every_secret_but(var)).unwrap_err();
            assert!(
                matches!(&err, ConfigError::Missing { vars } if vars == &[var]),
                "{var}: {err}"
            );
            assert!(err.to_string().starts_with(var), "{err}");
            if PLAIN.contains(&var) {
                continue;
            }
            // Given as a file instead, it is enough.
            let dir = std::env::temp_dir()
                .join(format!("bookings-required-{}-{var}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join("secret");
            std::fs::write(&file, format!("{value}\n")).unwrap();
            let file_var = format!("{var}_FILE");
            let mut vars = every_secret_but(var);
            vars.push((&file_var, file.to_str().unwrap()));
            production(&vars).unwrap();
            std::fs::remove_dir_all(dir).unwrap();
        }
    }

    #[test]
    fn outside_sandbox_mode_urls_default_to_the_real_providers() {
        let mut vars = every_secret_but("");
        // Ignored outside sandbox mode: real secrets never go to a sandbox by default.
        vars.push(("BOOKINGS_SANDBOX_URL", "http://sb:1"));
        let config = production(&vars).unwrap();
        assert_eq!(
            config.sendgrid.base_url.as_str(),
            "https://api.sendgrid.com/"
        );
        assert_eq!(
            config.google_calendar.base_url.as_str(),
            "https://www.googleapis.com/calendar/v3"
        );
        assert_eq!(
            config.google_oauth.as_ref().unwrap().token_url.as_str(),
            "https://oauth2.googleapis.com/token"
        );
        assert_eq!(config.hubspot.base_url.as_str(), "https://api.hubapi.com/");
        assert_eq!(
            config.calendly.base_url.as_str(),
            "https://api.calendly.com/"
        );
        assert_eq!(config.sendgrid.api_key.expose(), "real-value");
        assert_eq!(
            config.google_oauth.as_ref().unwrap().client_id,
            "real-value"
        );
        // An explicit URL still wins.
        vars.push(("BOOKINGS_HUBSPOT_URL", "https://hubspot.internal/"));
        let config = production(&vars).unwrap();
        assert_eq!(
            config.hubspot.base_url.as_str(),
            "https://hubspot.internal/"
        );
    }

    #[test]
    fn the_sandbox_flag_is_1_or_true_and_anything_else_set_is_an_error() {
        for on in ["1", "true", "TRUE", " true "] {
            assert_eq!(
                Mode::from_lookup(&|_| Some(on.to_owned())).unwrap(),
                Mode::Sandbox,
                "{on:?}"
            );
        }
        for off in ["0", "false", ""] {
            assert_eq!(
                Mode::from_lookup(&|_| Some(off.to_owned())).unwrap(),
                Mode::Production,
                "{off:?}"
            );
        }
        assert_eq!(Mode::from_lookup(&|_| None).unwrap(), Mode::Production);
        for bad in ["yes", "2", "ture", "sandbox"] {
            let err = production(&[(SANDBOX_MODE_VAR, bad)]).unwrap_err();
            assert_eq!(err.var(), SANDBOX_MODE_VAR, "{bad:?}");
            assert!(err.to_string().starts_with("BOOKINGS_SANDBOX is malformed"));
        }
    }

    #[test]
    fn calendly_alone_reads_like_the_worker() {
        let err = CalendlyConfig::from_lookup(|_| None).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Missing { vars } if vars == &["BOOKINGS_CALENDLY_TOKEN"]),
            "{err}"
        );
        let sandbox = CalendlyConfig::from_lookup(|name| {
            (name == SANDBOX_MODE_VAR).then(|| "true".to_owned())
        })
        .unwrap();
        assert_eq!(sandbox.base_url.as_str(), "http://127.0.0.1:8089/calendly");
    }

    #[test]
    fn agents_can_have_their_own_calendars_on_either_provider() {
        let config = config(&[
            (
                "BOOKINGS_AGENT_CALENDARS",
                "ann=google:ann@x.test, bob=microsoft:bob@contoso.test",
            ),
            ("BOOKINGS_DEFAULT_CALENDAR", "google:team@x.test"),
        ])
        .unwrap();
        let calendars = &config.calendars;
        assert_eq!(
            calendars.calendar_for(Some("bob")),
            &CalendarRef::Microsoft("bob@contoso.test".into())
        );
        assert_eq!(
            calendars.calendar_for(Some("cy")),
            &CalendarRef::Google("team@x.test".into())
        );
        assert_eq!(
            calendars.agent_wire_ids()["bob"],
            "microsoft:bob@contoso.test"
        );
        assert_eq!(calendars.agent_wire_ids()["ann"], "ann@x.test");
        let microsoft = config.microsoft_identity.as_ref().unwrap();
        assert_eq!(
            microsoft.token_url().as_str(),
            "http://127.0.0.1:8089/microsoft/login/sandbox-tenant/oauth2/v2.0/token"
        );
        assert!(config.google_oauth.is_some());
        let err = config_err(&[("BOOKINGS_AGENT_CALENDARS", "ann")]);
        assert!(
            err.to_string()
                .starts_with("BOOKINGS_AGENT_CALENDARS is malformed")
        );
    }

    #[test]
    fn a_bad_calendar_entry_is_refused_naming_the_entry() {
        let err = config_err(&[("BOOKINGS_AGENT_CALENDARS", "ann=outlook:ann@x.test")]);
        assert_eq!(err.var(), "BOOKINGS_AGENT_CALENDARS");
        let text = err.to_string();
        assert!(text.contains("\"ann=outlook:ann@x.test\""), "{text}");
        assert!(text.contains("unknown calendar provider"), "{text}");
        let err = config_err(&[("BOOKINGS_DEFAULT_CALENDAR", "primary")]);
        assert!(err.to_string().contains("names no provider"), "{err}");
        let err = config_err(&[("BOOKINGS_GOOGLE_AGENT_CALENDARS", "ann=a@x.test")]);
        assert!(
            err.to_string().contains("BOOKINGS_AGENT_CALENDARS"),
            "{err}"
        );
    }

    #[test]
    fn only_the_providers_in_use_need_credentials() {
        let microsoft_only = [
            ("BOOKINGS_DEFAULT_CALENDAR", "microsoft:desk@contoso.test"),
            ("BOOKINGS_SENDGRID_API_KEY", "k"),
            ("BOOKINGS_HUBSPOT_TOKEN", "k"),
            ("BOOKINGS_CALENDLY_TOKEN", "k"),
            ("BOOKINGS_TWILIO_ACCOUNT_SID", REAL_ACCOUNT_SID),
            ("BOOKINGS_TWILIO_AUTH_TOKEN", "k"),
            ("BOOKINGS_TWILIO_FROM", "+14155550132"),
        ];
        let ConfigError::Missing { vars } = production(&microsoft_only).unwrap_err() else {
            panic!("expected the Microsoft credentials to be missing");
        };
        assert_eq!(
            vars,
            [
                "BOOKINGS_MICROSOFT_TENANT_ID",
                "BOOKINGS_MICROSOFT_CLIENT_ID",
                "BOOKINGS_MICROSOFT_CLIENT_SECRET"
            ]
        );
        let mut vars = microsoft_only.to_vec();
        vars.extend([
            ("BOOKINGS_MICROSOFT_TENANT_ID", "t"),
            ("BOOKINGS_MICROSOFT_CLIENT_ID", "c"),
            ("BOOKINGS_MICROSOFT_CLIENT_SECRET", "s"),
        ]);
        let config = production(&vars).unwrap();
        assert!(
            config.google_oauth.is_none(),
            "no Google credentials needed"
        );
        assert_eq!(
            config.microsoft_graph.base_url.as_str(),
            "https://graph.microsoft.com/v1.0"
        );
        assert_eq!(
            config.microsoft_identity.unwrap().token_url().as_str(),
            "https://login.microsoftonline.com/t/oauth2/v2.0/token"
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
        let from_file =
            config(&[("BOOKINGS_SENDGRID_API_KEY_FILE", file.to_str().unwrap())]).unwrap();
        assert_eq!(from_file.sendgrid.api_key.expose(), "SG.from-file");
        std::fs::write(&file, "\n").unwrap();
        let err =
            config(&[("BOOKINGS_SENDGRID_API_KEY_FILE", file.to_str().unwrap())]).unwrap_err();
        assert!(matches!(err, ConfigError::EmptySecretFile { .. }), "{err}");
        assert_eq!(err.var(), "BOOKINGS_SENDGRID_API_KEY");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_secret_file_is_an_error_not_a_default() {
        let err = config(&[("BOOKINGS_SENDGRID_API_KEY_FILE", "/nonexistent/key")]).unwrap_err();
        assert!(matches!(err, ConfigError::UnreadableSecretFile { .. }));
        assert!(
            err.to_string()
                .starts_with("BOOKINGS_SENDGRID_API_KEY_FILE points at /nonexistent/key")
        );
    }

    #[test]
    fn a_blank_secret_is_an_error_not_a_default() {
        let err = config(&[("BOOKINGS_HUBSPOT_TOKEN", " ")]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Empty {
                var: "BOOKINGS_HUBSPOT_TOKEN"
            }
        ));
    }
}
