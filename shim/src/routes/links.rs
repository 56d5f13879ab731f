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

use super::Answer;
use crate::{
    ApiError, ShimState,
    answers::ErrorBody,
    handoff::HandoffError,
    links::{self, Purpose},
    openapi::shared::{LinkActionRefusals, LinkPageRefusals, LinkToken, SignalRefusals},
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
    get, path = "/q/{token}",
    tag = "links",
    summary = "questionnaire link: records the visit, then redirects",
    params(LinkToken),
    responses(
        (status = 303, description = "to the questionnaire", headers(("Location" = String, description = "the questionnaire, naming the booking"))),
        (status = 404, description = "invalid or expired link, or no such booking", body = ErrorBody),
        SignalRefusals
    )
)]
pub async fn questionnaire_link(
    State(state): State<ShimState>,
    Path(token): Path<String>,
) -> Answer {
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

/// The one refusal a lead sees for a link: it does not say whether the link was forged, old or
/// names no booking.
fn link_not_valid() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Link not valid",
        "This link is invalid or has expired.",
    )
}

/// A link that changes the booking: its page, the change it asks for and what it says once done.
#[derive(Debug, Clone, Copy)]
enum LinkAction {
    Confirm,
    Cancel,
}

impl LinkAction {
    fn purpose(self) -> Purpose {
        match self {
            Self::Confirm => Purpose::Confirm,
            Self::Cancel => Purpose::Cancel,
        }
    }

    /// The page's title and its button's label.
    fn offer(self) -> (&'static str, &'static str) {
        match self {
            Self::Confirm => ("Confirm your tour", "Confirm"),
            Self::Cancel => ("Cancel your tour", "Cancel the tour"),
        }
    }

    fn done(self) -> &'static str {
        match self {
            Self::Confirm => "Your tour is confirmed.",
            Self::Cancel => "Your tour is cancelled.",
        }
    }

    /// The change, named by the click: the same click twice is one request.
    fn change(self, token: &str) -> (ChangeRequest, String) {
        let name = match self {
            Self::Confirm => "confirm",
            Self::Cancel => "cancel",
        };
        let event_id = link_event_id(name, token);
        let change = match self {
            Self::Confirm => Change::Confirm(ConfirmSignal {
                event_id: event_id.clone(),
            }),
            Self::Cancel => Change::Cancel(CancelSignal {
                event_id: event_id.clone(),
                reason: "cancelled from the booking link".into(),
                cancelled_by: "lead".into(),
            }),
        };
        let request = ChangeRequest {
            change: Some(change),
        };
        (request, event_id)
    }
}

/// The page a link opens: a button, because mail scanners and previewers follow GET links and
/// must not confirm or cancel a tour by doing so.
fn action_page(state: &ShimState, token: &str, action: LinkAction) -> Response {
    if verify_link(state, token, action.purpose()).is_err() {
        return link_not_valid();
    }
    let (title, button) = action.offer();
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

/// The button's `POST`: asks the booking for the change and shows its verdict.
async fn change_page(state: &ShimState, token: &str, action: LinkAction) -> Response {
    let Ok(booking) = verify_link(state, token, action.purpose()) else {
        return link_not_valid();
    };
    let client = match state.client().await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let handoff = &state.inner.handoff;
    let (change, event_id) = action.change(token);
    let result = handoff
        .timed(
            "link",
            handoff.request_change(&client, &booking, change, event_id),
        )
        .await;
    match result {
        Ok(_) => page(StatusCode::OK, "Done", action.done()),
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
        Err(HandoffError::NotFound) => link_not_valid(),
        Err(HandoffError::Unavailable(m)) => ApiError::Unavailable(m).into_response(),
    }
}

/// One action link's two routes, which differ only in the action and the words their
/// descriptions use: `GET` shows the button, `POST` presses it.
macro_rules! action_link_routes {
    (
        $action:expr, $path:literal,
        $page:ident: $page_summary:literal, $page_answer:literal;
        $act:ident: $act_summary:literal, $act_answer:literal
    ) => {
        #[utoipa::path(get, path = $path, tag = "links", summary = $page_summary, params(LinkToken),
            responses((status = 200, description = $page_answer, body = String, content_type = "text/html"), LinkPageRefusals))]
        pub async fn $page(State(state): State<ShimState>, Path(token): Path<String>) -> Response {
            action_page(&state, &token, $action)
        }

        #[utoipa::path(post, path = $path, tag = "links", summary = $act_summary, params(LinkToken),
            responses((status = 200, description = $act_answer, body = String, content_type = "text/html"), LinkActionRefusals))]
        pub async fn $act(State(state): State<ShimState>, Path(token): Path<String>) -> Response {
            change_page(&state, &token, $action).await
        }
    };
}

action_link_routes!(
    LinkAction::Confirm, "/b/{token}/confirm",
    confirm_page: "confirm page: a button, since mail scanners follow GET links", "page with a confirm button";
    confirm_action: "confirm the tour", "confirmed"
);

action_link_routes!(
    LinkAction::Cancel, "/b/{token}/cancel",
    cancel_page: "cancel page: a button, since mail scanners follow GET links", "page with a cancel button";
    cancel_action: "cancel the tour", "cancelled"
);
