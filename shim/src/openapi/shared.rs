//! Answers and parameters that several routes document alike, written once: each is what one
//! piece of shared code answers ([`crate::ApiError`]'s refusals, the link pages' refusals), so
//! its description belongs beside that code's meaning rather than on every handler.
//!
//! Handlers name them in `responses(...)` and `params(...)` next to their own answers.

use std::collections::BTreeMap;

use utoipa::{
    IntoParams, IntoResponses,
    openapi::{ContentBuilder, ObjectBuilder, RefOr, Response, ResponseBuilder, Type},
};

use super::{error_ref, seconds_header};

/// 503 with `Retry-After` from [`crate::ApiError::Unavailable`]: the hand-off did not reach a
/// Temporal that holds it, so nothing was taken and the sender retries.
pub struct TemporalUnreachable;

/// What a signal to a booking may answer besides the route's own answers: 409 from
/// [`crate::handoff::HandoffError::Closed`] (the booking has ended), and the 503 of
/// [`TemporalUnreachable`].
pub struct SignalRefusals;

/// 401 from a webhook's signature check.
pub struct NoValidSignature;

/// 415 from [`crate::routes`]' JSON check.
pub struct NotJson;

/// The link pages' (`GET /b/{token}/…`) only refusal: an HTML page, since a person reads it.
pub struct LinkPageRefusals;

/// The link actions' (`POST /b/{token}/…`) refusals: HTML pages for the lead, and the JSON 503
/// every hand-off gives.
pub struct LinkActionRefusals;

/// The signed token of a lead's link (`/q/{token}`, `/b/{token}/…`).
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Only its parameter description is read.
pub struct LinkToken {
    /// the signed link token
    token: String,
}

type Answers = BTreeMap<String, RefOr<Response>>;

fn json_error(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new().schema(Some(error_ref())).build(),
    )
}

fn html_page(description: &str) -> Response {
    let text = ObjectBuilder::new().schema_type(Type::String);
    ResponseBuilder::new()
        .description(description)
        .content(
            "text/html",
            ContentBuilder::new().schema(Some(text)).build(),
        )
        .build()
}

fn answers(list: impl IntoIterator<Item = (&'static str, Response)>) -> Answers {
    list.into_iter()
        .map(|(status, response)| (status.to_owned(), RefOr::T(response)))
        .collect()
}

impl IntoResponses for TemporalUnreachable {
    fn responses() -> Answers {
        let unreachable = json_error("Temporal is unreachable; retry after the given seconds")
            .header("Retry-After", seconds_header())
            .build();
        answers([("503", unreachable)])
    }
}

impl IntoResponses for SignalRefusals {
    fn responses() -> Answers {
        let mut refused = answers([("409", json_error("the booking is closed").build())]);
        refused.extend(TemporalUnreachable::responses());
        refused
    }
}

impl IntoResponses for NoValidSignature {
    fn responses() -> Answers {
        answers([("401", json_error("no valid signature").build())])
    }
}

impl IntoResponses for NotJson {
    fn responses() -> Answers {
        answers([("415", json_error("the body is not JSON").build())])
    }
}

impl IntoResponses for LinkPageRefusals {
    fn responses() -> Answers {
        answers([("404", html_page("invalid or expired link"))])
    }
}

impl IntoResponses for LinkActionRefusals {
    fn responses() -> Answers {
        let mut refused = answers([
            ("404", html_page("invalid or expired link")),
            ("409", html_page("the booking refused, or is closed")),
        ]);
        refused.extend(TemporalUnreachable::responses());
        refused
    }
}
