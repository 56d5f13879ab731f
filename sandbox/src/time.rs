//! Timestamp formats: each provider prints instants its own way, and clients parse them
//! strictly enough that the difference matters.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// Google and HubSpot: `2024-05-01T10:00:00.000Z`.
pub fn millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Google freeBusy ranges: `2024-05-01T10:00:00Z`.
pub fn seconds(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Calendly: `2024-05-01T10:00:00.000000Z`.
pub fn micros(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// An RFC 3339 timestamp with an explicit offset or `Z`.
pub fn parse_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
