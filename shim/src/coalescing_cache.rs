//! A bounded, expiring cache of lookups keyed by strings that come from untrusted URLs, in
//! which concurrent misses for one key share one fetch.
//!
//! What it protects is the source behind it (a Temporal workflow query): however requests
//! arrive, the source sees
//! - at most one fetch in flight per key (single flight): requests for a key being fetched wait
//!   for that fetch's answer; requests for other keys are never blocked by it;
//! - at most one fetch per key per time to live, for keys that exist *and* for keys that do
//!   not (negative entries), so a flood of one unknown key costs one fetch;
//! - no fetch longer than the fetch timeout: a source that hangs costs each waiting request
//!   at most that long, and the answer is "unavailable", never a hung request.
//!
//! Memory is bounded: at most `max_entries` answers are kept (found and not-found alike); past
//! that the oldest go first. Every entry lives the same time to live, so the oldest entries
//! are also the first to expire, and expired entries are dropped whenever a new one is stored.
//! Fetches in flight are not entries: there is at most one per request being served, which the
//! server's in-flight request cap bounds.
//!
//! Failures (the source unavailable, or too slow) are never cached: the next request for the
//! key fetches again.

use std::{
    collections::{BTreeMap, HashMap},
    future::Future,
    sync::{
        Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::watch;

/// Why a lookup has no answer. Both are retryable, and neither is cached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Retryable: the source answered with an error (its description).
    #[error("the source is unavailable: {0}")]
    Unavailable(String),
    /// Retryable: the source did not answer within the fetch timeout.
    #[error("the source did not answer within {0:?}")]
    TimedOut(Duration),
}

/// How long answers live, how many are kept, and how long one fetch may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// How long an answer (found or not found) is served before the source is asked again.
    pub ttl: Duration,
    /// How many answers are kept at most (at least 1).
    pub max_entries: usize,
    /// How long a fetch may take before it counts as [`FetchError::TimedOut`].
    pub fetch_timeout: Duration,
}

/// What a fetch answers: `Ok(Some(value))`, `Ok(None)` when the key does not exist (cached like
/// a value), or `Err(reason)` when the source could not answer (not cached).
pub type Fetched<V> = Result<Option<V>, String>;

/// What waiting requests receive from the fetch they joined.
type Answer<V> = Result<Option<V>, FetchError>;

/// See the module documentation.
pub struct CoalescingCache<V> {
    limits: CacheLimits,
    state: Mutex<State<V>>,
    fetches: AtomicU64,
}

struct State<V> {
    entries: HashMap<String, Entry<V>>,
    /// Keys by the sequence number they were stored with: the first is the oldest entry.
    order: BTreeMap<u64, String>,
    next_seq: u64,
    in_flight: HashMap<String, Flight<V>>,
    next_flight: u64,
}

struct Entry<V> {
    seq: u64,
    stored: Instant,
    value: Option<V>,
}

struct Flight<V> {
    id: u64,
    answer: watch::Receiver<Option<Answer<V>>>,
}

/// What a request does about its key.
enum Role<V> {
    Cached(Option<V>),
    Wait(watch::Receiver<Option<Answer<V>>>),
    Lead(u64, watch::Sender<Option<Answer<V>>>),
}

impl<V: Clone> CoalescingCache<V> {
    pub fn new(limits: CacheLimits) -> Self {
        Self {
            limits: CacheLimits {
                max_entries: limits.max_entries.max(1),
                ..limits
            },
            state: Mutex::new(State {
                entries: HashMap::new(),
                order: BTreeMap::new(),
                next_seq: 0,
                in_flight: HashMap::new(),
                next_flight: 0,
            }),
            fetches: AtomicU64::new(0),
        }
    }

    pub fn limits(&self) -> CacheLimits {
        self.limits
    }

