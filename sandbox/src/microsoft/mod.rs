//! Microsoft identity platform (client-credentials token endpoint) and Microsoft Graph v1.0
//! calendar stand-ins, served under `/microsoft/login` (real
//! `https://login.microsoftonline.com`) and `/microsoft/graph/v1.0` (real
//! `https://graph.microsoft.com/v1.0`).

mod call;
pub mod control;
mod delta;
pub mod error;
mod events;
pub mod login;
pub mod model;
mod odata;
mod schedule;

use std::collections::BTreeMap;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::SandboxConfig;
use crate::percent::segment;
use crate::state::Shared;
use crate::time;
use error::GraphError;
use model::{GraphEventRecord, StoredGraphEvent};

/// Path prefix of the Graph stand-in (what links and `@odata.context` are built from).
pub const GRAPH_PREFIX: &str = "/microsoft/graph/v1.0";

/// An app registration able to use the client-credentials grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MicrosoftApp {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    /// The secret is past its end date: AADSTS7000222 until restored.
    #[serde(default)]
    pub secret_expired: bool,
    /// The app is disabled in the tenant: AADSTS7000112 until restored.
    #[serde(default)]
    pub disabled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GraphAccessToken {
    pub client_id: String,
    pub expires_at: DateTime<Utc>,
}

/// One user's mailbox: its default calendar.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Mailbox {
    /// Events by id, deleted ones kept as tombstones (delta reports them).
    pub events: BTreeMap<String, StoredGraphEvent>,
    /// Mailbox-wide change counter; a delta token is a position in it.
    pub change_seq: u64,
    pub next_order: u64,
}

impl Mailbox {
    /// Changes the live (not deleted) event `id` as `change` says, and records the change for
    /// delta (the next change number, a new change key). `None` when there is no such event;
    /// a change that refuses leaves the event as it was.
    pub fn change_event<E>(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut StoredGraphEvent) -> Result<(), E>,
    ) -> Option<Result<&StoredGraphEvent, E>> {
        let event = self.events.get_mut(id).filter(|e| !e.deleted)?;
        let mut updated = event.clone();
        if let Err(refused) = change(&mut updated) {
            return Some(Err(refused));
        }
        self.change_seq += 1;
        updated.touch(time::now(), self.change_seq);
        *event = updated;
        Some(Ok(event))
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MicrosoftState {
    /// App registrations by client id.
    pub apps: BTreeMap<String, MicrosoftApp>,
    /// Issued access tokens by token.
    pub access_tokens: BTreeMap<String, GraphAccessToken>,
    /// Changes whenever existing delta and skip tokens must stop working.
    pub delta_epoch: String,
    /// Mailboxes by user id (lower-cased), created on first use.
    pub mailboxes: BTreeMap<String, Mailbox>,
}

impl MicrosoftState {
    pub fn apply_config(&mut self, config: &SandboxConfig) {
        self.apps
            .entry(config.microsoft_client_id.clone())
            .or_insert_with(|| MicrosoftApp {
                tenant_id: config.microsoft_tenant_id.clone(),
                client_id: config.microsoft_client_id.clone(),
                client_secret: config.microsoft_client_secret.clone(),
                secret_expired: false,
                disabled: false,
            });
        if self.delta_epoch.is_empty() {
            self.renew_delta_epoch();
        }
    }

    /// Invalidates every delta and skip token handed out so far.
    pub fn renew_delta_epoch(&mut self) {
        self.delta_epoch = uuid::Uuid::new_v4().simple().to_string();
    }

    pub fn expire_access_tokens(&mut self, now: DateTime<Utc>) {
        for token in self.access_tokens.values_mut() {
            token.expires_at = token.expires_at.min(now);
        }
    }

    pub fn token_valid(&self, token: &str, now: DateTime<Utc>) -> bool {
        self.access_tokens
            .get(token)
            .is_some_and(|t| t.expires_at > now)
    }

    pub fn mailbox_mut(&mut self, user: &str) -> &mut Mailbox {
        self.mailboxes.entry(user_key(user)).or_default()
    }

    /// The mailbox and event holding `id` (event ids are unique across mailboxes).
    pub fn find_mut(&mut self, id: &str) -> Option<(&mut Mailbox, String)> {
        let user = self
            .mailboxes
            .iter()
            .find(|(_, m)| m.events.contains_key(id))
            .map(|(u, _)| u.clone())?;
        self.mailboxes.get_mut(&user).map(|m| (m, user))
    }

    pub fn records(&self, include_deleted: bool) -> Vec<GraphEventRecord> {
        let mut out: Vec<(DateTime<Utc>, u64, GraphEventRecord)> = self
            .mailboxes
            .iter()
            .flat_map(|(user, m)| {
                m.events
                    .values()
                    .filter(move |s| include_deleted || !s.deleted)
                    .map(move |s| (s.created_at, s.order, s.record(user)))
            })
            .collect();
        out.sort_by_key(|(created, order, _)| (*created, *order));
        out.into_iter().map(|(_, _, r)| r).collect()
    }
}

/// Users are addressed by UPN or object id; both compare case-insensitively.
pub fn user_key(user: &str) -> String {
    user.trim().to_lowercase()
}

/// Percent-encodes a query value (OData literals carry quotes, spaces and slashes).
pub fn query_value(raw: &str) -> String {
    segment(raw)
}

pub fn graph_router() -> Router<Shared> {
    Router::new()
        .route(
            "/users/{user}/calendar/events",
            get(events::list).post(events::create),
        )
        .route(
            "/users/{user}/calendar/events/{id}",
            get(events::get).patch(events::patch).delete(events::delete),
        )
        .route(
            "/users/{user}/calendar/getSchedule",
            post(schedule::get_schedule),
        )
        .route("/users/{user}/calendarView/delta", get(delta::delta))
        .fallback(graph_not_found)
        .method_not_allowed_fallback(graph_method_not_allowed)
}

pub fn login_router() -> Router<Shared> {
    login::router()
}

async fn graph_not_found() -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        "Resource not found for the segment.",
    )
}

async fn graph_method_not_allowed() -> GraphError {
    GraphError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Request_BadRequest",
        "Specified HTTP method is not allowed for the request target.",
    )
}
