//! `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (send) and `GET
//! .../Messages/{Sid}.json` (fetch).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::TwilioError;
use super::model::{TwilioMessage, TwilioMessageStatus, segments};
use super::{API_VERSION, authenticate, is_callback_url, is_e164, is_sid, magic, new_sid};
use crate::body::{PathParams, RawBody, is_form};
use crate::state::Shared;
use crate::time;

/// Longest body Twilio accepts, in characters.
const MAX_BODY_CHARS: usize = 1600;

/// The first non-empty value of a form parameter (Twilio treats empty as absent).
fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.trim().is_empty())
}

/// What a send asks for, once checked in Twilio's order.
struct Send {
    to: String,
    from: Option<String>,
    service: Option<String>,
    body: String,
    status_callback: Option<String>,
}

fn validate(params: &[(String, String)], our_number: &str) -> Result<Send, TwilioError> {
    let to = param(params, "To")
        .ok_or_else(TwilioError::to_required)?
        .trim();
    let from = param(params, "From").map(str::trim);
    let service = param(params, "MessagingServiceSid").map(str::trim);
    if from.is_none() && service.is_none() {
        return Err(TwilioError::from_required());
    }
    let body = param(params, "Body").ok_or_else(TwilioError::body_required)?;
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(TwilioError::body_too_long());
    }
    if !is_e164(to) || to == magic::INVALID {
        return Err(TwilioError::invalid_to(to));
    }
    if let Some(from) = from {
        if !is_e164(from) {
            return Err(TwilioError::invalid_from(from));
        }
        if from != our_number {
            return Err(TwilioError::from_not_owned(from));
        }
    }
    if let Some(service) = service
        && !is_sid(service, "MG")
    {
        return Err(TwilioError::invalid_service(service));
    }
    let status_callback = param(params, "StatusCallback").map(str::trim);
    if let Some(url) = status_callback
        && !is_callback_url(url)
    {
        return Err(TwilioError::invalid_status_callback(url));
    }
    if to == magic::NOT_MOBILE {
        return Err(TwilioError::not_mobile());
    }
    if to == magic::UNSUBSCRIBED {
        return Err(TwilioError::unsubscribed());
    }
    Ok(Send {
        to: to.to_owned(),
        from: from.map(str::to_owned),
        service: service.map(str::to_owned),
        body: body.to_owned(),
        status_callback: status_callback.map(str::to_owned),
    })
}

pub async fn create(
    State(state): State<Shared>,
    PathParams(account_sid, _): PathParams<String, TwilioError>,
    RawBody(headers, body, _): RawBody<TwilioError>,
) -> Result<Response, TwilioError> {
    authenticate(&state.config, &headers, &account_sid)?;
    // Anything but a form body reads as an empty one: `To` is then what is missing.
    let params: Vec<(String, String)> = if is_form(&headers) {
        url::form_urlencoded::parse(&body).into_owned().collect()
    } else {
        Vec::new()
    };
    let send = validate(&params, &state.config.twilio_from_number)?;
    let faults = state.runtime(|rt| rt.twilio_callback_faults);
    let now = time::now();
    // A Messaging Service send is `accepted` with no sender until it is queued; a send from
    // a number is `queued` at once.
    let status = if send.from.is_some() {
        TwilioMessageStatus::Queued
    } else {
        TwilioMessageStatus::Accepted
    };
    let message = TwilioMessage {
        sid: new_sid("SM"),
        account_sid,
        num_segments: segments(&send.body),
        to: send.to,
        from: send.from,
        messaging_service_sid: send.service,
        body: send.body,
        status,
        error_code: None,
        error_message: None,
        status_callback: send.status_callback,
        date_created: now,
        date_updated: now,
        date_sent: None,
        callback_faults: faults,
        callbacks: Vec::new(),
    };
    let resource = message.resource();
    let sid = message.sid.clone();
    // The opt-out check and the insert happen under one lock: a STOP racing this send
    // either refuses it or comes after it.
    state.change(|p| {
        if p.twilio.opt_outs.contains_key(&message.to) {
            return Err(TwilioError::unsubscribed());
        }
        p.twilio.messages.push(message);
        Ok(())
    })?;
    tracing::debug!(%sid, "twilio accepted message");
    super::callbacks::spawn_lifecycle(&state, sid);
    Ok((StatusCode::CREATED, Json(resource)).into_response())
}

pub async fn fetch(
    State(state): State<Shared>,
    headers: HeaderMap,
    PathParams((account_sid, file), _): PathParams<(String, String), TwilioError>,
) -> Result<Json<serde_json::Value>, TwilioError> {
    authenticate(&state.config, &headers, &account_sid)?;
    let path = format!("/{API_VERSION}/Accounts/{account_sid}/Messages/{file}");
    let sid = file
        .strip_suffix(".json")
        .ok_or_else(|| TwilioError::not_found(&path))?;
    state
        .read(|p| p.twilio.message(sid).map(TwilioMessage::resource))
        .map(Json)
        .ok_or_else(|| TwilioError::not_found(&path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const OURS: &str = "+15005550006";

    fn code(params: &[(&str, &str)]) -> u32 {
        validate(&form(params), OURS).err().map_or(0, |e| e.code)
    }

    #[test]
    fn checks_come_in_twilios_order() {
        assert_eq!(code(&[("From", OURS), ("Body", "x")]), 21_604);
        assert_eq!(code(&[("To", "+14155550100"), ("Body", "x")]), 21_603);
        assert_eq!(code(&[("To", "+14155550100"), ("From", OURS)]), 21_602);
        assert_eq!(
            code(&[("To", "+14155550100"), ("From", OURS), ("Body", "  ")]),
            21_602
        );
        let long = "a".repeat(1601);
        assert_eq!(
            code(&[("To", "+14155550100"), ("From", OURS), ("Body", &long)]),
            21_617
        );
        assert_eq!(
            code(&[("To", "4155550100"), ("From", OURS), ("Body", "x")]),
            21_211
        );
        assert_eq!(
            code(&[
                ("To", "+14155550100"),
                ("From", "+14155550999"),
                ("Body", "x")
            ]),
            21_606
        );
        assert_eq!(
            code(&[("To", "+14155550100"), ("From", "sales"), ("Body", "x")]),
            21_212
        );
        assert_eq!(
            code(&[
                ("To", "+14155550100"),
                ("MessagingServiceSid", "MG1"),
                ("Body", "x")
            ]),
            21_705
        );
        assert_eq!(
            code(&[
                ("To", "+14155550100"),
                ("From", OURS),
                ("Body", "x"),
                ("StatusCallback", "/relative")
            ]),
            21_609
        );
        for (to, expected) in [
            (magic::INVALID, 21_211),
            (magic::UNSUBSCRIBED, 21_610),
            (magic::NOT_MOBILE, 21_614),
            (magic::UNDELIVERED, 0),
            ("+14155550100", 0),
        ] {
            assert_eq!(
                code(&[("To", to), ("From", OURS), ("Body", "x")]),
                expected,
                "{to}"
            );
        }
        let exactly = "a".repeat(1600);
        assert_eq!(
            code(&[("To", "+14155550100"), ("From", OURS), ("Body", &exactly)]),
            0
        );
    }
}
