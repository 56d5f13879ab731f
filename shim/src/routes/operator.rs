//! `POST /bookings/{id}/tour-complete`: an operator (bearer token) marks a tour done.

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
};
use booking_proto::{
    domain::{BookingId, FieldError},
    v1::TourCompleteSignal,
};

use super::{Answer, header_str};
use crate::{
    ApiError, ShimState,
    answers::{Accepted, ErrorBody, Taken, ValidationErrors},
    openapi::shared::SignalRefusals,
    signature,
};

#[utoipa::path(
    post, path = "/bookings/{id}/tour-complete",
    tag = "operator",
    summary = "operator: the tour happened",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "the booking id")),
    responses(
        (status = 202, description = "signalled", body = Accepted),
        (status = 400, description = "invalid id", body = ValidationErrors),
        (status = 401, description = "no valid operator token (SHIM_OPERATOR_TOKEN)", body = ErrorBody),
        (status = 404, description = "no such booking", body = ErrorBody),
        SignalRefusals
    )
)]
pub async fn tour_complete(
    State(state): State<ShimState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    signature::verify_bearer(
        header_str(&headers, "authorization"),
        state.config().operator_token.as_ref(),
    )
    .map_err(ApiError::Unauthorized)?;
    let booking =
        BookingId::parse(&id).map_err(|m| ApiError::Invalid(vec![FieldError::new("id", m)]))?;
    let client = state.client().await?;
    let handoff = &state.inner.handoff;
    let signal = TourCompleteSignal {
        event_id: format!("operator:tour-complete:{booking}"),
    };
    handoff
        .timed("operator", handoff.tour_complete(&client, &booking, signal))
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted::new(Taken::Accepted, booking.as_str())),
    )
        .into_response())
}
