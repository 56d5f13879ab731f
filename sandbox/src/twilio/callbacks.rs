//! What happens to a message after Twilio accepts it: its status moves on (`queued` →
//! `sent` → `delivered`, or to `undelivered`/`failed` for the magic numbers) in a background
//! task, never holding up the 201, and each change is POSTed to the message's
//! `StatusCallback` as a signed form. A callback answered with a non-2xx status, or not
//! answered at all, is retried with a doubling delay a few times.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::header;

use super::model::{
    TwilioCallback, TwilioCallbackState, TwilioMessageStatus, TwilioWebhookAttempt,
};
use super::{API_VERSION, TwilioState, magic};
use crate::state::{Providers, Shared};
use crate::time;

/// The header carrying the signature of every webhook Twilio sends.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";
/// The `User-Agent` of Twilio's webhook requests.
const USER_AGENT: &str = "TwilioProxy/1.1";
/// How much of a webhook's answer is kept for inspection, in characters.
const MAX_ANSWER_CHARS: usize = 4096;
/// Longest delay between two attempts of one callback.
const RETRY_CAP: Duration = Duration::from_secs(30);

/// One status a message reaches, with its delivery error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stage {
    status: TwilioMessageStatus,
    error: Option<(u32, &'static str)>,
}

const fn stage(status: TwilioMessageStatus) -> Stage {
    Stage {
        status,
        error: None,
    }
}

/// The statuses a message to `to` goes through after it is accepted.
fn stages(to: &str) -> Vec<Stage> {
    use TwilioMessageStatus::{Delivered, Failed, Queued, Sent, Undelivered};
    match to {
        magic::FAILED => vec![
            stage(Queued),
            Stage {
                status: Failed,
                error: Some((30_006, "Landline or unreachable carrier")),
            },
        ],
        magic::UNDELIVERED => vec![
            stage(Queued),
            stage(Sent),
            Stage {
                status: Undelivered,
                error: Some((30_003, "Unreachable destination handset")),
            },
        ],
        _ => vec![stage(Queued), stage(Sent), stage(Delivered)],
    }
}

/// `X-Twilio-Signature` of a POST of `params` to `url`, keyed with the account's auth token.
pub fn sign(auth_token: &str, url: &str, params: &BTreeMap<String, String>) -> String {
    let pairs: Vec<(String, String)> = params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    booking_proto::twilio_signature::sign(auth_token, url, &pairs)
}

