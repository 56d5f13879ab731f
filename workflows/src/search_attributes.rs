//! The search attributes every booking keeps up to date, so operators can list and filter
//! bookings in the Temporal UI (`BookingStatus = "CONFIRMED" AND NeedsAttention = true`).
//!
//! The dev-server launcher and the test helper register exactly [`ALL`] at start.

use temporalio_common::search_attributes::SearchAttributeKey;

pub const BOOKING_STATUS: SearchAttributeKey<String> = SearchAttributeKey::keyword("BookingStatus");
pub const CUSTOMER_EMAIL: SearchAttributeKey<String> = SearchAttributeKey::keyword("CustomerEmail");
pub const PROPERTY_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword("PropertyId");
pub const AGENT_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword("AgentId");
pub const TOUR_START: SearchAttributeKey<temporalio_common::search_attributes::Timestamp> =
    SearchAttributeKey::datetime("TourStart");
pub const NEEDS_ATTENTION: SearchAttributeKey<bool> = SearchAttributeKey::bool("NeedsAttention");
/// The lead's mobile number in E.164, set when the booking starts: a text reply names only the
/// number it came from, and this finds the bookings it may be about.
pub const LEAD_PHONE: SearchAttributeKey<String> = SearchAttributeKey::keyword("LeadPhone");

/// Every custom search attribute: its name and its type as `temporal server start-dev
/// --search-attribute NAME=TYPE` spells it.
pub const ALL: &[(&str, &str)] = &[
    ("BookingStatus", "Keyword"),
    ("CustomerEmail", "Keyword"),
    ("PropertyId", "Keyword"),
    ("AgentId", "Keyword"),
    ("TourStart", "Datetime"),
    ("NeedsAttention", "Bool"),
    ("LeadPhone", "Keyword"),
];

/// `--search-attribute` arguments registering [`ALL`] on a dev server.
pub fn dev_server_args() -> Vec<String> {
    ALL.iter()
        .flat_map(|(name, kind)| ["--search-attribute".to_owned(), format!("{name}={kind}")])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use temporalio_common::protos::temporal::api::enums::v1::IndexedValueType;

    #[test]
    fn the_registration_list_matches_the_typed_keys() {
        let spelled = |t: IndexedValueType| match t {
            IndexedValueType::Keyword => "Keyword",
            IndexedValueType::Datetime => "Datetime",
            IndexedValueType::Bool => "Bool",
            other => panic!("unexpected type {other:?}"),
        };
        let typed = [
            (
                BOOKING_STATUS.name(),
                spelled(BOOKING_STATUS.indexed_value_type()),
            ),
            (
                CUSTOMER_EMAIL.name(),
                spelled(CUSTOMER_EMAIL.indexed_value_type()),
            ),
            (
                PROPERTY_ID.name(),
                spelled(PROPERTY_ID.indexed_value_type()),
            ),
            (AGENT_ID.name(), spelled(AGENT_ID.indexed_value_type())),
            (TOUR_START.name(), spelled(TOUR_START.indexed_value_type())),
            (
                NEEDS_ATTENTION.name(),
                spelled(NEEDS_ATTENTION.indexed_value_type()),
            ),
            (LEAD_PHONE.name(), spelled(LEAD_PHONE.indexed_value_type())),
        ];
        assert_eq!(typed.as_slice(), ALL);
    }
}
