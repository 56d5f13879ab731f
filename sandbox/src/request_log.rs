//! The per-request log tests use to count provider calls (`GET /_sandbox/requests`).

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One provider request as the sandbox answered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Increases by one per request since start (survives reset, so ordering stays total).
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// `None` when the connection was dropped without a response.
    pub status: Option<u16>,
    pub outcome: RequestOutcome,
    pub duration_ms: u64,
}

/// Who produced the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestOutcome {
    /// The provider stand-in answered.
    Handled,
    /// An injected response answered.
    Injected,
    /// Chaos mode answered with an error.
    Chaos,
    /// The connection was closed without a response.
    Dropped,
}

#[derive(Debug)]
pub struct RequestLog {
    capacity: usize,
    next_seq: u64,
    entries: VecDeque<RequestRecord>,
}

impl RequestLog {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            next_seq: 1,
            entries: VecDeque::new(),
        }
    }

    pub fn push(&mut self, mut record: RequestRecord) {
        record.seq = self.next_seq;
        self.next_seq += 1;
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(record);
    }

    pub fn entries(&self) -> impl Iterator<Item = &RequestRecord> {
        self.entries.iter()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
