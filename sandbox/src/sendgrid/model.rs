//! Accepted mail, as the inspection API shows it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One accepted `mail/send` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentEmail {
    /// The `X-Message-Id` the sandbox answered with.
    pub message_id: String,
    pub received_at: DateTime<Utc>,
    pub from: MailAddress,
    pub reply_to: Option<MailAddress>,
    pub subject: Option<String>,
    pub template_id: Option<String>,
    pub content: Vec<MailContent>,
    pub categories: Vec<String>,
    /// Top-level `custom_args` (apply to every personalization).
    pub custom_args: BTreeMap<String, String>,
    pub send_at: Option<i64>,
    pub personalizations: Vec<MailPersonalization>,
}

impl SentEmail {
    /// Every `to` address of every personalization.
    pub fn to_emails(&self) -> Vec<&str> {
        self.personalizations
            .iter()
            .flat_map(|p| p.to.iter().map(|a| a.email.as_str()))
            .collect()
    }

    /// A custom arg as SendGrid would attach it to the first personalization's message:
    /// the personalization's own value wins over the top-level one.
    pub fn custom_arg(&self, key: &str) -> Option<&str> {
        self.personalizations
            .first()
            .and_then(|p| p.custom_args.get(key))
            .or_else(|| self.custom_args.get(key))
            .map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailAddress {
    pub email: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailContent {
    #[serde(rename = "type")]
    pub content_type: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MailPersonalization {
    pub to: Vec<MailAddress>,
    pub cc: Vec<MailAddress>,
    pub bcc: Vec<MailAddress>,
    pub subject: Option<String>,
    pub dynamic_template_data: Option<Value>,
    pub custom_args: BTreeMap<String, String>,
    pub send_at: Option<i64>,
}
