//! The shim's own middleware: the body deadline and limit, the request counter, and the
//! `Retry-After` of 503s. (Request ids and the request's span are [`crate::request_log`]'s; the
//! in-flight cap is [`crate::in_flight`]'s.)

use axum::{
    Json,
    extract::{MatchedPath, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{ShimState, answers::ErrorBody};

/// Reads the whole body (up to the body limit) within `SHIM_BODY_READ_TIMEOUT_MS` of the
/// headers, before any handler runs: a client trickling its body gets 408 and its connection
/// closed instead of holding a task open. A declared length over the limit is answered 413
/// unread; a chunked body is cut off with 413 as soon as it passes the limit.
///
/// Hand-written rather than tower-http's `RequestBodyLimitLayer` and `RequestBodyTimeoutLayer`:
/// those answer 413 with a plain-text body and keep the connection, and their timeout restarts
/// with every frame, so a body trickled a byte at a time would never time out.
pub async fn read_body_in_time(
    State(state): State<ShimState>,
    request: Request,
    next: Next,
) -> Response {
    use futures::StreamExt;
    let limit = state.config().body_limit;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let refused = |status: StatusCode, message: &str| {
        let mut response = (status, Json(ErrorBody::new(message))).into_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    };
    if declared.is_some_and(|len| len > limit as u64) {
        tracing::info!(declared, limit, "the declared body is over the limit");
        return refused(StatusCode::PAYLOAD_TOO_LARGE, "the body is over the limit");
    }
    let (parts, body) = request.into_parts();
    let mut stream = body.into_data_stream();
    let read = async {
        let mut buffer: Vec<u8> = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
            if buffer.len() + chunk.len() > limit {
                return Err((
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "the body is over the limit".to_owned(),
                ));
            }
            buffer.extend_from_slice(&chunk);
        }
        Ok(buffer)
    };
    let timeout = state.config().body_read_timeout;
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(buffer)) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(buffer)))
                .await
        }
        Ok(Err((status, reason))) => {
            tracing::info!(status = status.as_u16(), %reason, "the body could not be read");
            refused(status, "the body could not be read")
        }
        Err(_) => {
            tracing::warn!(
                timeout_ms = timeout.as_millis() as u64,
                "the body did not arrive in time; closing the connection"
            );
            refused(
                StatusCode::REQUEST_TIMEOUT,
                "the body did not arrive in time",
            )
        }
    }
}

/// Counts every answer by route template and status (`shim_requests_total`). A route layer.
pub async fn count_requests(
    State(state): State<ShimState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    state
        .inner
        .metrics
        .count_request(&route, response.status().as_u16());
    response
}

/// Gives every 503 an [`crate::ApiError`] asked to be retried the configured `Retry-After`.
pub async fn retry_after(State(state): State<ShimState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    state.inner.retry_after.apply(&mut response);
    response
}
