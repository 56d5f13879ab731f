//! Authentication of incoming webhooks: Calendly's signature header, Standard Webhooks
//! signatures, and bearer tokens. Every comparison of secret-derived bytes is constant-time.
//!
//! The reason a check failed is returned as a [`SignatureError`] for the log; the HTTP answer
//! never carries it (a caller probing the endpoint learns nothing about which part was wrong).

use std::time::Duration;

use booking_activities::secret::Secret;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Why a signature or token was refused. All fatal for the request (401); the sender must
/// sign correctly, retrying the same bytes cannot help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is missing")]
    Missing,
    #[error("the signature header is malformed: {0}")]
    Malformed(&'static str),
    #[error("the signature timestamp is {age_secs}s away from now (tolerance {tolerance_secs}s)")]
    Stale { age_secs: i64, tolerance_secs: u64 },
    #[error("no signature matches any active signing key")]
    Mismatch,
    #[error("no signing key or token is configured for this endpoint")]
    NotConfigured,
}

/// A parsed `Calendly-Webhook-Signature` header: `t=<unix seconds>,v1=<hex>[,v1=<hex>...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendlySignature {
    pub timestamp: i64,
    /// Every `v1` value (Calendly may send several while it rotates its own keys).
    pub signatures: Vec<Vec<u8>>,
}

