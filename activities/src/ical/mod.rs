//! iCalendar (ICS) feeds, the booking source of platforms that publish no webhooks:
//! [`parse`] reads a feed's body into events (with the `icalendar` crate's RFC 5545 parser),
//! [`fetch`] is the poll's conditional GET.

pub mod fetch;
pub mod parse;

pub use fetch::{FeedFetch, FetchFeedInput, MAX_FEED_BYTES, fetch_feed};
pub use parse::{FeedError, FeedEvent, ParsedFeed, SkippedEvent, parse_feed};
