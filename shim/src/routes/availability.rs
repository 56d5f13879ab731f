//! `GET /open-houses/{id}/availability`: the landing page's seat counter.

use axum::{
    extract::{Path, State},
    response::{IntoResponse, Response},
};
use booking_proto::domain::FieldError;

use crate::{ApiError, ShimState, availability};

/// The landing page's seat counter, from the cache (see [`availability`]).
pub async fn open_house_availability(
    State(state): State<ShimState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
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