impl CalendlySignature {
    /// Parses the header; unknown keys are ignored (room for a future `v2`).
    pub fn parse(header: &str) -> Result<Self, SignatureError> {
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for part in header.split(',') {
            let (key, value) = part
                .trim()
                .split_once('=')
                .ok_or(SignatureError::Malformed("a part has no '='"))?;
            match key.trim() {
                "t" => {
                    if timestamp.is_some() {
                        return Err(SignatureError::Malformed("more than one t"));
                    }
                    let value = value.trim();
                    if value.is_empty()
                        || value.len() > 12
                        || !value.bytes().all(|b| b.is_ascii_digit())
                    {
                        return Err(SignatureError::Malformed("t is not a unix timestamp"));
                    }
                    timestamp = Some(
                        value
                            .parse::<i64>()
                            .map_err(|_| SignatureError::Malformed("t is not a unix timestamp"))?,
                    );
                }
                "v1" => {
                    let bytes = hex::decode(value.trim())
                        .map_err(|_| SignatureError::Malformed("v1 is not hex"))?;
                    if bytes.len() != 32 {
                        return Err(SignatureError::Malformed("v1 is not a SHA-256 HMAC"));
                    }
                    signatures.push(bytes);
                }
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(SignatureError::Malformed("no t"))?;
        if signatures.is_empty() {
            return Err(SignatureError::Malformed("no v1"));
        }
        Ok(Self {
            timestamp,
            signatures,
        })
    }
}

/// Checks `timestamp` is within `tolerance` of `now` (both ways: a clock running ahead is as
/// suspicious as a replay).
fn check_fresh(timestamp: i64, now: i64, tolerance: Duration) -> Result<(), SignatureError> {
    let age = now.saturating_sub(timestamp);
    if age.unsigned_abs() > tolerance.as_secs() {
        return Err(SignatureError::Stale {
            age_secs: age,
            tolerance_secs: tolerance.as_secs(),
        });
    }
    Ok(())
}

/// True when some `candidates` value is the HMAC-SHA256 of `parts` under some key.
fn any_matches(keys: &[Secret], parts: &[&[u8]], candidates: &[Vec<u8>]) -> bool {
    // Every key is tried against every candidate without stopping early, so timing does not
    // tell which key (if any) matched.
    let mut matched = subtle::Choice::from(0);
    for key in keys {
        let mut mac =
            HmacSha256::new_from_slice(key.expose().as_bytes()).expect("HMAC takes any key length");
        for part in parts {
            mac.update(part);
        }
        let expected = mac.finalize().into_bytes();
        for candidate in candidates {
            matched |= expected.as_slice().ct_eq(candidate.as_slice());
        }
    }
    matched.into()
}

/// Verifies Calendly's signature over `t + "." + body` against any of `keys` (two are active
/// while a signing key is rotated).
pub fn verify_calendly(
    header: Option<&str>,
    body: &[u8],
    keys: &[Secret],
    tolerance: Duration,
    now_unix: i64,
) -> Result<(), SignatureError> {
    if keys.is_empty() {
        return Err(SignatureError::NotConfigured);
    }
    let header = header.ok_or(SignatureError::Missing)?;
    let signature = CalendlySignature::parse(header)?;
    check_fresh(signature.timestamp, now_unix, tolerance)?;
    let timestamp = signature.timestamp.to_string();
    if any_matches(
        keys,
        &[timestamp.as_bytes(), b".", body],
        &signature.signatures,
    ) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The `v1` hex signature Calendly would send (tests and tools).
pub fn calendly_v1(key: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The three Standard Webhooks headers (<https://www.standardwebhooks.com>).
#[derive(Debug, Clone, Copy)]
pub struct StandardWebhookHeaders<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// A Standard Webhooks signing key: the bytes a `whsec_<base64>` secret decodes to, parsed once
/// when the configuration is read. Anything else is refused there rather than used as raw
/// bytes, so a secret pasted wrongly fails the start instead of every delivery.
#[derive(Clone, PartialEq, Eq)]
pub struct StandardWebhookKey(Vec<u8>);

impl StandardWebhookKey {
    /// Decodes `whsec_<base64>` (padded or not) to a non-empty key; the error says what is
    /// wrong without repeating the secret.
    pub fn parse(secret: &Secret) -> Result<Self, &'static str> {
        let b64 = secret
            .expose()
            .trim()
            .strip_prefix("whsec_")
            .ok_or("is not a Standard Webhooks secret: expected whsec_<base64>")?;
        let key = data_encoding::BASE64
            .decode(b64.as_bytes())
            .or_else(|_| data_encoding::BASE64_NOPAD.decode(b64.as_bytes()))
            .map_err(|_| "is not whsec_<base64>: the part after whsec_ is not base64")?;
        if key.is_empty() {
            return Err("is whsec_ with an empty key");
        }
        Ok(Self(key))
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length")
    }
}

impl std::fmt::Debug for StandardWebhookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StandardWebhookKey(***)")
    }
}

/// Verifies `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` (several
/// space-separated signatures allowed) against any of `keys` (two while the secret rotates).
pub fn verify_standard_webhook(
    headers: StandardWebhookHeaders<'_>,
    body: &[u8],
    keys: &[StandardWebhookKey],
    tolerance: Duration,
    now_unix: i64,
) -> Result<(), SignatureError> {
    if keys.is_empty() {
        return Err(SignatureError::NotConfigured);
    }
    let id = headers.id.ok_or(SignatureError::Missing)?;
    let timestamp = headers.timestamp.ok_or(SignatureError::Missing)?;
    let signature = headers.signature.ok_or(SignatureError::Missing)?;
    if id.is_empty() || id.len() > 256 {
        return Err(SignatureError::Malformed("webhook-id"));
    }
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Malformed("webhook-timestamp is not a unix timestamp"))?;
    check_fresh(ts, now_unix, tolerance)?;
    let candidates: Vec<Vec<u8>> = signature
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|b64| data_encoding::BASE64.decode(b64.as_bytes()).ok())
        .collect();
    if candidates.is_empty() {
        return Err(SignatureError::Malformed("no v1 signature"));
    }
    // As in `any_matches`: every key against every candidate, no early exit.
    let mut matched = subtle::Choice::from(0);
    for key in keys {
        let mut mac = key.mac();
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.trim().as_bytes());
        mac.update(b".");
        mac.update(body);
        let expected = mac.finalize().into_bytes();
        for candidate in &candidates {
            matched |= expected.as_slice().ct_eq(candidate.as_slice());
        }
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The Standard Webhooks signature header value for a body, signed as a sender holding the
/// `whsec_<base64>` `secret` would (tests and tools).
///
/// # Panics
///
/// When `secret` is not a valid `whsec_<base64>` secret.
pub fn standard_webhook_signature(
    secret: &Secret,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    let key = StandardWebhookKey::parse(secret)
        .unwrap_or_else(|reason| panic!("the signing secret {reason}"));
    let mut mac = key.mac();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!(
        "v1,{}",
        data_encoding::BASE64.encode(&mac.finalize().into_bytes())
    )
}

/// Checks an `Authorization: Bearer <token>` header against `expected`, in constant time.
pub fn verify_bearer(
    header: Option<&str>,
    expected: Option<&Secret>,
) -> Result<(), SignatureError> {
    let expected = expected.ok_or(SignatureError::NotConfigured)?;
    let header = header.ok_or(SignatureError::Missing)?;
    let token = header
        .strip_prefix("Bearer ")
        .ok_or(SignatureError::Malformed("not a bearer token"))?;
    // Comparing fixed-length digests hides the expected token's length too.
    let digest = |v: &[u8]| {
        use sha2::Digest;
        Sha256::digest(v)
    };
    if bool::from(
        digest(token.trim().as_bytes())
            .as_slice()
            .ct_eq(digest(expected.expose().as_bytes()).as_slice()),
    ) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests;
