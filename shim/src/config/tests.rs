use super::*;

/// `pairs` in sandbox mode.
fn with(pairs: &[(&str, &str)]) -> Result<ShimConfig, ConfigError> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ShimConfig::for_sandbox(move |name| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
}

/// Exactly `pairs`: sandbox mode only if they say so.
fn production(pairs: &[(&str, &str)]) -> Result<ShimConfig, ConfigError> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ShimConfig::from_lookup(move |name| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
}

const FORM_WHSEC: &str = "whsec_Zm9ybS1zaWduaW5nLWtleQ==";

/// Every secret a production shim needs, except `left_out`.
fn all_secrets_but(left_out: &str) -> Vec<(&'static str, &'static str)> {
    [
        ("SHIM_CALENDLY_SIGNING_KEY", "calendly-signing-key"),
        ("SHIM_LINK_SECRET", "link-secret"),
        ("SHIM_OPERATOR_TOKEN", "operator-token"),
        ("SHIM_FORM_TOKEN", "form-token"),
        ("BOOKINGS_CALENDLY_TOKEN", "calendly-token"),
        ("SHIM_TWILIO_AUTH_TOKEN", "twilio-auth-token"),
        ("SHIM_PUBLIC_URL", "https://hooks.example.com/"),
    ]
    .into_iter()
    .filter(|(var, _)| *var != left_out)
    .collect()
}

#[test]
fn outside_sandbox_mode_no_signing_key_means_no_start() {
    let error = production(&all_secrets_but("SHIM_CALENDLY_SIGNING_KEY")).unwrap_err();
    assert_eq!(error.var, "SHIM_CALENDLY_SIGNING_KEY");
    assert!(error.to_string().contains("BOOKINGS_SANDBOX=1"), "{error}");
    // Nothing at all: every missing secret is named in the one error.
    let error = production(&[]).unwrap_err();
    assert_eq!(error.var, "SHIM_CALENDLY_SIGNING_KEY");
    for var in [
        "SHIM_CALENDLY_SIGNING_KEY",
        "SHIM_LINK_SECRET",
        "SHIM_OPERATOR_TOKEN",
        "SHIM_FORM_TOKEN (or SHIM_FORM_WEBHOOK_SECRET)",
        "SHIM_TWILIO_AUTH_TOKEN",
        "SHIM_PUBLIC_URL",
        "BOOKINGS_CALENDLY_TOKEN",
    ] {
        assert!(error.message.contains(var), "{var}: {error}");
    }
    // `0`/`false` is production too, and a value that is neither is refused.
    let mut vars = all_secrets_but("SHIM_LINK_SECRET");
    vars.push(("BOOKINGS_SANDBOX", "false"));
    assert_eq!(production(&vars).unwrap_err().var, "SHIM_LINK_SECRET");
    assert_eq!(
        production(&[("BOOKINGS_SANDBOX", "yes")]).unwrap_err().var,
        "BOOKINGS_SANDBOX"
    );
}

#[test]
fn outside_sandbox_mode_each_required_secret_is_named() {
    for var in [
        "SHIM_CALENDLY_SIGNING_KEY",
        "SHIM_LINK_SECRET",
        "SHIM_OPERATOR_TOKEN",
        "SHIM_FORM_TOKEN",
        "SHIM_TWILIO_AUTH_TOKEN",
        "SHIM_PUBLIC_URL",
        "BOOKINGS_CALENDLY_TOKEN",
    ] {
        let error = production(&all_secrets_but(var)).unwrap_err();
        assert_eq!(error.var, var, "{error}");
        assert!(error.to_string().starts_with(var), "{error}");
    }
    // Either form credential will do.
    let mut vars = all_secrets_but("SHIM_FORM_TOKEN");
    vars.push(("SHIM_FORM_WEBHOOK_SECRET", FORM_WHSEC));
    let config = production(&vars).unwrap();
    assert!(config.form_token.is_none());
    assert_eq!(config.form_webhook_keys.len(), 1);
    // All set: the given values, nothing from the sandbox.
    let config = production(&all_secrets_but("")).unwrap();
    assert_eq!(
        config.calendly_signing_keys[0].expose(),
        "calendly-signing-key"
    );
    assert_eq!(config.link_secret.expose(), "link-secret");
    assert_eq!(config.calendly.token.expose(), "calendly-token");
    assert_eq!(config.twilio_auth_token.expose(), "twilio-auth-token");
    assert_eq!(
        config.public_url.as_ref().map(|u| u.as_str()),
        Some("https://hooks.example.com/")
    );
    assert_eq!(
        config.calendly.base_url.as_str(),
        "https://api.calendly.com/"
    );
}

