//! `X-Twilio-Signature`: which URL Twilio signed, and the check itself
//! ([`booking_proto::twilio_signature`], constant-time).
//!
//! Twilio signs the URL it requested, which the shim cannot see behind a proxy (TLS ended, a
//! different host and port): the base comes from `SHIM_PUBLIC_URL`, and only in sandbox mode,
//! when that is unset, from the request's `Host` header with `http://`. The path and the raw
//! query string are the request's own, byte for byte (re-encoding them would change what was
//! signed).
//!
//! Twilio has not always written a port the same way (`https://host` or `https://host:443`),
//! and its own request validators accept either: so does [`verify`], trying the base as
//! configured first and then with its port the other way round. Nothing else is lenient.

use axum::http::{HeaderMap, Uri, header};
use url::Url;

use super::form::TwilioForm;
use crate::{config::ShimConfig, signature::SignatureError};

/// The header Twilio signs every webhook with.
pub const SIGNATURE_HEADER: &str = "x-twilio-signature";

/// The URL Twilio requested, as it signed it: the public base, then path and query as sent.
pub fn signed_url(
    config: &ShimConfig,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<String, SignatureError> {
    let (base, _) = bases(config, headers)?;
    Ok(format!("{base}{}", path_and_query(uri)))
}

/// Checks `X-Twilio-Signature` for a POST of `form` to the URL Twilio called.
pub fn verify(
    config: &ShimConfig,
    headers: &HeaderMap,
    uri: &Uri,
    form: &TwilioForm,
) -> Result<(), SignatureError> {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
        .ok_or(SignatureError::Missing)?;
    let (base, other_port) = bases(config, headers)?;
    let token = config.twilio_auth_token.expose();
    let matches = |base: &str| {
        let url = format!("{base}{}", path_and_query(uri));
        booking_proto::twilio_signature::verify(token, &url, &form.0, signature)
    };
    if matches(&base) || other_port.as_deref().is_some_and(matches) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn path_and_query(uri: &Uri) -> &str {
    uri.path_and_query().map_or("/", |pq| pq.as_str())
}

/// The base URL (no trailing `/`) as configured, and the same with its port the other way
/// round (`:443` written out when absent, dropped when present), when it has one.
fn bases(
    config: &ShimConfig,
    headers: &HeaderMap,
) -> Result<(String, Option<String>), SignatureError> {
    let configured = match &config.public_url {
        Some(url) => url.as_str().trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|h| !h.trim().is_empty())
                .ok_or(SignatureError::Malformed(
                    "no Host header to rebuild the URL from",
                ))?;
            format!("http://{}", host.trim())
        }
    };
    let other_port = Url::parse(&configured)
        .ok()
        .and_then(|url| port_flipped(&url));
    Ok((configured, other_port))
}

fn port_flipped(url: &Url) -> Option<String> {
    let trimmed = |u: &str| u.trim_end_matches('/').to_owned();
    if url.port().is_some() {
        let mut without = url.clone();
        without.set_port(None).ok()?;
        return Some(trimmed(without.as_str()));
    }
    // `Url` never keeps a scheme's default port, so it is written in by hand.
    let port = url.port_or_known_default()?;
    let rest = &url[url::Position::BeforePath..];
    Some(format!(
        "{}:{port}{}",
        &url[..url::Position::AfterHost],
        trimmed(rest)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_is_tried_written_out_and_left_out() {
        let flip = |raw: &str| port_flipped(&Url::parse(raw).unwrap());
        assert_eq!(
            flip("https://hooks.example.com/").as_deref(),
            Some("https://hooks.example.com:443")
        );
        assert_eq!(
            flip("https://hooks.example.com:443/prefix").as_deref(),
            Some("https://hooks.example.com:443/prefix")
        );
        assert_eq!(
            flip("https://hooks.example.com:8443/prefix").as_deref(),
            Some("https://hooks.example.com/prefix")
        );
        assert_eq!(
            flip("http://127.0.0.1:8090").as_deref(),
            Some("http://127.0.0.1")
        );
    }
}