    /// Fetches started so far (what the cache exists to keep low).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Answers held right now, expired ones not yet dropped included.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cached answer for `key`, or the answer of the fetch in flight for it, or the answer
    /// of `fetch`, which then runs (within the fetch timeout) for every request waiting on it.
    ///
    /// Cancel-safe: if the request running the fetch goes away, the fetch is dropped and one of
    /// the requests that were waiting on it starts a new one.
    pub async fn get_or_fetch<F, Fut>(&self, key: &str, fetch: F) -> Answer<V>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Fetched<V>>,
    {
        let (flight, sender) = loop {
            match self.role(key) {
                Role::Cached(value) => return Ok(value),
                Role::Wait(mut receiver) => {
                    if let Ok(answer) = receiver.wait_for(Option::is_some).await {
                        return answer.clone().unwrap_or_else(|| {
                            Err(FetchError::Unavailable("the fetch gave no answer".into()))
                        });
                    }
                    // The leading request went away before its fetch answered: try again.
                }
                Role::Lead(flight, sender) => break (flight, sender),
            }
        };
        let leading = Leading {
            cache: self,
            key,
            flight,
            sender,
        };
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let timeout = self.limits.fetch_timeout;
        let answer = match tokio::time::timeout(timeout, fetch()).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(reason)) => Err(FetchError::Unavailable(reason)),
            Err(_) => Err(FetchError::TimedOut(timeout)),
        };
        if let Ok(value) = &answer {
            self.lock()
                .store(key, value.clone(), Instant::now(), self.limits);
        }
        leading.finish(answer.clone());
        answer
    }

    fn role(&self, key: &str) -> Role<V> {
        let mut state = self.lock();
        let now = Instant::now();
        if let Some(entry) = state.entries.get(key)
            && now.duration_since(entry.stored) < self.limits.ttl
        {
            return Role::Cached(entry.value.clone());
        }
        if let Some(flight) = state.in_flight.get(key)
            // A closed channel is a flight whose leader is being dropped right now.
            && flight.answer.has_changed().is_ok()
        {
            return Role::Wait(flight.answer.clone());
        }
        let (sender, answer) = watch::channel(None);
        state.next_flight += 1;
        let id = state.next_flight;
        state
            .in_flight
            .insert(key.to_owned(), Flight { id, answer });
        Role::Lead(id, sender)
    }

    fn lock(&self) -> MutexGuard<'_, State<V>> {
        // The lock is never held across an await or a call that can panic halfway through an
        // update, so a poisoned lock still guards consistent maps.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<V> State<V> {
    fn store(&mut self, key: &str, value: Option<V>, now: Instant, limits: CacheLimits) {
        if let Some(old) = self.entries.remove(key) {
            self.order.remove(&old.seq);
        }
        // Expired entries first, then the oldest live ones until there is room for this one.
        while let Some(oldest) = self.order.first_entry() {
            let expired = self
                .entries
                .get(oldest.get())
                .is_none_or(|e| now.duration_since(e.stored) >= limits.ttl);
            if !expired && self.entries.len() < limits.max_entries {
                break;
            }
            let evicted = oldest.remove();
            self.entries.remove(&evicted);
        }
        self.next_seq += 1;
        let seq = self.next_seq;
        self.order.insert(seq, key.to_owned());
        self.entries.insert(
            key.to_owned(),
            Entry {
                seq,
                stored: now,
                value,
            },
        );
    }
}

/// The request running a key's fetch. Dropping it (answered or cancelled) ends the flight, so
/// a cancelled fetch never leaves its key stuck.
struct Leading<'a, V: Clone> {
    cache: &'a CoalescingCache<V>,
    key: &'a str,
    flight: u64,
    sender: watch::Sender<Option<Answer<V>>>,
}

impl<V: Clone> Leading<'_, V> {
    fn finish(self, answer: Answer<V>) {
        // Waiting requests hold their own receivers; send before the flight leaves the map so
        // none can join a flight that will never answer.
        self.sender.send_replace(Some(answer));
    }
}

impl<V: Clone> Drop for Leading<'_, V> {
    fn drop(&mut self) {
        let mut state = self.cache.lock();
        if state
            .in_flight
            .get(self.key)
            .is_some_and(|f| f.id == self.flight)
        {
            state.in_flight.remove(self.key);
        }
    }
}

#[cfg(test)]
mod tests;
