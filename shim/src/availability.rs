//! `GET /open-houses/{id}/availability`: the landing page's seat counter.
//!
//! A landing page can be viewed thousands of times a minute, and its id comes from the URL, so
//! anyone can ask for any id. One workflow query per view would put the ledger's single
//! history shard on the page's critical path, and a flood of made-up ids would turn into a
//! flood of queries. So answers come from a [`CoalescingCache`]:
//! - each open house's ledger is queried at most once per refresh interval
//!   (`SHIM_AVAILABILITY_REFRESH_MS`, 2000), and the response says the same to browsers and
//!   CDNs (`Cache-Control: public, max-age=<interval>`);
//! - an id with no ledger is remembered as such for the same interval;
//! - concurrent views of one stale or unknown id wait for one query, without holding up
//!   views of other ids;
//! - a query gets `SHIM_AVAILABILITY_QUERY_TIMEOUT_MS` (2000), after which the view is answered
//!   503 with `Retry-After`;
//! - at most `SHIM_AVAILABILITY_CACHE_ENTRIES` (10000) ids are remembered, the oldest dropped
//!   first, so random ids cannot grow memory without bound.

use std::time::Duration;

use booking_workflows::ledger::{ResourceKind, SlotLedgerWorkflow, ledger_workflow_id};
use serde::{Deserialize, Serialize};
use temporalio_client::{Client, WorkflowQueryOptions, errors::WorkflowQueryError};

use crate::{
    coalescing_cache::{CacheLimits, CoalescingCache, FetchError},
    config::ShimConfig,
};

/// What the counter shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SeatCounter {
    pub seats_left: u32,
    pub waitlist_length: u32,
    pub capacity: u32,
}

/// Why there is no counter to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CounterError {
    /// Fatal (for this id, for one refresh interval): no ledger runs for this open house.
    #[error("no ledger runs for this open house")]
    NotFound,
    /// Retryable: Temporal answered the query with an error.
    #[error("Temporal did not answer the availability query: {0}")]
    Unavailable(String),
    /// Retryable: Temporal did not answer within `SHIM_AVAILABILITY_QUERY_TIMEOUT_MS`.
    #[error("Temporal did not answer the availability query within {0:?}")]
    TimedOut(Duration),
}

impl From<FetchError> for CounterError {
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::Unavailable(m) => CounterError::Unavailable(m),
            FetchError::TimedOut(t) => CounterError::TimedOut(t),
        }
    }
}

/// Cached counters by open house id.
pub struct AvailabilityCache {
    cache: CoalescingCache<SeatCounter>,
}

impl AvailabilityCache {
    pub fn new(limits: CacheLimits) -> Self {
        Self {
            cache: CoalescingCache::new(limits),
        }
    }

    /// The limits `SHIM_AVAILABILITY_*` set.
    pub fn from_config(config: &ShimConfig) -> Self {
        Self::new(CacheLimits {
            ttl: config.availability_refresh,
            max_entries: config.availability_cache_entries,
            fetch_timeout: config.availability_query_timeout,
        })
    }

    pub fn refresh_interval(&self) -> Duration {
        self.cache.limits().ttl
    }

    /// Ledger queries sent so far (what the cache exists to keep low).
    pub fn queries(&self) -> u64 {
        self.cache.fetches()
    }

    /// Open houses (and unknown ids) remembered right now; never more than the bound.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    pub fn max_entries(&self) -> usize {
        self.cache.limits().max_entries
    }

    pub async fn counter(
        &self,
        client: &Client,
        open_house_id: &str,
    ) -> Result<SeatCounter, CounterError> {
        self.cache
            .get_or_fetch(open_house_id, || query_ledger(client, open_house_id))
            .await?
            .ok_or(CounterError::NotFound)
    }
}

/// Asks the open house's ledger workflow for its counter; `None` when no such ledger exists.
async fn query_ledger(client: &Client, open_house_id: &str) -> Result<Option<SeatCounter>, String> {
    let answer = client
        .get_workflow_handle::<SlotLedgerWorkflow>(ledger_workflow_id(
            ResourceKind::OpenHouse,
            open_house_id,
        ))
        .query(
            SlotLedgerWorkflow::availability,
            (),
            WorkflowQueryOptions::default(),
        )
        .await;
    match answer {
        Ok(availability) => Ok(Some(SeatCounter {
            seats_left: availability.seats_left,
            waitlist_length: availability.waitlist_length,
            capacity: availability.capacity,
        })),
        Err(WorkflowQueryError::NotFound(_)) => Ok(None),
        Err(other) => Err(other.to_string()),
    }
}
