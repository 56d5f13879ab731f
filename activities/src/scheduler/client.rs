//! The Calendly v2 read client.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;
use url::Url;

use super::{
    classify::classify,
    model::{
        CalendlyStatus, CurrentUser, Invitee, PROVIDER, ScheduledEvent, Validate, bad, parse_page,
        parse_resource,
    },
};
use crate::{
    config::CalendlyConfig,
    error::ProviderError,
    http::{Answer, Http},
};

/// Items per page asked for (Calendly's maximum).
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Pages one listing may take before it is abandoned as runaway: 50 pages of 100 is 5,000
/// events in one reconciliation window, far beyond a venue team's hour.
pub const DEFAULT_MAX_PAGES: u32 = 50;

/// A start-time window of scheduled events: `min_start_time <= start < max_start_time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventWindow {
    pub min_start_time: DateTime<Utc>,
    pub max_start_time: DateTime<Utc>,
    /// `None`: active and canceled events alike.
    pub status: Option<CalendlyStatus>,
}

/// Whose events a listing covers (`GET /scheduled_events` needs one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListScope {
    /// Every member's events (`organization=`); needs an admin's token on real Calendly,
    /// which answers 403 (`AuthRejected`, fatal and visible) otherwise.
    #[default]
    Organization,
    /// Only the token owner's events (`user=`).
    User,
}

/// Calendly v2 client authenticated with a personal access token.
#[derive(Debug, Clone)]
pub struct CalendlyClient {
    http: Http,
    config: CalendlyConfig,
    page_size: u32,
    max_pages: u32,
    scope: ListScope,
    /// `/users/me`, read once per client (the token, and so the user, never changes).
    user: Arc<OnceCell<CurrentUser>>,
}

fn calendly_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl CalendlyClient {
    pub fn new(http: Http, config: CalendlyConfig) -> Self {
        Self {
            http,
            config,
            page_size: DEFAULT_PAGE_SIZE,
            max_pages: DEFAULT_MAX_PAGES,
            scope: ListScope::default(),
            user: Arc::new(OnceCell::new()),
        }
    }

    /// Items per page (`count`, 1..=100; clamped).
    pub fn with_page_size(mut self, count: u32) -> Self {
        self.page_size = count.clamp(1, 100);
        self
    }

    /// Pages one listing may follow before failing (at least 1).
    pub fn with_max_pages(mut self, pages: u32) -> Self {
        self.max_pages = pages.max(1);
        self
    }

    pub fn with_scope(mut self, scope: ListScope) -> Self {
        self.scope = scope;
        self
    }

    pub fn config(&self) -> &CalendlyConfig {
        &self.config
    }

    fn url(&self, segments: &[&str]) -> Url {
        crate::http::endpoint(&self.config.base_url, segments.iter().copied())
    }

    /// A GET whose answer must be 2xx; anything else is classified.
    async fn get(&self, url: Url) -> Result<Answer, ProviderError> {
        let request = self
            .http
            .client
            .get(url)
            .bearer_auth(self.config.token.expose());
        let answer = self.http.send(PROVIDER, request).await?;
        if answer.is_success() {
            Ok(answer)
        } else {
            Err(classify(answer))
        }
    }

    /// Follows `next_page_token` from `url` to the end, at most `max_pages` pages.
    async fn all_pages<T: DeserializeOwned + Validate>(
        &self,
        what: &str,
        url: Url,
    ) -> Result<Vec<T>, ProviderError> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..self.max_pages {
            let mut page_url = url.clone();
            {
                let mut q = page_url.query_pairs_mut();
                q.append_pair("count", &self.page_size.to_string());
                if let Some(token) = &token {
                    q.append_pair("page_token", token);
                }
            }
            let page = parse_page::<T>(&self.get(page_url).await?, what)?;
            items.extend(page.collection);
            match page.pagination.next_page_token {
                Some(next) if !next.is_empty() => {
                    if token.as_deref() == Some(next.as_str()) {
                        return Err(bad(format!(
                            "{what}: next_page_token {next:?} repeats the page just read"
                        )));
                    }
                    token = Some(next);
                }
                _ => return Ok(items),
            }
        }
        Err(bad(format!(
            "{what}: still more pages after {} pages of {} ({} items); narrow the window or \
             raise the page limit",
            self.max_pages,
            self.page_size,
            items.len()
        )))
    }

    /// The token owner (`GET /users/me`): its URI and organization scope every listing.
    pub async fn current_user(&self) -> Result<CurrentUser, ProviderError> {
        self.user
            .get_or_try_init(|| async {
                let answer = self.get(self.url(&["users", "me"])).await?;
                parse_resource::<CurrentUser>(&answer, "GET /users/me")
            })
            .await
            .cloned()
    }

    /// Every scheduled event starting in the window (ascending start time), all pages.
    pub async fn scheduled_events(
        &self,
        window: &EventWindow,
    ) -> Result<Vec<ScheduledEvent>, ProviderError> {
        let user = self.current_user().await?;
        let mut url = self.url(&["scheduled_events"]);
        {
            let mut q = url.query_pairs_mut();
            match self.scope {
                ListScope::Organization => {
                    q.append_pair("organization", &user.current_organization)
                }
                ListScope::User => q.append_pair("user", &user.uri),
            };
            q.append_pair("min_start_time", &calendly_time(window.min_start_time))
                .append_pair("max_start_time", &calendly_time(window.max_start_time))
                .append_pair("sort", "start_time:asc");
            if let Some(status) = window.status {
                q.append_pair("status", status.as_str());
            }
        }
        let events: Vec<ScheduledEvent> = self.all_pages("GET /scheduled_events", url).await?;
        // Offset paging over data that changes meanwhile can repeat an item across pages.
        let mut seen = std::collections::HashSet::new();
        Ok(events
            .into_iter()
            .filter(|e| seen.insert(e.uri.clone()))
            .collect())
    }

    /// One scheduled event.
    pub async fn scheduled_event(&self, event_uuid: &str) -> Result<ScheduledEvent, ProviderError> {
        let answer = self
            .get(self.url(&["scheduled_events", event_uuid]))
            .await?;
        parse_resource(&answer, "GET /scheduled_events/{uuid}")
    }

    /// Every invitee of the event, canceled ones included (oldest first), all pages.
    pub async fn invitees(&self, event_uuid: &str) -> Result<Vec<Invitee>, ProviderError> {
        let mut url = self.url(&["scheduled_events", event_uuid, "invitees"]);
        url.query_pairs_mut().append_pair("sort", "created_at:asc");
        let invitees: Vec<Invitee> = self
            .all_pages("GET /scheduled_events/{uuid}/invitees", url)
            .await?;
        let mut seen = std::collections::HashSet::new();
        Ok(invitees
            .into_iter()
            .filter(|i| seen.insert(i.uri.clone()))
            .collect())
    }

    /// One invitee of one event.
    pub async fn invitee(
        &self,
        event_uuid: &str,
        invitee_uuid: &str,
    ) -> Result<Invitee, ProviderError> {
        let url = self.url(&["scheduled_events", event_uuid, "invitees", invitee_uuid]);
        let answer = self.get(url).await?;
        parse_resource(
            &answer,
            "GET /scheduled_events/{event_uuid}/invitees/{invitee_uuid}",
        )
    }
}
