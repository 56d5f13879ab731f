//! Twilio's webhook signature (`X-Twilio-Signature`): HMAC-SHA1, keyed with the account's auth
//! token, over the full URL Twilio requested (query string included) followed by every POST
//! parameter's name and value in name order, base64-encoded.
//!
//! It lives in the wire-contract crate because two sides speak it: the shim checks it on every
//! Twilio webhook and the sandbox's Twilio stand-in signs with it. Both are held to Twilio's own
//! published example below, which this code did not produce.

use hmac::{Hmac, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

fn mac(auth_token: &str, url: &str, params: &[(String, String)]) -> HmacSha1 {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // Twilio sorts by name; a repeated name keeps its values in sorted order too.
    sorted.sort();
    let mut mac = HmacSha1::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// The signature Twilio sends for a POST of `params` to `url`.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    data_encoding::BASE64.encode(&mac(auth_token, url, params).finalize().into_bytes())
}

/// Whether `signature` is Twilio's for this request, compared in constant time.
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let Ok(claimed) = data_encoding::BASE64.decode(signature.trim().as_bytes()) else {
        return false;
    };
    mac(auth_token, url, params).verify_slice(&claimed).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn documented(caller: &str) -> Vec<(String, String)> {
        [
            ("To", "+18005551212"),
            ("From", caller),
            ("Digits", "1234"),
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", caller),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// Twilio's security documentation example (token `12345`), in both of its published
    /// editions: the caller's number differs between them.
    #[test]
    fn twilios_published_examples_sign_as_documented() {
        assert_eq!(
            sign("12345", URL, &documented("+14158675309")),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert_eq!(
            sign("12345", URL, &documented("+14158675310")),
            "GvWf1cFY/Q7PnoempGyD5oXAezc="
        );
    }

    #[test]
    fn any_change_to_url_parameters_or_token_fails_verification() {
        let params = documented("+14158675309");
        let good = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
        assert!(verify("12345", URL, &params, good));
        assert!(!verify("12346", URL, &params, good));
        assert!(!verify(
            "12345",
            "https://mycompany.com/myapp.php?foo=1",
            &params,
            good
        ));
        let mut tampered = params.clone();
        tampered[2].1 = "9999".into();
        assert!(!verify("12345", URL, &tampered, good));
        assert!(!verify("12345", URL, &params, "not base64!"));
        assert!(!verify("12345", URL, &params, ""));
    }
}