#[test]
fn every_secret_can_come_from_a_file() {
    let dir = std::env::temp_dir().join(format!("shim-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for (var, value) in all_secrets_but("")
        .into_iter()
        .chain([("SHIM_FORM_WEBHOOK_SECRET", FORM_WHSEC)])
    {
        // Not a secret: no `_FILE` rule.
        if var == "SHIM_PUBLIC_URL" {
            files.push((var.to_owned(), value.to_owned()));
            continue;
        }
        let path = dir.join(var);
        std::fs::write(&path, format!("{value}\n")).unwrap();
        files.push((format!("{var}_FILE"), path.to_str().unwrap().to_owned()));
    }
    let pairs: Vec<(&str, &str)> = files
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let config = production(&pairs).unwrap();
    assert_eq!(
        config.calendly_signing_keys[0].expose(),
        "calendly-signing-key"
    );
    assert_eq!(config.operator_token.unwrap().expose(), "operator-token");
    assert_eq!(config.form_webhook_keys.len(), 1);
    let error = production(&[(
        "SHIM_LINK_SECRET_FILE",
        dir.join("nonexistent").to_str().unwrap(),
    )])
    .unwrap_err();
    assert_eq!(error.var, "SHIM_LINK_SECRET");
    assert!(error.message.contains("SHIM_LINK_SECRET_FILE"), "{error}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_form_webhook_secret_that_is_not_whsec_base64_is_refused_at_start() {
    for bad in ["raw-bytes-key", "whsec_", "whsec_!!not base64!!"] {
        for config in [with(&[("SHIM_FORM_WEBHOOK_SECRET", bad)]), {
            let mut vars = all_secrets_but("");
            vars.push(("SHIM_FORM_WEBHOOK_SECRET", bad));
            production(&vars)
        }] {
            let error = config.unwrap_err();
            assert_eq!(error.var, "SHIM_FORM_WEBHOOK_SECRET", "{bad}");
            assert!(!error.message.contains(bad) || bad == "whsec_", "{error}");
        }
    }
    let error = with(&[("SHIM_FORM_WEBHOOK_SECRET_PREVIOUS", "nope")]).unwrap_err();
    assert_eq!(error.var, "SHIM_FORM_WEBHOOK_SECRET_PREVIOUS");
    let error = with(&[("SHIM_FORM_WEBHOOK_SECRET_PREVIOUS", FORM_WHSEC)]).unwrap_err();
    assert_eq!(error.var, "SHIM_FORM_WEBHOOK_SECRET_PREVIOUS");
}

#[test]
fn the_previous_form_webhook_secret_verifies_during_rotation() {
    use crate::signature::{
        StandardWebhookHeaders, standard_webhook_signature, verify_standard_webhook,
    };
    let previous = "whsec_b2xkLWZvcm0ta2V5";
    let config = with(&[
        ("SHIM_FORM_WEBHOOK_SECRET", FORM_WHSEC),
        ("SHIM_FORM_WEBHOOK_SECRET_PREVIOUS", previous),
    ])
    .unwrap();
    assert_eq!(config.form_webhook_keys.len(), 2);
    let now = 1_800_000_000;
    let ts = now.to_string();
    for signer in [FORM_WHSEC, previous] {
        let signature = standard_webhook_signature(&Secret::new(signer), "msg_1", now, b"{}");
        let headers = StandardWebhookHeaders {
            id: Some("msg_1"),
            timestamp: Some(&ts),
            signature: Some(&signature),
        };
        assert_eq!(
            verify_standard_webhook(
                headers,
                b"{}",
                &config.form_webhook_keys,
                config.signature_tolerance,
                now
            ),
            Ok(()),
            "{signer}"
        );
    }
    assert!(!format!("{config:?}").contains("Zm9ybS"));
}

#[test]
fn sandbox_mode_keeps_the_local_defaults() {
    let config = with(&[]).unwrap();
    assert_eq!(
        config.calendly_signing_keys[0].expose(),
        "sandbox-calendly-signing-key"
    );
    assert_eq!(config.calendly.token.expose(), "sandbox-calendly-token");
    assert_eq!(
        config.calendly.base_url.as_str(),
        "http://127.0.0.1:8089/calendly"
    );
    assert!(config.operator_token.is_none() && config.form_webhook_keys.is_empty());
    assert_eq!(
        production(&[("BOOKINGS_SANDBOX", "true")])
            .unwrap()
            .calendly_signing_keys
            .len(),
        1
    );
}

#[test]
fn defaults_need_no_environment() {
    let config = with(&[]).unwrap();
    assert_eq!(config.port, 8090);
    assert_eq!(config.body_limit, 256 * 1024);
    assert_eq!(config.body_read_timeout, Duration::from_secs(10));
    assert_eq!(config.signature_tolerance, Duration::from_secs(180));
    assert_eq!(config.calendly_signing_keys.len(), 1);
    assert!(config.form_token.is_none());
}

#[test]
fn errors_name_the_variable() {
    assert_eq!(
        with(&[("SHIM_PORT", "99999")]).unwrap_err().var,
        "SHIM_PORT"
    );
    assert_eq!(
        with(&[("SHIM_SIGNATURE_TOLERANCE_SECS", "3m")])
            .unwrap_err()
            .var,
        "SHIM_SIGNATURE_TOLERANCE_SECS"
    );
    assert_eq!(
        with(&[("SHIM_QUESTIONNAIRE_URL", "not a url")])
            .unwrap_err()
            .var,
        "SHIM_QUESTIONNAIRE_URL"
    );
    assert_eq!(
        with(&[("SHIM_BODY_READ_TIMEOUT_MS", "0")]).unwrap_err().var,
        "SHIM_BODY_READ_TIMEOUT_MS"
    );
}

#[test]
fn serving_limits_default_and_refuse_zero_or_garbage() {
    let config = with(&[]).unwrap();
    assert_eq!(config.availability_query_timeout, Duration::from_secs(2));
    assert_eq!(config.availability_cache_entries, 10_000);
    assert_eq!(config.header_read_timeout, Duration::from_secs(5));
    assert_eq!(config.max_connections, 1024);
    assert_eq!(config.max_in_flight_requests, 512);
    let set = with(&[
        ("SHIM_AVAILABILITY_QUERY_TIMEOUT_MS", "250"),
        ("SHIM_AVAILABILITY_CACHE_ENTRIES", "64"),
        ("SHIM_HEADER_READ_TIMEOUT_MS", "500"),
        ("SHIM_MAX_CONNECTIONS", "8"),
        ("SHIM_MAX_IN_FLIGHT_REQUESTS", "4"),
    ])
    .unwrap();
    assert_eq!(set.availability_query_timeout, Duration::from_millis(250));
    assert_eq!(set.availability_cache_entries, 64);
    assert_eq!(set.header_read_timeout, Duration::from_millis(500));
    assert_eq!(set.max_connections, 8);
    assert_eq!(set.max_in_flight_requests, 4);
    for var in [
        "SHIM_AVAILABILITY_QUERY_TIMEOUT_MS",
        "SHIM_AVAILABILITY_CACHE_ENTRIES",
        "SHIM_HEADER_READ_TIMEOUT_MS",
        "SHIM_MAX_CONNECTIONS",
        "SHIM_MAX_IN_FLIGHT_REQUESTS",
    ] {
        for bad in ["0", "-1", "lots", "99999999999"] {
            let error = with(&[(var, bad)]).unwrap_err();
            assert_eq!(error.var, var, "{var}={bad}");
        }
    }
}

#[test]
fn two_signing_keys_during_rotation_and_secrets_never_print() {
    let config = with(&[
        ("SHIM_CALENDLY_SIGNING_KEY", "new-key"),
        ("SHIM_CALENDLY_SIGNING_KEY_PREVIOUS", "old-key"),
        ("SHIM_FORM_TOKEN", "form-token"),
    ])
    .unwrap();
    assert_eq!(config.calendly_signing_keys.len(), 2);
    let printed = format!("{config:?}");
    assert!(!printed.contains("new-key") && !printed.contains("form-token"));
}

#[test]
fn a_public_url_must_be_absolute_http() {
    for bad in ["hooks.example.com", "ftp://hooks.example.com", "/webhooks"] {
        let mut vars = all_secrets_but("SHIM_PUBLIC_URL");
        vars.push(("SHIM_PUBLIC_URL", bad));
        assert_eq!(
            production(&vars).unwrap_err().var,
            "SHIM_PUBLIC_URL",
            "{bad}"
        );
    }
}

#[test]
fn the_sandbox_twilio_token_is_the_sandboxs() {
    let config = ShimConfig::for_sandbox(|_| None).unwrap();
    assert_eq!(
        config.twilio_auth_token.expose(),
        booking_sandbox::defaults::TWILIO_AUTH_TOKEN
    );
    assert!(config.public_url.is_none());
}

#[test]
fn in_sandbox_mode_a_twilio_token_and_public_url_set_are_used() {
    let config = with(&[
        ("SHIM_TWILIO_AUTH_TOKEN", "own-twilio-token"),
        ("SHIM_PUBLIC_URL", "https://hooks.example.com/shim/"),
    ])
    .unwrap();
    assert_eq!(config.twilio_auth_token.expose(), "own-twilio-token");
    // A path prefix is kept (a proxy that strips it still shows Twilio's URL), without the
    // trailing slash the request's path brings.
    assert_eq!(
        config.public_url.as_ref().map(Url::as_str),
        Some("https://hooks.example.com/shim")
    );
    assert!(!format!("{config:?}").contains("own-twilio-token"));
    assert_eq!(
        with(&[("SHIM_PUBLIC_URL", "not a url")]).unwrap_err().var,
        "SHIM_PUBLIC_URL"
    );
}
