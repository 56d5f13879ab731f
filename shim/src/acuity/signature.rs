//! `X-Acuity-Signature`: the base64 HMAC-SHA256 of the raw body, keyed with the account's API
//! key. Compared in constant time; nothing unsigned reaches Temporal.

use booking_activities::secret::Secret;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub use crate::signature::SignatureError;

pub const SIGNATURE_HEADER: &str = "x-acuity-signature";

pub fn verify(api_key: &Secret, header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
    let header = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(SignatureError::Missing)?;
    let claimed = data_encoding::BASE64
        .decode(header.as_bytes())
        .map_err(|_| SignatureError::Malformed("not base64"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(api_key.expose().as_bytes())
        .expect("HMAC takes any key length");
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&claimed)
        .map_err(|_| SignatureError::Mismatch)
}

/// The header value Acuity would send for `body` (tests and the sandbox sign the same way).
pub fn sign(api_key: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(api_key.as_bytes()).expect("any key length");
    mac.update(body);
    data_encoding::BASE64.encode(&mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"action=appointment.scheduled&id=1001&calendarID=4&appointmentTypeID=7";

    #[test]
    fn a_signature_of_the_body_with_the_key_passes() {
        let key = Secret::new("acuity-key");
        assert_eq!(verify(&key, Some(&sign("acuity-key", BODY)), BODY), Ok(()));
    }

    #[test]
    fn anything_else_is_refused_saying_why() {
        let key = Secret::new("acuity-key");
        assert_eq!(verify(&key, None, BODY), Err(SignatureError::Missing));
        assert_eq!(verify(&key, Some("  "), BODY), Err(SignatureError::Missing));
        assert_eq!(
            verify(&key, Some("not base64!"), BODY),
            Err(SignatureError::Malformed("not base64"))
        );
        assert_eq!(
            verify(&key, Some(&sign("other-key", BODY)), BODY),
            Err(SignatureError::Mismatch)
        );
        let tampered = b"action=appointment.canceled&id=1001&calendarID=4&appointmentTypeID=7";
        assert_eq!(
            verify(&key, Some(&sign("acuity-key", BODY)), tampered),
            Err(SignatureError::Mismatch)
        );
    }
}
