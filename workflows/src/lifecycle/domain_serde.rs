//! Serde forms of the domain values the state holds, for `#[serde(with = ...)]`.
//!
//! The domain types live in `booking-proto` and stay free of serde on purpose; here they are
//! written as their plain strings, and read back through the same parser every boundary uses,
//! so state restored after continue-as-new is held to the same rules as fresh input.

use chrono::{DateTime, Utc};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use booking_proto::domain::{AgentId, BookingId, Email, PropertyId, TourSlot};

pub mod booking_id {
    use super::*;

    pub fn serialize<S: Serializer>(id: &BookingId, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(id.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BookingId, D::Error> {
        let raw = String::deserialize(deserializer)?;
        BookingId::parse(&raw).map_err(|m| D::Error::custom(format!("booking id: {m}")))
    }
}

pub mod agent_id {
    use super::*;

    pub fn serialize<S: Serializer>(id: &AgentId, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(id.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<AgentId, D::Error> {
        let raw = String::deserialize(deserializer)?;
        AgentId::parse(&raw).map_err(|m| D::Error::custom(format!("agent id: {m}")))
    }
}

pub mod property_id {
    use super::*;

    pub fn serialize<S: Serializer>(id: &PropertyId, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(id.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PropertyId, D::Error> {
        let raw = String::deserialize(deserializer)?;
        PropertyId::parse(&raw).map_err(|m| D::Error::custom(format!("property id: {m}")))
    }
}

pub mod email {
    use super::*;

    pub fn serialize<S: Serializer>(email: &Email, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(email.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Email, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Email::parse(&raw).map_err(|m| D::Error::custom(format!("email: {m}")))
    }
}

pub mod tour_slot {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Window {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    }

    pub fn serialize<S: Serializer>(tour: &TourSlot, serializer: S) -> Result<S::Ok, S::Error> {
        Window {
            start: tour.start(),
            end: tour.end(),
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<TourSlot, D::Error> {
        let window = Window::deserialize(deserializer)?;
        TourSlot::new(window.start, window.end).map_err(|m| D::Error::custom(format!("tour: {m}")))
    }
}
