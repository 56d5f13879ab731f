//! iCalendar feeds as a booking source: what an operator configures for a feed, and what a
//! feed's poll workflow remembers between runs.
//!
//! Booking platforms such as GetMyBoat or Boatsetter publish no webhooks, only an ICS feed.
//! Each feed has its own Temporal Schedule (`ical-feed-<name>`) whose action starts the poll
//! workflow with a [`FeedPollInput`]: the feed's configuration and its [`FeedKnowledge`], the
//! events the previous run saw. A run writes what it learned back into the schedule's input
//! (`keep_feed_state`), so the knowledge is durable in Temporal, visible in the UI as the
//! schedule's input, and never held in a worker's memory.

use std::collections::BTreeMap;

use booking_proto::domain::{AgentId, Charset, Email, PropertyId, bounded_token};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A feed's name: the key of its schedule and of its bookings' ids. 1 to 32 lower-case ASCII
/// letters, digits and `-`, so `ical-<feed>-<digest>` always fits a booking id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FeedName(String);

booking_proto::checked_text!(FeedName);

impl FeedName {
    pub const MAX_LEN: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let charset = Charset {
            allows: |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
            named: "lower-case ASCII letters, digits and '-'",
        };
        bounded_token(raw, Self::MAX_LEN, charset).map(|name| Self(name.to_owned()))
    }

    /// The feed's schedule.
    pub fn schedule_id(&self) -> String {
        format!("{SCHEDULE_PREFIX}{}", self.0)
    }

    /// The prefix of the workflow ids of the runs its schedule starts (the server appends the
    /// scheduled time).
    pub fn run_id_prefix(&self) -> String {
        format!("{RUN_PREFIX}{}", self.0)
    }

    /// The booking an event of this feed becomes: `ical-<feed>-<first 16 hex of sha256(uid)>`.
    /// A digest, because UIDs are long and may hold any character; 64 bits keep two events of
    /// one feed apart.
    pub fn booking_id(&self, uid: &str) -> String {
        format!("ical-{}-{}", self.0, uid_digest(uid))
    }
}

impl TryFrom<String> for FeedName {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}

impl From<FeedName> for String {
    fn from(name: FeedName) -> String {
        name.0
    }
}

/// Schedules of feeds are named `ical-feed-<name>`.
pub const SCHEDULE_PREFIX: &str = "ical-feed-";
/// Runs of a feed's poll are named `ical-poll-<name>-<scheduled time>`.
pub const RUN_PREFIX: &str = "ical-poll-";

/// First 16 hex digits of the SHA-256 of an event's UID.
pub fn uid_digest(uid: &str) -> String {
    let digest = Sha256::digest(uid.as_bytes());
    data_encoding::HEXLOWER.encode(&digest[..8])
}

/// What an operator configures for a feed (`bookings feeds add`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedConfig {
    pub name: FeedName,
    /// `http` or `https`.
    pub url: String,
    /// The agent every booking of this feed is with.
    pub agent_id: String,
    /// The property (boat, venue) the feed is for.
    pub property_id: String,
    /// Seconds between polls (the schedule's interval; kept here for `feeds list`).
    pub poll_interval_secs: u64,
    /// The address a booking is made for when its event names no attendee: platforms' feeds
    /// often carry only a name, and a booking needs somewhere to send its emails.
    pub fallback_email: Option<String>,
}

/// Why a feed's configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {message}")]
pub struct FeedConfigError {
    pub field: &'static str,
    pub message: String,
}