/// POSTs `params` as a form to `url`, signed, the way Twilio sends webhooks.
pub async fn post_form(
    app: &Shared,
    url: &str,
    params: &BTreeMap<String, String>,
    signature: &str,
) -> TwilioWebhookAttempt {
    let at = time::now();
    let started = Instant::now();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let sent = app
        .http
        .post(url)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::USER_AGENT, USER_AGENT)
        .header(SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await;
    let (status, content_type, body, error) = match sent {
        Ok(response) => {
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let text = response.text().await.unwrap_or_default();
            let text: String = text.chars().take(MAX_ANSWER_CHARS).collect();
            (Some(status), content_type, Some(text), None)
        }
        Err(e) => (None, None, None, Some(e.to_string())),
    };
    TwilioWebhookAttempt {
        at,
        status,
        body,
        content_type,
        error,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

/// Moves a message's status on in the background until its last status.
pub fn spawn_lifecycle(app: &Shared, sid: String) {
    let app = app.clone();
    tokio::spawn(async move { lifecycle(&app, &sid).await });
}

/// Waits `delay`; `false` when the sandbox shuts down meanwhile.
async fn pause(app: &Shared, delay: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        () = app.shutting_down() => false,
    }
}

async fn lifecycle(app: &Shared, sid: &str) {
    let Some((to, faults)) = app.read(|p| {
        p.twilio
            .message(sid)
            .map(|m| (m.to.clone(), m.callback_faults))
    }) else {
        return;
    };
    let mut held: Vec<Vec<String>> = Vec::new();
    for stage in stages(&to) {
        if !pause(app, app.config.twilio_status_delay).await {
            return;
        }
        // `None`: the message is gone (a reset): nothing more to do.
        let Some(ids) = app.change(|p| advance(app, p, sid, stage)) else {
            return;
        };
        if faults.reverse_order {
            held.push(ids);
        } else {
            deliver(app, sid, &ids).await;
        }
    }
    for ids in held.iter().rev() {
        deliver(app, sid, ids).await;
    }
}

/// Puts the message in `stage` and creates its callbacks (two with the `twice` fault);
/// returns their ids.
fn advance(app: &Shared, p: &mut Providers, sid: &str, stage: Stage) -> Option<Vec<String>> {
    let config = &app.config;
    let message = p.twilio.message_mut(sid)?;
    let now = time::now();
    message.status = stage.status;
    message.date_updated = now;
    if message.from.is_none() {
        // A Messaging Service picks its sender when the message is queued.
        message.from = Some(config.twilio_from_number.clone());
    }
    if stage.status == TwilioMessageStatus::Sent {
        message.date_sent = Some(now);
    }
    if let Some((code, text)) = stage.error {
        message.error_code = Some(code);
        message.error_message = Some(text.to_owned());
    }
    let Some(url) = message.status_callback.clone() else {
        return Some(Vec::new());
    };
    let status = stage.status.as_str().to_owned();
    let mut params: BTreeMap<String, String> = [
        ("MessageSid", sid.to_owned()),
        ("SmsSid", sid.to_owned()),
        ("AccountSid", message.account_sid.clone()),
        ("From", message.from.clone().unwrap_or_default()),
        ("To", message.to.clone()),
        ("MessageStatus", status.clone()),
        ("SmsStatus", status),
        ("ApiVersion", API_VERSION.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(service) = &message.messaging_service_sid {
        params.insert("MessagingServiceSid".into(), service.clone());
    }
    if let Some((code, _)) = stage.error {
        params.insert("ErrorCode".into(), code.to_string());
    }
    let signature = sign(&config.twilio_auth_token, &url, &params);
    let copies = if message.callback_faults.twice { 2 } else { 1 };
    let ids = (0..copies)
        .map(|copy| {
            let id = uuid::Uuid::new_v4().to_string();
            message.callbacks.push(TwilioCallback {
                id: id.clone(),
                message_status: stage.status,
                error_code: stage.error.map(|(code, _)| code),
                copy,
                url: url.clone(),
                params: params.clone(),
                signature: signature.clone(),
                state: TwilioCallbackState::Pending,
                attempts: Vec::new(),
            });
            id
        })
        .collect();
    Some(ids)
}

fn callback_mut<'a>(
    twilio: &'a mut TwilioState,
    sid: &str,
    id: &str,
) -> Option<&'a mut TwilioCallback> {
    twilio
        .message_mut(sid)?
        .callbacks
        .iter_mut()
        .find(|c| c.id == id)
}

/// First attempts one after another, in order; failed ones retry in the background.
async fn deliver(app: &Shared, sid: &str, ids: &[String]) {
    for id in ids {
        if let Some(delay) = attempt(app, sid, id).await {
            spawn_retries(app, sid.to_owned(), id.clone(), delay);
        }
    }
}

/// Makes one attempt; returns the delay before the next one, if one is due.
async fn attempt(app: &Shared, sid: &str, id: &str) -> Option<Duration> {
    let (url, params, signature) = app.read(|p| {
        let message = p.twilio.message(sid)?;
        let callback = message.callbacks.iter().find(|c| c.id == id)?;
        (callback.state == TwilioCallbackState::Pending).then(|| {
            (
                callback.url.clone(),
                callback.params.clone(),
                callback.signature.clone(),
            )
        })
    })?;
    let result = post_form(app, &url, &params, &signature).await;
    tracing::info!(
        message = sid,
        status = ?params.get("MessageStatus"),
        answer = ?result.status,
        error = ?result.error,
        "twilio status callback attempt"
    );
    let config = &app.config;
    app.change(|p| {
        let callback = callback_mut(&mut p.twilio, sid, id)?;
        let succeeded = result.succeeded();
        callback.attempts.push(result);
        if succeeded {
            callback.state = TwilioCallbackState::Delivered;
            return None;
        }
        let allowed = usize::try_from(config.twilio_callback_attempts.max(1)).unwrap_or(1);
        if callback.attempts.len() >= allowed {
            callback.state = TwilioCallbackState::Failed;
            return None;
        }
        Some(crate::calendly::webhooks::backoff(
            config.twilio_callback_retry_base,
            RETRY_CAP,
            callback.attempts.len(),
        ))
    })
}

fn spawn_retries(app: &Shared, sid: String, id: String, first_delay: Duration) {
    let app = app.clone();
    tokio::spawn(async move {
        let mut delay = first_delay;
        loop {
            if !pause(&app, delay).await {
                return;
            }
            match attempt(&app, &sid, &id).await {
                Some(next) => delay = next,
                None => return,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers_choose_the_outcome() {
        let last = |to: &str| *stages(to).last().unwrap();
        assert_eq!(last("+14155550100").status, TwilioMessageStatus::Delivered);
        assert_eq!(last(magic::UNDELIVERED).error.map(|e| e.0), Some(30_003));
        assert_eq!(last(magic::FAILED).status, TwilioMessageStatus::Failed);
        assert_eq!(last(magic::FAILED).error.map(|e| e.0), Some(30_006));
        assert!(stages("+14155550100").iter().all(|s| s.error.is_none()));
    }
}
