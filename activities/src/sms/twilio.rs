//! Twilio Programmable Messaging: `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`,
//! form-encoded (`To`, `From` or `MessagingServiceSid`, `Body`, `StatusCallback`), with HTTP
//! Basic auth `AccountSid:AuthToken`.
//!
//! Twilio's error body is `{"code": N, "message": "...", "more_info": "...", "status": HTTP}`.
//! What each answer becomes ([`classify`]):
//!
//! | answer | result |
//! |---|---|
//! | 2xx (201) with a `sid` | sent: [`SmsReceipt::message_sid`] |
//! | 2xx without a `sid` | [`ProviderError::BadResponse`]: retryable |
//! | 429, or code 20429 | [`ProviderError::RateLimited`]: retryable, after `Retry-After` when sent |
//! | 5xx | [`ProviderError::Unavailable`]: retryable |
//! | 401, or code 20003 | [`ProviderError::AuthRejected`]: fatal, the account SID or auth token is wrong |
//! | code 21211 (invalid `To`), 21610 (unsubscribed, replied STOP), 21614 (not a mobile) | not an error: [`SmsReceipt::refused`], so the workflow emails instead |
//! | any other 4xx | [`ProviderError::Rejected`]: fatal, the same request would be refused again |

use reqwest::header::CONTENT_TYPE;
use serde::Deserialize;
use url::{Url, form_urlencoded};

use super::{SmsMessage, SmsReceipt, SmsRefusal};
use crate::{
    config::{TwilioConfig, TwilioSender},
    error::{Provider, ProviderError, retry_delay},
    http::{Answer, Http, endpoint},
};

const PROVIDER: Provider = Provider::Twilio;

/// Twilio's codes for a number it will not text, whatever we retry: 21211 (`To` is not a valid
/// number), 21610 (the recipient unsubscribed by replying STOP), 21614 (not a mobile number).
pub const REFUSED_NUMBER_CODES: [u32; 3] = [21211, 21610, 21614];
/// "Too many requests".
const RATE_LIMITED_CODE: u32 = 20429;
/// "Authentication error".
const AUTHENTICATION_CODE: u32 = 20003;

/// Sends booking texts through Twilio (or the sandbox's stand-in at the same path).
#[derive(Debug, Clone)]
pub struct TwilioClient {
    http: Http,
    config: TwilioConfig,
}

/// The part of Twilio's 201 (a Message resource) we keep.
#[derive(Debug, Deserialize)]
struct Created {
    #[serde(default)]
    sid: Option<String>,
}

/// Twilio's error body; every field may be missing from a proxy's answer.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: Option<u32>,
    #[serde(default)]
    message: Option<String>,
}

impl TwilioClient {
    pub fn new(http: Http, config: TwilioConfig) -> Self {
        Self { http, config }
    }

    /// `{base}/2010-04-01/Accounts/{AccountSid}/Messages.json`.
    pub fn messages_url(&self) -> Url {
        let path = [
            "2010-04-01",
            "Accounts",
            self.config.account_sid.as_str(),
            "Messages.json",
        ];
        endpoint(&self.config.base_url, path)
    }

    /// The configured status callback URL with `booking_id` and `step` appended to its query
    /// (form-encoded); `None` when none is configured.
    pub fn status_callback(&self, message: &SmsMessage) -> Option<Url> {
        let mut url = self.config.status_callback_url.clone()?;
        url.query_pairs_mut()
            .append_pair("booking_id", &message.booking_id)
            .append_pair("step", &message.step);
        Some(url)
    }

    /// The request's `application/x-www-form-urlencoded` body.
    pub fn form(&self, message: &SmsMessage) -> String {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("To", &message.to);
        match &self.config.sender {
            TwilioSender::Number(number) => form.append_pair("From", number),
            TwilioSender::MessagingService(sid) => form.append_pair("MessagingServiceSid", sid),
        };
        form.append_pair("Body", &message.body);
        if let Some(callback) = self.status_callback(message) {
            form.append_pair("StatusCallback", callback.as_str());
        }
        form.finish()
    }

    /// The whole request, unsent.
    pub fn request(&self, message: &SmsMessage) -> reqwest::RequestBuilder {
        self.http
            .client
            .post(self.messages_url())
            .basic_auth(
                &self.config.account_sid,
                Some(self.config.auth_token.expose()),
            )
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(self.form(message))
    }

