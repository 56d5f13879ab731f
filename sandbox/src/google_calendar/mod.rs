//! Google Calendar API v3 stand-in, served under `/google/calendar/v3`
//! (real base `https://www.googleapis.com/calendar/v3`).

pub mod error;
mod events;
mod freebusy;
mod list;
pub mod model;

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use crate::body::bearer;
use crate::state::Shared;
use crate::time;
use error::GoogleError;
use model::{CalendarEventRecord, StoredEvent};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CalendarState {
    /// Changes whenever existing sync tokens must stop working (reset, forced expiry).
    pub epoch: String,
    /// Calendar-wide change counter; a sync token is a position in it.
    pub change_seq: u64,
    /// Calendars by id, created on first use.
    pub calendars: BTreeMap<String, Calendar>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Calendar {
    pub events: BTreeMap<String, StoredEvent>,
    pub next_order: u64,
}

impl CalendarState {
    pub fn ensure_epoch(&mut self) {
        if self.epoch.is_empty() {
            self.renew_epoch();
        }
    }

    /// Invalidates every sync token handed out so far.
    pub fn renew_epoch(&mut self) {
        self.epoch = uuid::Uuid::new_v4().simple().to_string();
    }

    pub fn records(&self, include_deleted: bool) -> Vec<CalendarEventRecord> {
        let mut out: Vec<(u64, CalendarEventRecord)> = self
            .calendars
            .iter()
            .flat_map(|(calendar_id, cal)| {
                cal.events.values().map(move |s| {
                    (
                        s.change_seq,
                        CalendarEventRecord {
                            calendar_id: calendar_id.clone(),
                            event: s.event.clone(),
                        },
                    )
                })
            })
            .filter(|(_, r)| include_deleted || !r.event.is_cancelled())
            .collect();
        out.sort_by_key(|(seq, _)| *seq);
        out.into_iter().map(|(_, r)| r).collect()
    }
}

/// `primary` is an alias of the authorised user's own calendar.
fn resolve_calendar(state: &Shared, calendar_id: &str) -> String {
    if calendar_id == "primary" {
        state.config.google_primary_calendar.clone()
    } else {
        calendar_id.to_owned()
    }
}

/// A valid, unexpired access token from the OAuth stand-in, or a 401.
pub struct GoogleAuth;

impl FromRequestParts<Shared> for GoogleAuth {
    type Rejection = GoogleError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, GoogleError> {
        let token = bearer(&parts.headers).ok_or_else(GoogleError::login_required)?;
        state
            .read(|p| p.google_oauth.check_access(token, time::now()))
            .map(|()| Self)
            .map_err(|_| GoogleError::auth_error())
    }
}

pub fn router() -> Router<Shared> {
    Router::new()
        .route(
            "/calendars/{calendar_id}/events",
            get(list::list).post(events::insert),
        )
        .route(
            "/calendars/{calendar_id}/events/{event_id}",
            get(events::get)
                .patch(events::patch)
                .put(events::update)
                .delete(events::delete),
        )
        .route("/freeBusy", post(freebusy::query))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn not_found() -> GoogleError {
    GoogleError::not_found()
}

async fn method_not_allowed() -> GoogleError {
    GoogleError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "httpMethodNotAllowed",
        "Method Not Allowed",
    )
}
