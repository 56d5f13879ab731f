//! Conversions between protobuf timestamps and `chrono`, the only two time types we use.

use chrono::{DateTime, Utc};
use pbjson_types::Timestamp;

/// Converts a UTC instant to its protobuf form.
pub fn to_timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

/// Converts a protobuf timestamp to a UTC instant; `None` when it is out of chrono's range or
/// its nanoseconds are not in `0..1e9`.
pub fn from_timestamp(ts: &Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(ts.nanos).ok()?;
    DateTime::from_timestamp(ts.seconds, nanos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn round_trips_to_the_nanosecond() {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 15, 30, 0).unwrap()
            + chrono::Duration::nanoseconds(123_456_789);
        assert_eq!(from_timestamp(&to_timestamp(at)), Some(at));
    }

    #[test]
    fn refuses_negative_nanos() {
        let ts = Timestamp {
            seconds: 0,
            nanos: -1,
        };
        assert_eq!(from_timestamp(&ts), None);
    }
}
