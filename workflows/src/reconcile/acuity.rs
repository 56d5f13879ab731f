//! Reconciliation of Acuity Scheduling appointments: what Acuity webhooks missed, from the
//! appointments starting in the window (active and canceled), compared with their bookings.
//! Pure; the run lists the appointments through `list_acuity_appointments`.
//!
//! Acuity is the source of truth for an appointment's time: a booking whose tour differs is
//! moved to Acuity's time with event id `acuity:<id>:from:<old start>:to:<new start>`, unique
//! per actual move, so a move back to an earlier time (which reuses the webhook's
//! `acuity:<id>:at:<start>` id) is repaired too.

use std::collections::{BTreeMap, BTreeSet};

use booking_activities::{
    acuity::booking::{canceled_event_id, source_ref},
    reconcile::BookingCommand,
    sources::AppointmentSummary,
};
use booking_proto::{
    domain::{FreeText, TourSlot, ValidBooking, caps},
    v1::{BookingSnapshot, CancelSignal, RescheduleSignal},
};
use chrono::{DateTime, Utc};

use super::plan::{Repair, Unresolved, is_live, tour_of};

/// The booking ids of the window's appointments.
pub fn booking_ids(appointments: &[AppointmentSummary]) -> BTreeSet<String> {
    appointments
        .iter()
        .map(|a| a.request.booking_id.clone())
        .collect()
}

/// Repairs for the appointments; the ids repaired go into `touched`, so the calendar pass
/// leaves their events to the bookings' own runs.
pub fn plan(
    now: DateTime<Utc>,
    appointments: &[AppointmentSummary],
    views: &BTreeMap<String, Option<BookingSnapshot>>,
    request_id: &str,
    touched: &mut BTreeSet<String>,
) -> (Vec<Repair>, Vec<Unresolved>) {
    let mut repairs = Vec::new();
    let mut unresolved = Vec::new();
    for a in appointments {
        let id = a.request.booking_id.clone();
        let mut request = a.request.clone();
        request.request_id = FreeText::fit(request_id, caps::REQUEST_ID);
        let request = match ValidBooking::parse(request) {
            Ok(valid) => valid.request,
            Err(e) => {
                unresolved.push(Unresolved {
                    subject: id,
                    reason: format!("appointment {} is not a valid booking: {e}", a.id),
                });
                continue;
            }
        };
        let view = views.get(&id).cloned().flatten();
        let wanted = TourSlot::new(a.start, a.end).ok();
        match (a.canceled, view) {
            (false, None) => {
                if a.end <= now {
                    unresolved.push(Unresolved {
                        subject: id,
                        reason: format!(
                            "appointment {} booked in Acuity but never started here; the tour is over",
                            a.id
                        ),
                    });
                    continue;
                }
                touched.insert(id);
                repairs.push(Repair::MissedBooking(BookingCommand::Start { request }));
            }
            (false, Some(s)) if is_live(&s) => {
                let current = tour_of(&s);
                let (Some(wanted), Some(current)) = (wanted, current) else {
                    continue;
                };
                if wanted == current {
                    continue;
                }
                let signal = RescheduleSignal {
                    event_id: format!(
                        "acuity:{}:from:{}:to:{}",
                        a.id,
                        current.start().timestamp(),
                        wanted.start().timestamp()
                    ),
                    tour: Some(wanted.to_proto()),
                    source_ref: source_ref(a.id),
                };
                touched.insert(id);
                repairs.push(Repair::MissedReschedule(BookingCommand::Reschedule {
                    request,
                    signal,
                }));
            }
            (true, Some(s)) if is_live(&s) => {
                let signal = CancelSignal {
                    event_id: canceled_event_id(a.id),
                    reason: "canceled in Acuity Scheduling".into(),
                    cancelled_by: "scheduler".into(),
                };
                touched.insert(id);
                repairs.push(Repair::MissedCancellation(BookingCommand::Cancel {
                    request,
                    signal,
                }));
            }
            // Consistent, closed, or canceled before it ever reached us.
            _ => {}
        }
    }
    (repairs, unresolved)
}

#[cfg(test)]
mod tests {
    use booking_activities::acuity::booking::{booking_id, scheduled_event_id};
    use booking_proto::{
        time::to_timestamp,
        v1::{BookingKind, BookingRequest, BookingSource, BookingStatus, Lead, TourWindow},
    };
    use chrono::TimeZone;

    use super::*;

    fn t(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 2, hour, 0, 0).unwrap()
    }

    fn window(hour: u32) -> TourWindow {
        TourWindow {
            start: Some(to_timestamp(t(hour))),
            end: Some(to_timestamp(t(hour + 1))),
        }
    }

    fn appointment(id: u64, hour: u32, canceled: bool) -> AppointmentSummary {
        AppointmentSummary {
            id,
            canceled,
            start: t(hour),
            end: t(hour + 1),
            request: BookingRequest {
                booking_id: booking_id(id),
                event_id: scheduled_event_id(id),
                kind: BookingKind::PrivateViewing as i32,
                source: BookingSource::Acuity as i32,
                source_ref: source_ref(id),
                lead: Some(Lead {
                    email: "lee@example.com".into(),
                    name: "Lee".into(),
                    ..Default::default()
                }),
                property_id: "acuity-type-7".into(),
                agent_id: "acuity-calendar-4".into(),
                tour: Some(window(hour)),
                ..Default::default()
            },
        }
    }

    fn live(id: u64, hour: u32) -> Option<BookingSnapshot> {
        Some(BookingSnapshot {
            booking_id: booking_id(id),
            status: BookingStatus::Confirmed as i32,
            tour: Some(window(hour)),
            ..Default::default()
        })
    }

    fn run(
        appointments: &[AppointmentSummary],
        views: &[(u64, Option<BookingSnapshot>)],
    ) -> (Vec<Repair>, Vec<Unresolved>) {
        let views = views
            .iter()
            .map(|(id, s)| (booking_id(*id), s.clone()))
            .collect();
        plan(t(0), appointments, &views, "run", &mut BTreeSet::new())
    }

    #[test]
    fn a_missed_appointment_is_started_and_a_consistent_one_left_alone() {
        let (repairs, unresolved) = run(
            &[appointment(1, 10, false), appointment(2, 11, false)],
            &[(1, None), (2, live(2, 11))],
        );
        assert!(unresolved.is_empty());
        assert!(matches!(
            &repairs[..],
            [Repair::MissedBooking(BookingCommand::Start { request })] if request.booking_id == "acuity-1" && request.request_id == "run"
        ));
    }

    #[test]
    fn a_moved_appointment_moves_its_booking_with_an_id_naming_both_times() {
        let (repairs, _) = run(&[appointment(1, 12, false)], &[(1, live(1, 10))]);
        let [Repair::MissedReschedule(BookingCommand::Reschedule { signal, .. })] = &repairs[..]
        else {
            panic!("{repairs:?}");
        };
        assert_eq!(
            signal.event_id,
            format!(
                "acuity:1:from:{}:to:{}",
                t(10).timestamp(),
                t(12).timestamp()
            )
        );
    }

    #[test]
    fn a_canceled_appointment_cancels_a_live_booking_only() {
        let (repairs, _) = run(
            &[appointment(1, 10, true), appointment(2, 10, true)],
            &[(1, live(1, 10)), (2, None)],
        );
        let [Repair::MissedCancellation(BookingCommand::Cancel { signal, .. })] = &repairs[..]
        else {
            panic!("{repairs:?}");
        };
        assert_eq!(signal.event_id, "acuity:1:canceled");
    }
}