    /// Sends one text; a number Twilio refuses for good is an `Ok` receipt with
    /// [`SmsReceipt::refused`] set (see the module docs).
    pub async fn send(&self, message: &SmsMessage) -> Result<SmsReceipt, ProviderError> {
        let answer = self.http.send(PROVIDER, self.request(message)).await?;
        let mut receipt = SmsReceipt {
            step: message.step.clone(),
            message_sid: String::new(),
            skipped: None,
            refused: None,
        };
        if answer.is_success() {
            let created: Created = answer.json()?;
            receipt.message_sid = created.sid.filter(|sid| !sid.is_empty()).ok_or_else(|| {
                ProviderError::BadResponse {
                    provider: PROVIDER,
                    message: format!("{} without a Message SID", answer.status),
                }
            })?;
        } else {
            receipt.refused = Some(classify(answer)?);
        }
        Ok(receipt)
    }
}

/// What Twilio's non-2xx `answer` means: `Ok` with the refusal when Twilio refuses the number
/// itself for good, else the error it is (see the module docs' table).
pub fn classify(answer: Answer) -> Result<SmsRefusal, ProviderError> {
    let error: ErrorBody = serde_json::from_str(&answer.body).unwrap_or_default();
    let Answer {
        provider,
        status,
        headers,
        body,
    } = answer;
    let code = error.code;
    if status == 429 || code == Some(RATE_LIMITED_CODE) {
        return Err(ProviderError::RateLimited {
            provider,
            status,
            retry_after: retry_delay(&headers),
            body,
        });
    }
    if (500..=599).contains(&status) {
        return Err(ProviderError::Unavailable {
            provider,
            status,
            retry_after: retry_delay(&headers),
            body,
        });
    }
    if status == 401 || code == Some(AUTHENTICATION_CODE) {
        return Err(ProviderError::AuthRejected {
            provider,
            status,
            body,
        });
    }
    match code {
        Some(code) if (400..=499).contains(&status) && REFUSED_NUMBER_CODES.contains(&code) => {
            Ok(SmsRefusal {
                code,
                message: error.message.unwrap_or(body),
            })
        }
        _ => Err(ProviderError::Rejected {
            provider,
            status,
            body,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{config::ProvidersConfig, redact::Redactor};

    const SID: &str = "AC0123456789abcdef0123456789abcdef";

    fn config(sender: TwilioSender, callback: Option<&str>) -> TwilioConfig {
        TwilioConfig {
            base_url: Url::parse("https://api.twilio.test/").unwrap(),
            account_sid: SID.into(),
            auth_token: crate::secret::Secret::new("tok3n-value"),
            sender,
            status_callback_url: callback.map(|c| Url::parse(c).unwrap()),
        }
    }

    fn client(sender: TwilioSender, callback: Option<&str>) -> TwilioClient {
        let http = Http::new(reqwest::Client::new(), Redactor::default());
        TwilioClient::new(http, config(sender, callback))
    }

    fn number() -> TwilioSender {
        TwilioSender::Number("+15005550006".into())
    }

    fn message() -> SmsMessage {
        SmsMessage {
            booking_id: "bk 1/&x".into(),
            step: "tour-reminder-1h@2026-12-01T15:00:00Z".into(),
            to: "+14155550123".into(),
            body: "See you at 3 pm & bring ID: 100% sure? ✓".into(),
            send_before: None,
        }
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            provider: PROVIDER,
            status,
            headers: reqwest::header::HeaderMap::new(),
            body: body.into(),
        }
    }

    fn twilio_error(status: u16, code: u32) -> Answer {
        let body = serde_json::json!({
            "code": code,
            "message": format!("error {code}"),
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status,
        });
        answer(status, &body.to_string())
    }

    fn form_pairs(form: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(form.as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn the_form_names_to_from_body_and_the_status_callback() {
        let client = client(number(), Some("https://shim.test/webhooks/twilio/status"));
        let form = client.form(&message());
        assert!(form.starts_with("To=%2B14155550123&From=%2B15005550006&Body=See+you"));
        assert!(
            form.contains("%26+bring+ID%3A+100%25+sure%3F+%E2%9C%93"),
            "{form}"
        );
        let callback = "https://shim.test/webhooks/twilio/status?booking_id=bk+1%2F%26x&step=tour-reminder-1h%402026-12-01T15%3A00%3A00Z";
        assert_eq!(
            form_pairs(&form),
            [
                ("To".into(), "+14155550123".into()),
                ("From".into(), "+15005550006".into()),
                ("Body".into(), message().body),
                ("StatusCallback".into(), callback.into()),
            ]
        );
    }

    #[test]
    fn a_messaging_service_replaces_from_and_no_callback_is_asked_for_when_none_is_set() {
        let service = TwilioSender::MessagingService("MG0123456789abcdef0123456789abcdef".into());
        let pairs = form_pairs(&client(service, None).form(&message()));
        let names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["To", "MessagingServiceSid", "Body"]);
        assert_eq!(pairs[1].1, "MG0123456789abcdef0123456789abcdef");
    }

    #[test]
    fn the_status_callback_keeps_its_own_query_and_round_trips_booking_and_step() {
        let client = client(number(), Some("https://shim.test/hooks/status?tenant=a"));
        let url = client.status_callback(&message()).unwrap();
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(
            query,
            [
                ("tenant".into(), "a".into()),
                ("booking_id".into(), "bk 1/&x".into()),
                (
                    "step".into(),
                    "tour-reminder-1h@2026-12-01T15:00:00Z".into()
                ),
            ]
        );
        assert_eq!(url.path(), "/hooks/status");
    }

    #[test]
    fn the_request_posts_the_form_with_basic_auth_to_the_account_s_messages() {
        let request = client(number(), None).request(&message()).build().unwrap();
        assert_eq!(request.method(), reqwest::Method::POST);
        assert_eq!(
            request.url().as_str(),
            format!("https://api.twilio.test/2010-04-01/Accounts/{SID}/Messages.json")
        );
        let expected = format!(
            "Basic {}",
            data_encoding::BASE64.encode(format!("{SID}:tok3n-value").as_bytes())
        );
        let headers = request.headers();
        assert_eq!(headers[reqwest::header::AUTHORIZATION], expected.as_str());
        assert!(headers[reqwest::header::AUTHORIZATION].is_sensitive());
        assert_eq!(headers[CONTENT_TYPE], "application/x-www-form-urlencoded");
        let body = request.body().unwrap().as_bytes().unwrap();
        assert_eq!(body, client(number(), None).form(&message()).as_bytes());
    }

    #[test]
    fn each_status_and_code_is_classified() {
        let cases = [
            (twilio_error(429, 20429), "ProviderRateLimited", true),
            (twilio_error(400, 20429), "ProviderRateLimited", true),
            (answer(429, "slow down"), "ProviderRateLimited", true),
            (twilio_error(500, 20500), "ProviderUnavailable", true),
            (
                answer(503, "<html>bad gateway</html>"),
                "ProviderUnavailable",
                true,
            ),
            (twilio_error(401, 20003), "ProviderAuthRejected", false),
            (twilio_error(403, 20003), "ProviderAuthRejected", false),
            (answer(401, ""), "ProviderAuthRejected", false),
            (twilio_error(400, 21606), "ProviderRejected", false),
            (twilio_error(400, 21602), "ProviderRejected", false),
            (twilio_error(404, 20404), "ProviderRejected", false),
            (answer(400, "not json"), "ProviderRejected", false),
        ];
        for (answer, type_name, retryable) in cases {
            let what = format!("{} {}", answer.status, answer.body);
            let err = classify(answer).expect_err(&what);
            assert_eq!(err.type_name(), type_name, "{what}");
            assert_eq!(err.is_retryable(), retryable, "{what}");
        }
    }

    #[test]
    fn a_refused_number_is_a_refusal_not_an_error() {
        for code in REFUSED_NUMBER_CODES {
            let refusal = classify(twilio_error(400, code)).unwrap();
            assert_eq!(refusal.code, code);
            assert_eq!(refusal.message, format!("error {code}"));
        }
        // The same code on a 5xx is the outage, not the number.
        assert!(classify(twilio_error(500, 21610)).is_err());
    }

    #[test]
    fn a_rate_limit_carries_twilio_s_retry_after() {
        let mut limited = twilio_error(429, 20429);
        limited
            .headers
            .insert(reqwest::header::RETRY_AFTER, "3".parse().unwrap());
        let err = classify(limited).unwrap_err();
        assert!(
            matches!(
                err,
                ProviderError::RateLimited { retry_after: Some(d), .. } if d.as_secs() == 3
            ),
            "{err}"
        );
    }

    #[test]
    fn the_auth_token_and_basic_credentials_never_reach_a_log() {
        let config = ProvidersConfig::for_sandbox("http://sb:1").unwrap();
        let token = config.twilio.auth_token.expose().to_owned();
        let redactor = Redactor::new(config.secrets());
        let basic = data_encoding::BASE64.encode(format!("{SID}:{token}").as_bytes());
        let logged = redactor.redact(&format!(
            r#"{{"message": "token {token} refused", "echo": "Authorization: Basic {basic}"}}"#
        ));
        assert!(!logged.contains(&token), "{logged}");
        assert!(!logged.contains(&basic), "{logged}");
        assert!(!format!("{config:?}").contains(&token));
    }
}
