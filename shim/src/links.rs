//! Signed links: `/q/{token}` (questionnaire), `/b/{token}/confirm` and `/b/{token}/cancel`.
//!
//! A token is `base64url(claims JSON) "." base64url(HMAC-SHA256(secret, claims part))`, the
//! claims being `{booking_id, purpose, expiry}`. It is unguessable without the secret (256-bit
//! MAC), tamper-evident (any changed byte breaks the MAC), bound to one purpose (a
//! questionnaire link cannot cancel) and expires. No state is kept: the booking workflow
//! de-duplicates the resulting events.

use booking_activities::secret::Secret;
use booking_proto::domain::BookingId;
use data_encoding::BASE64URL_NOPAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Questionnaire,
    Confirm,
    Cancel,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Claims {
    booking_id: String,
    purpose: Purpose,
    /// Unix seconds after which the link is dead.
    expiry: i64,
}

/// Why a token was refused. Fatal: the link is wrong or old; answered 404 with a page that
/// says the link is invalid or expired (not which).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's signature does not match")]
    BadSignature,
    #[error("the token is for another purpose")]
    WrongPurpose,
    #[error("the token expired")]
    Expired,
}

fn mac(secret: &Secret, data: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC takes any key length");
    mac.update(b"booking-link.v1.");
    mac.update(data);
    mac
}

/// A token for `booking`, valid for `purpose` until `expiry` (unix seconds).
pub fn sign(secret: &Secret, booking: &BookingId, purpose: Purpose, expiry: i64) -> String {
    let claims = Claims {
        booking_id: booking.to_string(),
        purpose,
        expiry,
    };
    let json = serde_json::to_vec(&claims).expect("claims serialise");
    let body = BASE64URL_NOPAD.encode(&json);
    let tag = mac(secret, body.as_bytes()).finalize().into_bytes();
    format!("{body}.{}", BASE64URL_NOPAD.encode(&tag))
}

/// The booking a token names, if it is authentic, for `purpose` and not expired at `now`.
pub fn verify(
    secret: &Secret,
    token: &str,
    purpose: Purpose,
    now_unix: i64,
) -> Result<BookingId, TokenError> {
    if token.len() > 1024 {
        return Err(TokenError::Malformed);
    }
    let (body, tag) = token.split_once('.').ok_or(TokenError::Malformed)?;
    let tag = BASE64URL_NOPAD
        .decode(tag.as_bytes())
        .map_err(|_| TokenError::Malformed)?;
    // verify_slice compares in constant time.
    mac(secret, body.as_bytes())
        .verify_slice(&tag)
        .map_err(|_| TokenError::BadSignature)?;
    let json = BASE64URL_NOPAD
        .decode(body.as_bytes())
        .map_err(|_| TokenError::Malformed)?;
    let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
    if claims.purpose != purpose {
        return Err(TokenError::WrongPurpose);
    }
    if now_unix > claims.expiry {
        return Err(TokenError::Expired);
    }
    BookingId::parse(&claims.booking_id).map_err(|_| TokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new("link-secret")
    }

    fn booking() -> BookingId {
        BookingId::parse("bk-1").unwrap()
    }

    #[test]
    fn a_signed_token_verifies_for_its_purpose_until_expiry() {
        let token = sign(&secret(), &booking(), Purpose::Confirm, 1000);
        assert_eq!(
            verify(&secret(), &token, Purpose::Confirm, 1000),
            Ok(booking())
        );
        assert_eq!(
            verify(&secret(), &token, Purpose::Confirm, 1001),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify(&secret(), &token, Purpose::Cancel, 10),
            Err(TokenError::WrongPurpose)
        );
    }

    #[test]
    fn tampering_or_another_secret_is_detected() {
        let token = sign(&secret(), &booking(), Purpose::Cancel, 1000);
        let other = sign(
            &secret(),
            &BookingId::parse("bk-2").unwrap(),
            Purpose::Cancel,
            1000,
        );
        let (body, _) = other.split_once('.').unwrap();
        let (_, tag) = token.split_once('.').unwrap();
        assert_eq!(
            verify(&secret(), &format!("{body}.{tag}"), Purpose::Cancel, 0),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            verify(&Secret::new("other"), &token, Purpose::Cancel, 0),
            Err(TokenError::BadSignature)
        );
        for junk in ["", ".", "a.b", "!!!.???", &"x".repeat(5000)] {
            assert!(verify(&secret(), junk, Purpose::Cancel, 0).is_err());
        }
    }
}
