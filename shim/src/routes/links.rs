//! The lead's signed links: `GET /q/{token}` records the questionnaire visit and redirects to
//! the questionnaire; `GET /b/{token}/confirm` and `/cancel` show a button, whose `POST` asks
//! the booking for the change and shows its verdict. Tokens are [`crate::links`]'.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
};
use booking_proto::{
    domain::BookingId,
    v1::{
        CancelSignal, ChangeRequest, ConfirmSignal, QuestionnaireVisitedSignal,
        change_request::Change,
    },
};
use chrono::Utc;
use sha2::{Digest, Sha256};

use crate::{
    ApiError, ShimState,
    answers::ErrorBody,
    handoff::HandoffError,
    links::{self, Purpose},
    openapi::shared::{
        BookingClosed, LinkActionRefusals, LinkPageRefusals, LinkToken, TemporalUnreachable,
    },
};

fn verify_link(state: &ShimState, token: &str, purpose: Purpose) -> Result<BookingId, ApiError> {
    links::verify(
        &state.config().link_secret,
        token,
        purpose,
        Utc::now().timestamp(),
    )
    .map_err(|reason| {
        tracing::info!(%reason, "link refused");
        ApiError::NotFound
    })
}

/// A short, stable id for events a link click produces: the same click twice is one event.
fn link_event_id(purpose: &str, token: &str) -> String {
    format!(
        "link:{purpose}:{}",
        &hex::encode(Sha256::digest(token.as_bytes()))[..32]
    )
}

#[utoipa::path(
    get,
    path = "/q/{token}",
    tag = "links",
    summary = "questionnaire link: records the visit, then redirects",
    params(LinkToken),
    responses(
        (status = 303, description = "to the questionnaire", headers(("Location" = String, description = "the questionnaire, naming the booking"))),
        (status = 404, description = "invalid or expired link, or no such booking", body = ErrorBody),
        BookingClosed,
        TemporalUnreachable
    )
)]
pub async fn questionnaire_link(
    State(state): State<ShimState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let booking = verify_link(&state, &token, Purpose::Questionnaire)?;
    let client = state.client().await?;
    let handoff = &state.inner.handoff;
    let visit = QuestionnaireVisitedSignal {
        event_id: link_event_id("questionnaire", &token),
    };
    handoff
        .timed(
            "link",
            handoff.questionnaire_visited(&client, &booking, visit),
        )
        .await?;
    let mut target = state.config().questionnaire_url.clone();
    target
        .query_pairs_mut()
        .append_pair("booking", booking.as_str());
    Ok(Redirect::to(target.as_str()).into_response())
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    (
        status,
        Html(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body><h1>{t}</h1><p>{x}</p></body></html>",
            t = escape(title),
            x = escape(text)
        )),
    )
        .into_response()
}

/// The page a link opens: a button, because mail scanners and previewers follow GET links and
/// must not confirm or cancel a tour by doing so.
fn action_page(state: &ShimState, token: &str, purpose: Purpose) -> Response {
    if verify_link(state, token, purpose).is_err() {
        return page(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "This link is invalid or has expired.",
        );
    }
    let (title, button) = match purpose {
        Purpose::Confirm => ("Confirm your tour", "Confirm"),
        _ => ("Cancel your tour", "Cancel the tour"),
    };
    (
        StatusCode::OK,
        Html(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
             <body><h1>{title}</h1><form method=\"post\"><button type=\"submit\">{button}</button>\
             </form></body></html>"
        )),
    )
        .into_response()
}

#[utoipa::path(
    get,
    path = "/b/{token}/confirm",
    tag = "links",
    summary = "confirm page: a button, since mail scanners follow GET links",
    params(LinkToken),
    responses(
        (status = 200, description = "page with a confirm button", body = String, content_type = "text/html"),
        LinkPageRefusals
    )
)]
pub async fn confirm_page(State(state): State<ShimState>, Path(token): Path<String>) -> Response {
    action_page(&state, &token, Purpose::Confirm)
}

#[utoipa::path(
    get,
    path = "/b/{token}/cancel",
    tag = "links",
    summary = "cancel page: a button, since mail scanners follow GET links",
    params(LinkToken),
    responses(
        (status = 200, description = "page with a cancel button", body = String, content_type = "text/html"),
        LinkPageRefusals
    )
)]
pub async fn cancel_page(State(state): State<ShimState>, Path(token): Path<String>) -> Response {
    action_page(&state, &token, Purpose::Cancel)
}

#[utoipa::path(
    post,
    path = "/b/{token}/confirm",
    tag = "links",
    summary = "confirm the tour",
    params(LinkToken),
    responses(
        (status = 200, description = "confirmed", body = String, content_type = "text/html"),
        LinkActionRefusals
    )
)]
pub async fn confirm_action(State(state): State<ShimState>, Path(token): Path<String>) -> Response {
    let event_id = link_event_id("confirm", &token);
    let change = Change::Confirm(ConfirmSignal {
        event_id: event_id.clone(),
    });
    change_page(
        &state,
        &token,
        Purpose::Confirm,
        change,
        event_id,
        "Your tour is confirmed.",
    )
    .await
}

#[utoipa::path(
    post,
    path = "/b/{token}/cancel",
    tag = "links",
    summary = "cancel the tour",
    params(LinkToken),
    responses(
        (status = 200, description = "cancelled", body = String, content_type = "text/html"),
        LinkActionRefusals
    )
)]
pub async fn cancel_action(State(state): State<ShimState>, Path(token): Path<String>) -> Response {
    let event_id = link_event_id("cancel", &token);
    let change = Change::Cancel(CancelSignal {
        event_id: event_id.clone(),
        reason: "cancelled from the booking link".into(),
        cancelled_by: "lead".into(),
    });
    change_page(
        &state,
        &token,
        Purpose::Cancel,
        change,
        event_id,
        "Your tour is cancelled.",
    )
    .await
}

async fn change_page(
    state: &ShimState,
    token: &str,
    purpose: Purpose,
    change: Change,
    event_id: String,
    done: &str,
) -> Response {
    let booking = match verify_link(state, token, purpose) {
        Ok(b) => b,
        Err(_) => {
            return page(
                StatusCode::NOT_FOUND,
                "Link not valid",
                "This link is invalid or has expired.",
            );
        }
    };
    let client = match state.client().await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let handoff = &state.inner.handoff;
    let change = ChangeRequest {
        change: Some(change),
    };
    let result = handoff
        .timed(
            "link",
            handoff.request_change(&client, &booking, change, event_id),
        )
        .await;
    match result {
        Ok(_) => page(StatusCode::OK, "Done", done),
        Err(HandoffError::Refused(reason)) => page(
            StatusCode::CONFLICT,
            "Not possible",
            &format!("We could not do that: {reason}"),
        ),
        Err(HandoffError::Closed) => page(
            StatusCode::CONFLICT,
            "Not possible",
            "This booking can no longer be changed.",
        ),
        Err(HandoffError::NotFound) => page(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "This link is invalid or has expired.",
        ),
        Err(HandoffError::Unavailable(m)) => ApiError::Unavailable(m).into_response(),
    }
}
