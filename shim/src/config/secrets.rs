//! The shim's secrets: read by the `<VAR>_FILE` rule, refused when missing outside sandbox
//! mode (every missing one named at once), and the sandbox's public values standing in
//! otherwise.

use booking_activities::{
    config::{self as providers, AcuityConfig, CalendlyConfig, Mode, SANDBOX_MODE_VAR},
    secret::Secret,
};

use super::ConfigError;
use crate::signature::StandardWebhookKey;

const SANDBOX_SIGNING_KEY: &str = "sandbox-calendly-signing-key";
/// `booking_sandbox::defaults::TWILIO_AUTH_TOKEN`, copied (a test holds them equal).
const SANDBOX_TWILIO_AUTH_TOKEN: &str = "5a4db0c11e47a0d1b0c2d3e4f5a6b7c8";

/// The shim's secrets, read by the worker's `<VAR>_FILE` rule ([`providers::read_secret`]).
pub(super) struct Secrets {
    pub(super) calendly_signing_keys: Vec<Secret>,
    pub(super) form_token: Option<Secret>,
    pub(super) form_webhook_keys: Vec<StandardWebhookKey>,
    pub(super) operator_token: Option<Secret>,
    pub(super) link_secret: Secret,
    pub(super) calendly: CalendlyConfig,
    pub(super) acuity: Option<AcuityConfig>,
    pub(super) twilio_auth_token: Secret,
}

impl Secrets {
    pub(super) fn read(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let sandbox = Mode::from_lookup(get)?.is_sandbox();
        let secret =
            |var: &'static str| providers::read_secret(get, var).map_err(ConfigError::from);
        let webhook_key = |var: &'static str| -> Result<Option<StandardWebhookKey>, ConfigError> {
            secret(var)?
                .map(|value| {
                    StandardWebhookKey::parse(&value).map_err(|reason| ConfigError {
                        var,
                        message: reason.to_owned(),
                    })
                })
                .transpose()
        };
        let signing_key = secret("SHIM_CALENDLY_SIGNING_KEY")?;
        let previous_signing_key = secret("SHIM_CALENDLY_SIGNING_KEY_PREVIOUS")?;
        let form_token = secret("SHIM_FORM_TOKEN")?;
        let form_webhook_key = webhook_key("SHIM_FORM_WEBHOOK_SECRET")?;
        let previous_form_webhook_key = webhook_key("SHIM_FORM_WEBHOOK_SECRET_PREVIOUS")?;
        if form_webhook_key.is_none() && previous_form_webhook_key.is_some() {
            return Err(ConfigError {
                var: "SHIM_FORM_WEBHOOK_SECRET_PREVIOUS",
                message: "is set without SHIM_FORM_WEBHOOK_SECRET (the current secret)".into(),
            });
        }
        let operator_token = secret("SHIM_OPERATOR_TOKEN")?;
        let link_secret = secret("SHIM_LINK_SECRET")?;
        let twilio_auth_token = secret("SHIM_TWILIO_AUTH_TOKEN")?;
        let public_url_set = get("SHIM_PUBLIC_URL").is_some();

        // (variable, how the error lists it): every missing one, so one failed start names all.
        let mut missing: Vec<(&'static str, &'static str)> = Vec::new();
        if !sandbox {
            let form_set = form_token.is_some() || form_webhook_key.is_some();
            for (var, set, label) in [
                (
                    "SHIM_CALENDLY_SIGNING_KEY",
                    signing_key.is_some(),
                    "SHIM_CALENDLY_SIGNING_KEY",
                ),
                (
                    "SHIM_LINK_SECRET",
                    link_secret.is_some(),
                    "SHIM_LINK_SECRET",
                ),
                (
                    "SHIM_OPERATOR_TOKEN",
                    operator_token.is_some(),
                    "SHIM_OPERATOR_TOKEN",
                ),
                (
                    "SHIM_FORM_TOKEN",
                    form_set,
                    "SHIM_FORM_TOKEN (or SHIM_FORM_WEBHOOK_SECRET)",
                ),
                (
                    "SHIM_TWILIO_AUTH_TOKEN",
                    twilio_auth_token.is_some(),
                    "SHIM_TWILIO_AUTH_TOKEN",
                ),
                ("SHIM_PUBLIC_URL", public_url_set, "SHIM_PUBLIC_URL"),
            ] {
                if !set {
                    missing.push((var, label));
                }
            }
        }
        let calendly = CalendlyConfig::from_lookup(get);
        if let Err(providers::ConfigError::Missing { vars }) = &calendly {
            missing.extend(vars.iter().map(|var| (*var, *var)));
        }
        let acuity = AcuityConfig::from_lookup(get);
        if let Err(providers::ConfigError::Missing { vars }) = &acuity {
            missing.extend(vars.iter().map(|var| (*var, *var)));
        }
        if let Some(&(var, _)) = missing.first() {
            let labels: Vec<&str> = missing.iter().map(|(_, label)| *label).collect();
            return Err(ConfigError {
                var,
                message: format!(
                    "not set; outside sandbox mode the shim needs each of {} (each also as \
                     <VAR>_FILE naming a file that holds it; {SANDBOX_MODE_VAR}=1 runs against \
                     the provider sandbox with its public credentials)",
                    labels.join(", ")
                ),
            });
        }
        let calendly = calendly?;
        let acuity = acuity?;
        // Past this point anything still unset is allowed because this is sandbox mode.
        let mut calendly_signing_keys =
            vec![signing_key.unwrap_or_else(|| Secret::new(SANDBOX_SIGNING_KEY))];
        calendly_signing_keys.extend(previous_signing_key);
        let link_secret = link_secret.unwrap_or_else(|| {
            tracing::warn!("SHIM_LINK_SECRET is not set: signed links will not survive a restart");
            Secret::new(format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            ))
        });
        Ok(Self {
            calendly_signing_keys,
            form_token,
            form_webhook_keys: form_webhook_key
                .into_iter()
                .chain(previous_form_webhook_key)
                .collect(),
            operator_token,
            link_secret,
            calendly,
            acuity,
            twilio_auth_token: twilio_auth_token
                .unwrap_or_else(|| Secret::new(SANDBOX_TWILIO_AUTH_TOKEN)),
        })
    }
}
