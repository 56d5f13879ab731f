//! The read API: `/users/me`, `/scheduled_events`, `/scheduled_events/{uuid}` and invitees.

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::error::CalendlyError;
use super::model::{CalendlyStatus, Uris, render_event, render_invitee};
use crate::body::{PathParams, QueryPairs, bearer};
use crate::defaults;
use crate::state::Shared;
use crate::time;

type Result<T> = std::result::Result<T, CalendlyError>;

const DEFAULT_COUNT: usize = 20;
const MAX_COUNT: usize = 100;

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/users/me", get(me))
        .route("/users/{uuid}", get(user))
        .route("/scheduled_events", get(list_events))
        .route("/scheduled_events/{uuid}", get(get_event))
        .route("/scheduled_events/{uuid}/invitees", get(list_invitees))
        .route(
            "/scheduled_events/{event_uuid}/invitees/{invitee_uuid}",
            get(get_invitee),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn not_found() -> CalendlyError {
    CalendlyError::not_found()
}

async fn method_not_allowed() -> CalendlyError {
    CalendlyError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed",
        "The method is not allowed for this resource.",
    )
}

pub struct CalendlyAuth;

impl FromRequestParts<Shared> for CalendlyAuth {
    type Rejection = CalendlyError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self> {
        match bearer(&parts.headers) {
            Some(token) if token == state.config.calendly_token => Ok(Self),
            _ => Err(CalendlyError::unauthenticated()),
        }
    }
}

fn count(query: &QueryPairs) -> Result<usize> {
    match query.get("count").map(str::parse::<usize>) {
        None => Ok(DEFAULT_COUNT),
        Some(Ok(n)) if (1..=MAX_COUNT).contains(&n) => Ok(n),
        Some(_) => Err(CalendlyError::invalid_argument(
            "count",
            "must be an integer between 1 and 100",
        )),
    }
}

fn time_param(query: &QueryPairs, name: &str) -> Result<Option<DateTime<Utc>>> {
    query
        .get(name)
        .map(|raw| {
            time::parse_rfc3339(raw).ok_or_else(|| {
                CalendlyError::invalid_argument(name, "must be a valid ISO 8601 timestamp")
            })
        })
        .transpose()
}

fn status_param(query: &QueryPairs) -> Result<Option<CalendlyStatus>> {
    match query.get("status") {
        None => Ok(None),
        Some("active") => Ok(Some(CalendlyStatus::Active)),
        Some("canceled") => Ok(Some(CalendlyStatus::Canceled)),
        Some(_) => Err(CalendlyError::invalid_argument(
            "status",
            "must be one of active, canceled",
        )),
    }
}

/// `field:asc|desc`; `true` means ascending.
fn sort_param(query: &QueryPairs, field: &str) -> Result<bool> {
    match query.get("sort") {
        None => Ok(true),
        Some(s) if s == format!("{field}:asc") => Ok(true),
        Some(s) if s == format!("{field}:desc") => Ok(false),
        Some(_) => Err(CalendlyError::invalid_argument(
            "sort",
            &format!("must be {field}:asc or {field}:desc"),
        )),
    }
}

fn last_segment(uri: &str) -> &str {
    uri.trim_end_matches('/').rsplit('/').next().unwrap_or(uri)
}

/// Cuts one page and builds Calendly's `pagination` object, links included.
fn paginate(items: Vec<Value>, query: &QueryPairs, base_url: &str, count: usize) -> Result<Value> {
    let offset = match query.get("page_token") {
        None => 0,
        Some(token) => data_encoding::BASE64URL_NOPAD
            .decode(token.as_bytes())
            .ok()
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| CalendlyError::invalid_argument("page_token", "is invalid"))?,
    };
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(count).collect();
    let token = |o: usize| data_encoding::BASE64URL_NOPAD.encode(o.to_string().as_bytes());
    let link = |t: &str| {
        let mut pairs: Vec<(String, String)> = query
            .0
            .iter()
            .filter(|(k, _)| k != "page_token")
            .cloned()
            .collect();
        pairs.push(("page_token".into(), t.to_owned()));
        let qs = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        format!("{base_url}?{qs}")
    };
    let next = (offset + page.len() < total).then(|| token(offset + page.len()));
    let previous = (offset > 0).then(|| token(offset.saturating_sub(count)));
    Ok(json!({
        "collection": page,
        "pagination": {
            "count": page.len(),
            "next_page": next.as_deref().map(link),
            "next_page_token": next,
            "previous_page": previous.as_deref().map(link),
            "previous_page_token": previous,
        }
    }))
}

/// The one user there is, also under its own URI (webhooks' `created_by` points there).
async fn user(
    State(state): State<Shared>,
    auth: CalendlyAuth,
    PathParams(uuid, _): PathParams<String, CalendlyError>,
) -> Result<Json<Value>> {
    if uuid != defaults::CALENDLY_USER_UUID {
        return Err(CalendlyError::not_found());
    }
    Ok(me(State(state), auth).await)
}