impl FeedConfig {
    /// Every check, so the CLI can refuse a feed before it has a schedule.
    pub fn validate(&self) -> Result<(), Vec<FeedConfigError>> {
        let mut errors = Vec::new();
        let mut fail =
            |field: &'static str, message: String| errors.push(FeedConfigError { field, message });
        match url::Url::parse(&self.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
            Ok(url) => fail(
                "url",
                format!("must be an http(s) URL with a host, not {:?}", url.scheme()),
            ),
            Err(e) => fail("url", format!("is not a URL: {e}")),
        }
        if let Err(m) = AgentId::parse(&self.agent_id) {
            fail("agent", m);
        }
        if let Err(m) = PropertyId::parse(&self.property_id) {
            fail("property", m);
        }
        if !(MIN_POLL_INTERVAL_SECS..=MAX_POLL_INTERVAL_SECS).contains(&self.poll_interval_secs) {
            fail(
                "every",
                format!(
                    "must be between {MIN_POLL_INTERVAL_SECS}s and {MAX_POLL_INTERVAL_SECS}s, not {}s",
                    self.poll_interval_secs
                ),
            );
        }
        if let Some(email) = &self.fallback_email
            && let Err(m) = Email::parse(email)
        {
            fail("fallback-email", m);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Polling more often than this hammers a platform that publishes a static file.
pub const MIN_POLL_INTERVAL_SECS: u64 = 60;
/// A day: a feed polled less often would miss same-day bookings.
pub const MAX_POLL_INTERVAL_SECS: u64 = 24 * 3600;

/// One event of the feed, as the last run that applied it saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownEvent {
    pub uid: String,
    pub sequence: u32,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Cancelled in the feed, or vanished from it: its booking was cancelled.
    pub cancelled: bool,
}

/// Something on the feed a person has to look at: the feed is not applied until it clears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attention {
    pub since: DateTime<Utc>,
    pub reason: String,
}

/// What a feed's poll remembers between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeedKnowledge {
    /// Validators of the last body applied; sent back so an unchanged feed costs a 304.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// By UID digest (the booking id's tail).
    pub events: BTreeMap<String, KnownEvent>,
    /// Set while the feed is held (malformed, unreachable, or dropping most of its events).
    pub attention: Option<Attention>,
    /// When the last run finished, and what it did, for `bookings feeds list`.
    pub last_poll: Option<DateTime<Utc>>,
    pub last_outcome: Option<String>,
}

impl FeedKnowledge {
    /// Upcoming bookings the feed holds now (not cancelled, starting after `now`).
    pub fn upcoming(&self, now: DateTime<Utc>) -> usize {
        self.events
            .values()
            .filter(|e| !e.cancelled && e.start > now)
            .count()
    }
}

/// The schedule's input: the poll workflow's argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedPollInput {
    pub feed: FeedConfig,
    #[serde(default)]
    pub known: FeedKnowledge,
    /// Set by `bookings feeds poll-now --accept-drop`: apply a feed that drops most of its
    /// events once, after a person has looked. Cleared by the run that applies it.
    #[serde(default)]
    pub accept_drop: bool,
}

/// `keep_feed_state`: what a run learned, written into its feed's schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepFeedStateInput {
    pub feed: FeedName,
    /// The run's workflow id: only runs the feed's schedule started write to it.
    pub run_workflow_id: String,
    pub known: FeedKnowledge,
}

/// What `keep_feed_state` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedStateKept {
    InSchedule,
    /// The run was not started by the feed's schedule, or the feed was removed meanwhile.
    NotScheduled,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> FeedConfig {
        FeedConfig {
            name: FeedName::parse("harbour-boats").unwrap(),
            url: "https://example.com/feed.ics".into(),
            agent_id: "captain-1".into(),
            property_id: "boat-7".into(),
            poll_interval_secs: 900,
            fallback_email: None,
        }
    }

    #[test]
    fn names_are_lower_case_slugs() {
        assert!(FeedName::parse("Harbour").is_err());
        assert!(FeedName::parse("a b").is_err());
        assert!(FeedName::parse("").is_err());
        assert!(FeedName::parse(&"a".repeat(33)).is_err());
        assert_eq!(FeedName::parse(" boats-2 ").unwrap().as_str(), "boats-2");
    }

    #[test]
    fn booking_ids_fit_and_differ_per_uid() {
        let name = FeedName::parse(&"a".repeat(32)).unwrap();
        let one = name.booking_id("event-1@getmyboat.com");
        let two = name.booking_id("event-2@getmyboat.com");
        assert_ne!(one, two);
        assert!(
            booking_proto::domain::BookingId::parse(&one).is_ok(),
            "{one}"
        );
        assert_eq!(one, name.booking_id("event-1@getmyboat.com"));
    }

    #[test]
    fn a_valid_config_passes_and_each_bad_field_is_named() {
        assert_eq!(config().validate(), Ok(()));
        let bad = FeedConfig {
            url: "ftp://example.com/x.ics".into(),
            agent_id: " ".into(),
            poll_interval_secs: 5,
            fallback_email: Some("nobody".into()),
            ..config()
        };
        let fields: Vec<_> = bad
            .validate()
            .unwrap_err()
            .iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["url", "agent", "every", "fallback-email"]);
    }

    #[test]
    fn the_input_reads_without_knowledge() {
        let json = serde_json::json!({ "feed": config() });
        let input: FeedPollInput = serde_json::from_value(json).unwrap();
        assert_eq!(input.known, FeedKnowledge::default());
        assert!(!input.accept_drop);
    }
}
