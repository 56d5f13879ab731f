//! `GET /open-houses/{id}/availability`: the landing page's seat counter.
//!
//! A landing page can be viewed thousands of times a minute; one workflow query per view would
//! put the ledger's single history shard on the page's critical path. So answers come from an
//! in-memory cache that queries the open house's ledger at most once per refresh interval
//! (`SHIM_AVAILABILITY_REFRESH_MS`, 2000), and the response says the same to browsers and CDNs
//! (`Cache-Control: public, max-age=<interval>`).

use std::{
    collections::HashMap,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use booking_workflows::ledger::{ResourceKind, SlotLedgerWorkflow, ledger_workflow_id};
use serde::{Deserialize, Serialize};
use temporalio_client::{Client, WorkflowQueryOptions, errors::WorkflowQueryError};
use tokio::sync::Mutex;

/// What the counter shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatCounter {
    pub seats_left: u32,
    pub waitlist_length: u32,
    pub capacity: u32,
}

#[derive(Debug)]
pub enum CounterError {
    /// No ledger runs for this open house.
    NotFound,
    /// Temporal did not answer.
    Unavailable(String),
}

/// Cached counters by open house id.
#[derive(Debug)]
pub struct AvailabilityCache {
    refresh: Duration,
    /// One lock for all entries: a refresh holds it while it queries, so concurrent views of a
    /// stale counter wait for that one query instead of each sending their own.
    entries: Mutex<HashMap<String, (Instant, SeatCounter)>>,
    queries: AtomicU64,
}

impl AvailabilityCache {
    pub fn new(refresh: Duration) -> Self {
        Self {
            refresh,
            entries: Mutex::new(HashMap::new()),
            queries: AtomicU64::new(0),
        }
    }

    pub fn refresh_interval(&self) -> Duration {
        self.refresh
    }

    /// Ledger queries sent so far (what the cache exists to keep low).
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    pub async fn counter(
        &self,
        client: &Client,
        open_house_id: &str,
    ) -> Result<SeatCounter, CounterError> {
        let mut entries = self.entries.lock().await;
        if let Some((fetched, counter)) = entries.get(open_house_id)
            && fetched.elapsed() < self.refresh
        {
            return Ok(*counter);
        }
        self.queries.fetch_add(1, Ordering::Relaxed);
        let availability = client
            .get_workflow_handle::<SlotLedgerWorkflow>(ledger_workflow_id(
                ResourceKind::OpenHouse,
                open_house_id,
            ))
            .query(
                SlotLedgerWorkflow::availability,
                (),
                WorkflowQueryOptions::default(),
            )
            .await
            .map_err(|e| match e {
                WorkflowQueryError::NotFound(_) => CounterError::NotFound,
                other => CounterError::Unavailable(other.to_string()),
            })?;
        let counter = SeatCounter {
            seats_left: availability.seats_left,
            waitlist_length: availability.waitlist_length,
            capacity: availability.capacity,
        };
        entries.insert(open_house_id.to_owned(), (Instant::now(), counter));
        Ok(counter)
    }
}
