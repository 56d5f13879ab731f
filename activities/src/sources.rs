//! Activities of the booking sources other than webhooks: Acuity appointments for
//! reconciliation, and the poll of an iCalendar feed. Both are read-only, so any attempt may
//! be retried.

use std::sync::Arc;

use booking_proto::v1::BookingRequest;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use tracing::Instrument;

use crate::{
    acuity::{AcuityClient, booking},
    config::ProvidersConfig,
    http::Http,
    ical::{FeedFetch, FetchFeedInput, fetch_feed},
    policy::activity,
    redact::Redactor,
};

/// `list_acuity_appointments`: appointments starting in `[window_start, window_end)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListAcuityInput {
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AcuityAppointments {
    pub appointments: Vec<AppointmentSummary>,
}

/// One appointment as reconciliation needs it: its state, and the booking it becomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppointmentSummary {
    pub id: u64,
    pub canceled: bool,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The booking's request, with the creation's event id (unchecked).
    pub request: BookingRequest,
}

#[derive(Debug, Clone)]
pub struct SourceActivities {
    /// `None` when Acuity is not configured: there is nothing to list.
    acuity: Option<AcuityClient>,
    /// Feeds are fetched with their own client: a feed is a static file, often large and
    /// slow to render on the platform's side, so it gets more time than an API call.
    feeds: Http,
}

impl SourceActivities {
    pub fn new(config: &ProvidersConfig) -> Result<Self, crate::config::ConfigError> {
        let redactor = Redactor::new(config.secrets());
        let api = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .connect_timeout(std::time::Duration::from_secs(5))
            .build()
            .expect("a reqwest client with only timeouts set always builds");
        let feeds = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("a reqwest client with only timeouts set always builds");
        Ok(Self {
            acuity: config
                .acuity
                .as_ref()
                .map(|acuity| AcuityClient::new(acuity, Http::new(api, redactor.clone()))),
            feeds: Http::new(feeds, redactor),
        })
    }
}

#[activities]
impl SourceActivities {
    /// Every Acuity appointment, active or canceled, starting in the window (none when Acuity is
    /// not configured).
    #[activity(name = activity::LIST_ACUITY_APPOINTMENTS)]
    pub async fn list_acuity_appointments(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: ListAcuityInput,
    ) -> Result<AcuityAppointments, ActivityError> {
        let span = tracing::info_span!("activity", activity = activity::LIST_ACUITY_APPOINTMENTS);
        let Some(acuity) = &self.acuity else {
            return Ok(AcuityAppointments::default());
        };
        let listed = acuity
            .window(input.window_start, input.window_end)
            .instrument(span)
            .await
            .map_err(crate::error::ProviderError::into_activity_error)?;
        Ok(AcuityAppointments {
            appointments: listed
                .into_iter()
                .map(|a| AppointmentSummary {
                    id: a.id,
                    canceled: a.canceled,
                    start: a.start(),
                    end: a.end(),
                    request: booking::request(&a, &booking::scheduled_event_id(a.id), ""),
                })
                .collect(),
        })
    }

    /// The feed, if it changed since the validators given, parsed.
    #[activity(name = activity::FETCH_FEED)]
    pub async fn fetch_feed(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: FetchFeedInput,
    ) -> Result<FeedFetch, ActivityError> {
        let span =
            tracing::info_span!("activity", activity = activity::FETCH_FEED, feed = %input.feed);
        fetch_feed(&self.feeds, &input)
            .instrument(span)
            .await
            .map_err(crate::error::ProviderError::into_activity_error)
    }
}
