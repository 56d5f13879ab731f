//! HubSpot CRM v3 stand-in, served under `/hubspot` (real base `https://api.hubapi.com`):
//! contacts, tasks and notes, their property schemas, search and batch upsert.

mod batch;
pub mod error;
mod objects;
mod properties;
pub mod schema;
mod search;
pub mod store;
pub mod table;

use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::body::bearer;
use crate::state::Shared;
use error::HubspotError;
pub use store::HubspotState;

const WINDOW_MS: &str = "10000";

pub fn router(state: Shared) -> Router<Shared> {
    Router::new()
        .route(
            "/crm/v3/objects/{object_type}",
            get(objects::list).post(objects::create),
        )
        .route("/crm/v3/objects/{object_type}/search", post(search::search))
        .route(
            "/crm/v3/objects/{object_type}/batch/upsert",
            post(batch::upsert),
        )
        .route(
            "/crm/v3/objects/{object_type}/{id}",
            get(objects::get)
                .patch(objects::update)
                .delete(objects::archive),
        )
        .route(
            "/crm/v3/properties/{object_type}",
            get(properties::list).post(properties::create),
        )
        .route(
            "/crm/v3/properties/{object_type}/{name}",
            get(properties::get),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state, guard))
}

async fn not_found() -> HubspotError {
    HubspotError::new(StatusCode::NOT_FOUND, "OBJECT_NOT_FOUND", "Not Found")
}

async fn method_not_allowed() -> HubspotError {
    HubspotError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "VALIDATION_ERROR",
        "Method Not Allowed",
    )
}

fn rate_headers(headers: &mut HeaderMap, max: u32, remaining: u32) {
    headers.insert("X-HubSpot-RateLimit-Max", HeaderValue::from(max));
    headers.insert(
        "X-HubSpot-RateLimit-Remaining",
        HeaderValue::from(remaining),
    );
    headers.insert(
        "X-HubSpot-RateLimit-Interval-Milliseconds",
        HeaderValue::from_static(WINDOW_MS),
    );
}

/// Private-app token check and the ten-second rolling limit, in HubSpot's order; the
/// rate-limit headers go on every answer so clients can pace themselves.
async fn guard(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let limit = state.config.hubspot_limit_per_10s;
    let token_ok = match bearer(req.headers()) {
        None => Err(HubspotError::invalid_auth(
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        )),
        Some(token) if token != state.config.hubspot_token => Err(HubspotError::invalid_auth(
            "The access token provided is invalid or has been revoked.",
        )),
        Some(_) => Ok(()),
    };
    if let Err(error) = token_ok {
        let mut response = error.into_response();
        rate_headers(response.headers_mut(), limit, limit);
        return response;
    }
    let window = state.runtime(|rt| rt.hubspot_window.hit(Instant::now(), limit));
    let mut response = if window.allowed {
        next.run(req).await
    } else {
        HubspotError::rate_limited().into_response()
    };
    rate_headers(response.headers_mut(), limit, window.remaining);
    response
}
