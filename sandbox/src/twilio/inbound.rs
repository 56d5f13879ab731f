//! A lead's reply: the carrier-level opt-out keywords take effect first (as Twilio's do, for
//! the number), then the reply is POSTed, signed, to the number's "A message comes in"
//! webhook, whose answer is recorded.

use std::collections::BTreeMap;

use axum::http::StatusCode;

use super::callbacks::{post_form, sign};
use super::model::{TwilioInbound, TwilioInboundMessage, TwilioOptOut, segments};
use super::{API_VERSION, is_e164, new_sid};
use crate::control::ControlError;
use crate::state::Shared;
use crate::time;

/// Twilio's default opt-out keywords.
const OPT_OUT: [&str; 6] = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"];
/// Twilio's default opt-in keywords.
const OPT_IN: [&str; 3] = ["START", "YES", "UNSTOP"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Keyword {
    OptOut(String),
    OptIn(String),
}

/// Twilio matches the whole body, trimmed, case-insensitively.
fn keyword(body: &str) -> Option<Keyword> {
    let word = body.trim().to_uppercase();
    if OPT_OUT.contains(&word.as_str()) {
        Some(Keyword::OptOut(word))
    } else if OPT_IN.contains(&word.as_str()) {
        Some(Keyword::OptIn(word))
    } else {
        None
    }
}

fn bad_request(message: impl Into<String>) -> ControlError {
    ControlError::new(StatusCode::BAD_REQUEST, message)
}

pub async fn receive(
    app: &Shared,
    request: TwilioInbound,
) -> Result<TwilioInboundMessage, ControlError> {
    let config = &app.config;
    let from = request.from.trim().to_owned();
    if !is_e164(&from) {
        return Err(bad_request(format!(
            "from must be an E.164 number, got {from:?}"
        )));
    }
    let to = request
        .to
        .clone()
        .unwrap_or_else(|| config.twilio_from_number.clone());
    let message_sid = match request.message_sid {
        Some(sid) if sid.trim().is_empty() => {
            return Err(bad_request("message_sid must not be empty"));
        }
        Some(sid) => sid,
        None => new_sid("SM"),
    };
    let keyword = keyword(&request.body);
    let received_at = time::now();

    let (url, sender_opted_out) = app.change(|p| {
        let twilio = &mut p.twilio;
        match &keyword {
            Some(Keyword::OptOut(word)) => {
                twilio.opt_outs.insert(
                    from.clone(),
                    TwilioOptOut {
                        number: from.clone(),
                        keyword: word.clone(),
                        at: received_at,
                    },
                );
            }
            Some(Keyword::OptIn(_)) => {
                twilio.opt_outs.remove(&from);
            }
            None => {}
        }
        (
            twilio.inbound_webhook_url.clone(),
            twilio.opt_outs.contains_key(&from),
        )
    });

    let params: BTreeMap<String, String> = [
        ("MessageSid", message_sid.clone()),
        ("SmsSid", message_sid.clone()),
        ("SmsMessageSid", message_sid.clone()),
        ("AccountSid", config.twilio_account_sid.clone()),
        ("From", from.clone()),
        ("To", to.clone()),
        ("Body", request.body.clone()),
        ("NumMedia", "0".to_owned()),
        ("NumSegments", segments(&request.body).to_string()),
        ("SmsStatus", "received".to_owned()),
        ("ApiVersion", API_VERSION.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();

    let signature = url
        .as_deref()
        .map(|url| sign(&config.twilio_auth_token, url, &params));
    let mut answers = Vec::new();
    if let (Some(url), Some(signature)) = (&url, &signature) {
        let deliveries = if request.twice { 2 } else { 1 };
        for _ in 0..deliveries {
            let answer = post_form(app, url, &params, signature).await;
            tracing::info!(
                %message_sid,
                status = ?answer.status,
                error = ?answer.error,
                "twilio inbound webhook"
            );
            answers.push(answer);
        }
    } else {
        tracing::warn!(%message_sid, "no twilio inbound webhook configured: reply recorded only");
    }

    let record = TwilioInboundMessage {
        message_sid,
        from,
        to,
        body: request.body,
        received_at,
        keyword: keyword.map(|k| match k {
            Keyword::OptOut(w) | Keyword::OptIn(w) => w,
        }),
        sender_opted_out,
        url,
        params,
        signature,
        answers,
    };
    app.change(|p| p.twilio.inbound.push(record.clone()));
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_whole_bodies_trimmed_and_case_insensitive() {
        assert_eq!(keyword(" stop \n"), Some(Keyword::OptOut("STOP".into())));
        assert_eq!(keyword("Cancel"), Some(Keyword::OptOut("CANCEL".into())));
        assert_eq!(keyword("unstop"), Some(Keyword::OptIn("UNSTOP".into())));
        assert_eq!(keyword("START"), Some(Keyword::OptIn("START".into())));
        assert_eq!(keyword("please stop"), None);
        assert_eq!(keyword("C"), None);
    }
}
