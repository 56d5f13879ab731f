//! What the shim needs to read Twilio's webhooks: the form, the signature over the URL Twilio
//! called, and what a lead's reply asks for.

use axum::http::{HeaderMap, Uri, header};
use booking_proto::{domain::FieldError, twilio_signature};

use crate::{config::ShimConfig, signature::SignatureError};

/// The header Twilio signs every webhook with.
pub const SIGNATURE_HEADER: &str = "x-twilio-signature";

/// Empty TwiML: the reply is taken, and nothing is texted back (an automatic answer would be a
/// send outside the booking's idempotency).
pub const EMPTY_TWIML: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#;

/// A Twilio webhook's form parameters, in the order sent (a name may repeat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwilioForm(pub Vec<(String, String)>);

impl TwilioForm {
    pub fn parse(body: &[u8]) -> Self {
        Self(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter that must be present and not blank.
    pub fn required(&self, name: &str) -> Result<&str, FieldError> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| FieldError::new(name, "is required"))
    }
}

/// The URL Twilio requested, as it signed it: the configured public base (a proxy hides the
/// real one from the shim), else in sandbox mode `http://<Host>`, plus path and query as sent.
pub fn signed_url(
    config: &ShimConfig,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<String, SignatureError> {
    let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let base = match &config.public_url {
        Some(url) => url.as_str().trim_end_matches('/').to_owned(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .ok_or(SignatureError::Malformed(
                    "no Host header to rebuild the URL from",
                ))?;
            format!("http://{host}")
        }
    };
    Ok(format!("{base}{path_and_query}"))
}

/// Checks `X-Twilio-Signature` (constant-time) for a POST of `form` to the URL Twilio called.
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
    let url = signed_url(config, headers, uri)?;
    let token = config.twilio_auth_token.expose();
    if twilio_signature::verify(token, &url, &form.0, signature) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// What a lead's text asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// One of Twilio's opt-out words. `CANCEL` is one of them: it stops texts, it does not
    /// cancel the tour (that is `X`), as Twilio itself already treats it.
    OptOut,
    Confirm,
    Cancel,
    /// Anything else: kept for an operator, since only a person can read it.
    Other,
}

impl Reply {
    pub fn of(body: &str) -> Self {
        match body.trim().to_ascii_uppercase().as_str() {
            "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" => Self::OptOut,
            "C" | "Y" | "YES" | "CONFIRM" => Self::Confirm,
            "X" => Self::Cancel,
            _ => Self::Other,
        }
    }
}

/// The last four digits of a number, the most a log line or a dead letter's reason shows.
pub fn last_digits(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(public_url: Option<&str>) -> ShimConfig {
        let mut config = ShimConfig::for_sandbox(|_| None).unwrap();
        config.public_url = public_url.map(|u| u.parse().unwrap());
        config
    }

    fn headers(host: &str, signature: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, host.parse().unwrap());
        if let Some(signature) = signature {
            headers.insert(SIGNATURE_HEADER, signature.parse().unwrap());
        }
        headers
    }

    fn form() -> TwilioForm {
        TwilioForm::parse(b"MessageSid=SM1&From=%2B14155550132&Body=C")
    }

    #[test]
    fn the_signature_covers_the_public_url_and_the_form() {
        let config = config(Some("https://hooks.example.com/"));
        let uri: Uri = "/webhooks/twilio/status?booking_id=bk-1&step=s"
            .parse()
            .unwrap();
        let url = "https://hooks.example.com/webhooks/twilio/status?booking_id=bk-1&step=s";
        let good = twilio_signature::sign(config.twilio_auth_token.expose(), url, &form().0);
        // The Host the shim sees behind a proxy does not matter: the public URL does.
        let seen = headers("10.0.0.7:8090", Some(&good));
        assert_eq!(verify(&config, &seen, &uri, &form()), Ok(()));

        let other_query: Uri = "/webhooks/twilio/status?booking_id=bk-2&step=s"
            .parse()
            .unwrap();
        assert_eq!(
            verify(&config, &seen, &other_query, &form()),
            Err(SignatureError::Mismatch)
        );
        let tampered = TwilioForm::parse(b"MessageSid=SM1&From=%2B14155550132&Body=X");
        assert_eq!(
            verify(&config, &seen, &uri, &tampered),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&config, &headers("h", None), &uri, &form()),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn in_sandbox_mode_without_a_public_url_the_host_header_stands_in() {
        let config = config(None);
        let uri: Uri = "/webhooks/twilio/inbound".parse().unwrap();
        let url = "http://127.0.0.1:8090/webhooks/twilio/inbound";
        let good = twilio_signature::sign(config.twilio_auth_token.expose(), url, &form().0);
        assert_eq!(
            verify(
                &config,
                &headers("127.0.0.1:8090", Some(&good)),
                &uri,
                &form()
            ),
            Ok(())
        );
        assert_eq!(
            verify(
                &config,
                &headers("127.0.0.1:9999", Some(&good)),
                &uri,
                &form()
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn replies_read_as_twilio_and_leads_write_them() {
        for (body, reply) in [
            ("STOP", Reply::OptOut),
            (" stop ", Reply::OptOut),
            ("Cancel", Reply::OptOut),
            ("unsubscribe", Reply::OptOut),
            ("c", Reply::Confirm),
            ("Yes", Reply::Confirm),
            ("CONFIRM", Reply::Confirm),
            ("x", Reply::Cancel),
            ("can we move it to 3pm?", Reply::Other),
            ("", Reply::Other),
        ] {
            assert_eq!(Reply::of(body), reply, "{body:?}");
        }
    }

    #[test]
    fn forms_name_what_is_missing_and_numbers_are_shown_by_their_tail() {
        let form = TwilioForm::parse(b"MessageSid=&From=%2B1415");
        assert_eq!(form.required("MessageSid").unwrap_err().field, "MessageSid");
        assert_eq!(form.required("From"), Ok("+1415"));
        assert_eq!(last_digits("+14155550132"), "…0132");
        assert_eq!(last_digits("12"), "…12");
    }
}