async fn me(State(state): State<Shared>, _: CalendlyAuth) -> Json<Value> {
    let base = state.calendly_base();
    let uris = Uris(&base);
    Json(json!({
        "resource": {
            "uri": uris.user(),
            "name": defaults::CALENDLY_HOST_NAME,
            "slug": "sandbox-agent",
            "email": defaults::CALENDLY_HOST_EMAIL,
            "scheduling_url": "https://calendly.com/sandbox-agent",
            "timezone": "UTC",
            "avatar_url": Value::Null,
            "locale": "en",
            "created_at": "2020-01-01T00:00:00.000000Z",
            "updated_at": "2020-01-01T00:00:00.000000Z",
            "current_organization": uris.organization(),
            "resource_type": "User",
        }
    }))
}

/// Calendly requires the scope of the listing (`user` or `organization`); there is no
/// "updated since" filter, only the start-time window.
async fn list_events(
    State(state): State<Shared>,
    _: CalendlyAuth,
    query: QueryPairs,
) -> Result<Json<Value>> {
    let count = count(&query)?;
    let min = time_param(&query, "min_start_time")?;
    let max = time_param(&query, "max_start_time")?;
    let status = status_param(&query)?;
    let ascending = sort_param(&query, "start_time")?;
    let in_scope = match (query.get("user"), query.get("organization")) {
        (None, None) => {
            return Err(CalendlyError::invalid_argument(
                "organization",
                "one of user, organization or group is required",
            ));
        }
        (Some(user), _) => last_segment(user) == defaults::CALENDLY_USER_UUID,
        (None, Some(org)) => last_segment(org) == defaults::CALENDLY_ORGANIZATION_UUID,
    };
    let invitee_email = query.get("invitee_email").map(str::to_lowercase);
    let base = state.calendly_base();
    let uris = Uris(&base);
    let items = state.read(|p| {
        let calendly = &p.calendly;
        let mut events: Vec<_> = calendly
            .events
            .values()
            .filter(|_| in_scope)
            .filter(|e| status.is_none_or(|s| e.status == s))
            .filter(|e| min.is_none_or(|m| e.start_time >= m))
            .filter(|e| max.is_none_or(|m| e.start_time < m))
            .filter(|e| {
                invitee_email.as_ref().is_none_or(|email| {
                    calendly
                        .invitees
                        .values()
                        .any(|i| i.event_uuid == e.uuid && i.email.to_lowercase() == *email)
                })
            })
            .collect();
        events.sort_by_key(|e| (e.start_time, e.created_at));
        if !ascending {
            events.reverse();
        }
        events
            .into_iter()
            .map(|e| render_event(e, &uris))
            .collect::<Vec<_>>()
    });
    paginate(items, &query, &format!("{base}/scheduled_events"), count).map(Json)
}

async fn get_event(
    State(state): State<Shared>,
    _: CalendlyAuth,
    PathParams(uuid, _): PathParams<String, CalendlyError>,
) -> Result<Json<Value>> {
    let base = state.calendly_base();
    state
        .read(|p| {
            p.calendly
                .events
                .get(&uuid)
                .map(|e| render_event(e, &Uris(&base)))
        })
        .map(|resource| Json(json!({ "resource": resource })))
        .ok_or_else(CalendlyError::not_found)
}

async fn list_invitees(
    State(state): State<Shared>,
    _: CalendlyAuth,
    PathParams(uuid, _): PathParams<String, CalendlyError>,
    query: QueryPairs,
) -> Result<Json<Value>> {
    let count = count(&query)?;
    let status = status_param(&query)?;
    let ascending = sort_param(&query, "created_at")?;
    let email = query.get("email").map(str::to_lowercase);
    let base = state.calendly_base();
    let items = state.read(|p| {
        let calendly = &p.calendly;
        calendly
            .events
            .get(&uuid)
            .ok_or_else(CalendlyError::not_found)?;
        let mut invitees: Vec<_> = calendly
            .invitees
            .values()
            .filter(|i| i.event_uuid == uuid)
            .filter(|i| status.is_none_or(|s| i.status == s))
            .filter(|i| email.as_ref().is_none_or(|e| i.email.to_lowercase() == *e))
            .collect();
        invitees.sort_by_key(|i| i.created_at);
        if !ascending {
            invitees.reverse();
        }
        Ok::<_, CalendlyError>(
            invitees
                .into_iter()
                .map(|i| render_invitee(i, calendly, &Uris(&base)))
                .collect::<Vec<_>>(),
        )
    })?;
    paginate(
        items,
        &query,
        &format!("{base}/scheduled_events/{uuid}/invitees"),
        count,
    )
    .map(Json)
}

async fn get_invitee(
    State(state): State<Shared>,
    _: CalendlyAuth,
    PathParams((event_uuid, invitee_uuid), _): PathParams<(String, String), CalendlyError>,
) -> Result<Json<Value>> {
    let base = state.calendly_base();
    state
        .read(|p| {
            p.calendly
                .invitees
                .get(&invitee_uuid)
                .filter(|i| i.event_uuid == event_uuid)
                .map(|i| render_invitee(i, &p.calendly, &Uris(&base)))
        })
        .map(|resource| Json(json!({ "resource": resource })))
        .ok_or_else(CalendlyError::not_found)
}
