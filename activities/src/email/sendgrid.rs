//! SendGrid v3 `mail/send`.

use serde_json::json;

use super::{EmailMessage, EmailReceipt};
use crate::{
    config::SendGridConfig,
    error::{Provider, ProviderError},
    http::Http,
};

const PROVIDER: Provider = Provider::SendGrid;

/// Sends booking emails through SendGrid (or the sandbox's stand-in at the same path).
#[derive(Debug, Clone)]
pub struct SendGridClient {
    http: Http,
    config: SendGridConfig,
}

impl SendGridClient {
    pub fn new(http: Http, config: SendGridConfig) -> Self {
        Self { http, config }
    }

    pub async fn send(&self, message: &EmailMessage) -> Result<EmailReceipt, ProviderError> {
        let url = format!(
            "{}/v3/mail/send",
            self.config.base_url.as_str().trim_end_matches('/')
        );
        let body = json!({
            "personalizations": [{
                "to": [{ "email": message.to_email, "name": message.to_name }],
                "dynamic_template_data": message.template_data,
                "custom_args": { "booking_id": message.booking_id, "step": message.step },
            }],
            "from": { "email": self.config.from_email, "name": self.config.from_name },
            "template_id": message.template_id,
            "categories": ["booking"],
        });
        let request = self
            .http
            .client
            .post(&url)
            .bearer_auth(self.config.api_key.expose())
            .json(&body);
        let answer = self.http.send(PROVIDER, request).await?;
        if answer.status == 202 {
            let message_id = answer
                .headers
                .get("x-message-id")
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| ProviderError::BadResponse {
                    provider: PROVIDER,
                    message: "202 without an X-Message-Id header".into(),
                })?
                .to_owned();
            return Ok(EmailReceipt {
                step: message.step.clone(),
                message_id,
                skipped: None,
            });
        }
        Err(answer.into_error())
    }
}
