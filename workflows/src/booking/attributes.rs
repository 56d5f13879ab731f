//! Keeps the booking's search attributes in step with its state, upserting only what changed
//! so the history records one upsert per real transition.

use booking_proto::v1::BookingStatus;
use temporalio_common::search_attributes::{SearchAttributeUpdate, Timestamp};

use crate::{lifecycle::BookingState, search_attributes as sa};

/// What was last published, to publish only changes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Published {
    status: Option<BookingStatus>,
    needs_attention: Option<bool>,
    tour_start: Option<i64>,
    identity: bool,
}

/// The keyword stored in `BookingStatus`: the enum name without its prefix (`CONFIRMED`).
pub fn status_keyword(status: BookingStatus) -> String {
    status
        .as_str_name()
        .trim_start_matches("BOOKING_STATUS_")
        .to_owned()
}

/// The upserts that bring the published attributes to `booking`'s state, and the new record.
pub fn changes(
    booking: &BookingState,
    status: BookingStatus,
    published: &Published,
) -> (Vec<SearchAttributeUpdate>, Published) {
    let mut updates = Vec::new();
    let mut next = published.clone();
    if !published.identity {
        updates.push(sa::CUSTOMER_EMAIL.value_set(booking.lead().email.to_string()));
        updates.push(sa::PROPERTY_ID.value_set(booking.property_id().to_string()));
        updates.push(sa::AGENT_ID.value_set(booking.agent_id().to_string()));
        next.identity = true;
    }
    if published.status != Some(status) {
        updates.push(sa::BOOKING_STATUS.value_set(status_keyword(status)));
        next.status = Some(status);
    }
    if published.needs_attention != Some(booking.needs_attention()) {
        updates.push(sa::NEEDS_ATTENTION.value_set(booking.needs_attention()));
        next.needs_attention = Some(booking.needs_attention());
    }
    let start = booking.tour().start();
    if published.tour_start != Some(start.timestamp()) {
        updates.push(sa::TOUR_START.value_set(Timestamp::new(
            start.timestamp(),
            start.timestamp_subsec_nanos() as i32,
        )));
        next.tour_start = Some(start.timestamp());
    }
    (updates, next)
}
