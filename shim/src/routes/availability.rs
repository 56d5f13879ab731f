//! `GET /open-houses/{id}/availability`: the landing page's seat counter.

use axum::{
    extract::{Path, State},
    response::IntoResponse,
};
use booking_proto::domain::FieldError;

use super::Answer;
use crate::{
    ApiError, ShimState,
    answers::{ErrorBody, ValidationErrors},
    availability::{self, SeatCounter},
};

/// The landing page's seat counter, from the cache (see [`availability`]).
#[utoipa::path(
    get, path = "/open-houses/{id}/availability",
    tag = "landing page",
    summary = "seat counter of an open house's landing page, served from a cache refreshed every few seconds",
    params(("id" = String, Path, description = "the open house", min_length = 1, max_length = 200, pattern = "^[!-~]+$")),
    responses(
        (status = 200, description = "seats left, waitlist length and capacity", body = SeatCounter,
         headers(("Cache-Control" = String, description = "public, max-age=<refresh interval in seconds>"))),
        (status = 400, description = "the id is not 1..=200 visible ASCII characters", body = ValidationErrors),
        (status = 404, description = "no ledger runs for this open house", body = ErrorBody),
        (status = 503, description = "Temporal is unreachable or did not answer the query in time; retry after the given seconds", body = ErrorBody, headers(("Retry-After" = u64, description = "seconds (SHIM_RETRY_AFTER_SECS)")))
    )
)]
pub async fn open_house_availability(
    State(state): State<ShimState>,
    Path(id): Path<String>,
) -> Answer {
    if id.is_empty() || id.len() > 200 || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::Invalid(vec![FieldError::new(
            "id",
            "1..=200 visible ASCII characters",
        )]));
    }
    let client = state.client().await?;
    let counter = state
        .inner
        .seats
        .counter(&client, &id)
        .await
        .map_err(|e| match e {
            availability::CounterError::NotFound => ApiError::NotFound,
            retryable @ (availability::CounterError::Unavailable(_)
            | availability::CounterError::TimedOut(_)) => {
                ApiError::Unavailable(retryable.to_string())
            }
        })?;
    let max_age = state.inner.seats.refresh_interval().as_secs().max(1);
    Ok((
        [(
            axum::http::header::CACHE_CONTROL,
            format!("public, max-age={max_age}"),
        )],
        axum::Json(counter),
    )
        .into_response())
}
