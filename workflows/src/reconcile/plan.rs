//! The pure part of reconciliation: from what the scheduler holds, what the calendar holds and
//! what the bookings believe, the repairs to make. No Temporal types, no I/O; tested alone.

use std::collections::{BTreeMap, BTreeSet};

use booking_activities::{
    calendar::CalendarRef,
    inputs::{
        CalendlyStatus, EnsureCalendarEventInput, InviteeSummary, MoveCalendarEventInput,
        ScheduledChanges, ScheduledEventSummary,
    },
    reconcile::{BookingCommand, CalendarEventView},
    scheduler::booking::{
        InviteeBooking, booking_id_for_invitee, canceled_event_id, created_event_id,
    },
    sources::AppointmentSummary,
};
use booking_proto::{
    domain::TourSlot,
    v1::{BookingRequest, BookingSnapshot, BookingStatus, CancelSignal, RescheduleSignal},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A calendar event the booking engine did not make (its booking does not exist). Flagged for
/// an operator, never deleted: it may be someone's hand-made entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Orphan {
    pub booking_id: String,
    pub calendar_id: String,
    pub event_id: String,
}

/// Something reconciliation saw but could not, or would not, repair by itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unresolved {
    /// The booking id, or the scheduler's invitee URI when no booking id could be derived.
    pub subject: String,
    pub reason: String,
}

/// One repair, in the order they are made.
#[derive(Debug, Clone, PartialEq)]
pub enum Repair {
    MissedBooking(BookingCommand),
    MissedCancellation(BookingCommand),
    MissedReschedule(BookingCommand),
    RecreateCalendarEvent(EnsureCalendarEventInput),
    MoveCalendarEvent(MoveCalendarEventInput),
}

impl Repair {
    pub fn booking_id(&self) -> &str {
        match self {
            Repair::MissedBooking(c)
            | Repair::MissedCancellation(c)
            | Repair::MissedReschedule(c) => c.booking_id(),
            Repair::RecreateCalendarEvent(i) => &i.booking_id,
            Repair::MoveCalendarEvent(i) => &i.booking_id,
        }
    }
}

/// What the scheduler says one booking (one reschedule chain) should be now.
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulerBooking {
    pub booking_id: String,
    /// The chain's latest invitee and its event.
    pub latest: InviteeSummary,
    pub event: ScheduledEventSummary,
    /// More than one invitee: the booking was rescheduled in Calendly.
    pub rescheduled: bool,
}

/// The scheduler's bookings of the window, by booking id, and what could not be mapped.
pub fn scheduler_bookings(
    changes: &ScheduledChanges,
) -> (BTreeMap<String, SchedulerBooking>, Vec<Unresolved>) {
    let mut by_uri: BTreeMap<&str, (&InviteeSummary, &ScheduledEventSummary)> = BTreeMap::new();
    for event in &changes.events {
        for invitee in &event.invitees {
            by_uri.insert(invitee.uri.as_str(), (invitee, event));
        }
    }
    let mut bookings = BTreeMap::new();
    let mut unresolved = Vec::new();
    // Each chain is judged from its latest invitee (the one with no successor).
    for (uri, (invitee, event)) in &by_uri {
        if invitee.new_invitee.is_some() {
            if let Some(next) = invitee.new_invitee.as_deref()
                && !by_uri.contains_key(next)
            {
                unresolved.push(Unresolved {
                    subject: (*uri).to_owned(),
                    reason: format!("rescheduled to {next}, which starts outside the window"),
                });
            }
            continue;
        }
        let mut root = *invitee;
        let mut hops = 1usize;
        let mut broken = None;
        while let Some(older) = root.old_invitee.as_deref() {
            match by_uri.get(older) {
                Some((previous, _)) if hops <= by_uri.len() => {
                    root = previous;
                    hops += 1;
                }
                Some(_) => {
                    broken = Some("the reschedule chain loops".to_owned());
                    break;
                }
                None => {
                    broken = Some(format!(
                        "rescheduled from {older}, which starts outside the window"
                    ));
                    break;
                }
            }
        }
        if let Some(reason) = broken {
            unresolved.push(Unresolved {
                subject: (*uri).to_owned(),
                reason,
            });
            continue;
        }
        match booking_id_for_invitee(&root.uuid) {
            Ok(id) => {
                bookings.insert(
                    id.to_string(),
                    SchedulerBooking {
                        booking_id: id.to_string(),
                        latest: (*invitee).clone(),
                        event: (*event).clone(),
                        rescheduled: hops > 1,
                    },
                );
            }
            Err(m) => unresolved.push(Unresolved {
                subject: root.uri.clone(),
                reason: format!("invitee uuid cannot name a booking: {m}"),
            }),
        }
    }
    (bookings, unresolved)
}

/// Every booking id reconciliation must ask the engine about.
pub fn booking_ids(
    scheduler: &BTreeMap<String, SchedulerBooking>,
    calendar: &[CalendarEventView],
) -> Vec<String> {
    scheduler
        .keys()
        .cloned()
        .chain(calendar.iter().map(|e| e.booking_id.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The repairs, orphans and unresolved findings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub repairs: Vec<Repair>,
    pub orphans: Vec<Orphan>,
    pub unresolved: Vec<Unresolved>,
}

pub(super) fn is_live(s: &BookingSnapshot) -> bool {
    matches!(
        s.status(),
        BookingStatus::PendingConfirmation | BookingStatus::Confirmed
    )
}

pub(super) fn tour_of(s: &BookingSnapshot) -> Option<TourSlot> {
    TourSlot::from_proto("tour", s.tour.as_ref()).ok()
}

fn request_for(
    b: &SchedulerBooking,
    event_id: &str,
    request_id: &str,
) -> Result<BookingRequest, String> {
    let booking_id = booking_proto::domain::BookingId::parse(&b.booking_id)?;
    let tour = TourSlot::new(b.event.start, b.event.end)?;
    let request = InviteeBooking {
        invitee_uri: &b.latest.uri,
        email: &b.latest.email,
        name: &b.latest.name,
        phone: &b.latest.phone,
        timezone: b.latest.timezone.as_deref().unwrap_or_default(),
        tour: tour.to_proto(),
        property_id: &b.event.property_id,
        agent_id: &b.event.agent_id,
        answers: &b.latest.answers,
    }
    .request(&booking_id, event_id, request_id);
    // The shim refuses what does not validate; so does reconciliation, instead of starting a
    // booking that would fail at once.
    // The request handed on is the normalised one, so reconciliation and the shim start a
    // booking with the same ids and text.
    booking_proto::domain::ValidBooking::parse(request)
        .map(|valid| valid.request)
        .map_err(|e| e.to_string())
}

/// Moves the booking to the scheduler's time for `b`, starting it from `request` if it is
/// missing.
fn reschedule_to(b: &SchedulerBooking, event_id: &str, request: BookingRequest) -> BookingCommand {
    let signal = RescheduleSignal {
        event_id: event_id.to_owned(),
        tour: request.tour,
        source_ref: b.latest.uri.clone(),
    };
    BookingCommand::Reschedule { request, signal }
}

/// Decides the repairs, from the scheduler's bookings, Acuity's appointments (see
/// [`super::acuity`]) and the calendar's events. `views` holds the engine's snapshot of every
/// asked booking (`None`: no such booking); `request_id` marks the requests reconciliation
/// starts (the run's id).
pub fn plan(
    now: DateTime<Utc>,
    scheduler: &BTreeMap<String, SchedulerBooking>,
    acuity: &[AppointmentSummary],
    calendar: &[CalendarEventView],
    views: &BTreeMap<String, Option<BookingSnapshot>>,
    request_id: &str,
) -> Plan {
    let mut out = Plan::default();
    let mut touched = BTreeSet::new();
    let (repairs, unresolved) = super::acuity::plan(now, acuity, views, request_id, &mut touched);
    out.repairs.extend(repairs);
    out.unresolved.extend(unresolved);
    for (id, b) in scheduler {
        let view = views.get(id).cloned().flatten();
        let active = b.latest.status == CalendlyStatus::Active;
        let created = created_event_id(&b.latest.uri);
        let mut unresolved = |reason: String| {
            out.unresolved.push(Unresolved {
                subject: id.clone(),
                reason,
            })
        };
        match (active, view) {
            (true, None) => {
                if b.event.end <= now {
                    unresolved(format!(
                        "{} booked in the scheduler but never started here; the tour is over",
                        b.latest.uri
                    ));
                    continue;
                }
                match request_for(b, &created, request_id) {
                    Ok(request) if b.rescheduled => out
                        .repairs
                        .push(Repair::MissedBooking(reschedule_to(b, &created, request))),
                    Ok(request) => out
                        .repairs
                        .push(Repair::MissedBooking(BookingCommand::Start { request })),
                    Err(reason) => {
                        unresolved(format!("cannot start from {}: {reason}", b.latest.uri))
                    }
                }
                touched.insert(id.clone());
            }
            (true, Some(s)) if is_live(&s) => {
                let wanted = TourSlot::new(b.event.start, b.event.end).ok();
                if wanted.is_none() || tour_of(&s) == wanted {
                    continue;
                }
                let source = s
                    .external_ids
                    .as_ref()
                    .map(|x| x.source_ref.as_str())
                    .unwrap_or_default();
                if source == b.latest.uri {
                    // The booking took this invitee's time before and was moved since, by hand.
                    unresolved(format!(
                        "the tour was moved away from the scheduler's time ({})",
                        b.event.start
                    ));
                    continue;
                }
                match request_for(b, &created, request_id) {
                    Ok(request) => {
                        out.repairs.push(Repair::MissedReschedule(reschedule_to(
                            b, &created, request,
                        )));
                        touched.insert(id.clone());
                    }
                    Err(reason) => unresolved(format!("cannot move to {}: {reason}", b.latest.uri)),
                }
            }
            (false, Some(s)) if is_live(&s) && !b.latest.rescheduled => {
                match request_for(b, &created, request_id) {
                    Ok(request) => {
                        let signal = CancelSignal {
                            event_id: canceled_event_id(&b.latest.uri),
                            reason: b.latest.cancel_reason.clone().unwrap_or_default(),
                            cancelled_by: "scheduler".into(),
                        };
                        out.repairs
                            .push(Repair::MissedCancellation(BookingCommand::Cancel {
                                request,
                                signal,
                            }));
                        touched.insert(id.clone());
                    }
                    Err(reason) => unresolved(format!("cannot cancel: {reason}")),
                }
            }
            // Consistent, closed, or cancelled in the scheduler before it ever reached us
            // (starting a booking only to cancel it would email the lead for nothing).
            _ => {}
        }
    }
    for event in calendar {
        let view = views.get(&event.booking_id).cloned().flatten();
        let Some(s) = view else {
            if !event.cancelled {
                out.orphans.push(Orphan {
                    booking_id: event.booking_id.clone(),
                    calendar_id: event.calendar_id.clone(),
                    event_id: event.event_id.clone(),
                });
            }
            continue;
        };
        // Google event ids derive from the booking id, so the id the booking recorded proves
        // the event is the one it made. Graph chooses ids itself, and a restored event gets a
        // new one: there the booking-id property the engine wrote is the proof, given the
        // booking made an event at all.
        let microsoft = matches!(
            CalendarRef::from_wire(&event.calendar_id),
            Ok(CalendarRef::Microsoft(_))
        );
        let owned = s.external_ids.as_ref().is_some_and(|x| {
            x.calendar_event_id == event.event_id || (microsoft && !x.calendar_event_id.is_empty())
        });
        // Only a live booking that made this event owns it; one being repaired above gets its
        // event from its own run.
        if !owned || !is_live(&s) || touched.contains(&event.booking_id) {
            continue;
        }
        let Some(tour) = tour_of(&s) else { continue };
        if event.cancelled {
            out.repairs
                .push(Repair::RecreateCalendarEvent(EnsureCalendarEventInput {
                    booking_id: event.booking_id.clone(),
                    calendar_id: event.calendar_id.clone(),
                    // The event is restored as it was; only its time follows the booking.
                    summary: event
                        .summary
                        .clone()
                        .unwrap_or_else(|| format!("Tour of {}", s.property_id)),
                    description: None,
                    location: None,
                    start: tour.start(),
                    end: tour.end(),
                    attendee_emails: Vec::new(),
                }));
        } else if event.start != Some(tour.start()) || event.end != Some(tour.end()) {
            out.repairs
                .push(Repair::MoveCalendarEvent(MoveCalendarEventInput {
                    booking_id: event.booking_id.clone(),
                    calendar_id: event.calendar_id.clone(),
                    start: tour.start(),
                    end: tour.end(),
                }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use booking_activities::calendar::event_id_for;
    use booking_proto::{
        time::to_timestamp,
        v1::{ExternalIds, TourWindow},
    };
    use chrono::TimeZone;

    use super::*;

    const BASE: &str = "https://calendly.test/scheduled_events";

    fn t(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 2, hour, 0, 0).unwrap()
    }

    fn invitee(event: &str, uuid: &str, status: CalendlyStatus) -> InviteeSummary {
        InviteeSummary {
            uri: format!("{BASE}/{event}/invitees/{uuid}"),
            uuid: uuid.into(),
            email: "lee@example.com".into(),
            name: "Lee".into(),
            status,
            rescheduled: false,
            old_invitee: None,
            new_invitee: None,
            timezone: None,
            canceled_by: None,
            cancel_reason: None,
            phone: String::new(),
            answers: BTreeMap::new(),
        }
    }

    fn event(uuid: &str, hour: u32, invitees: Vec<InviteeSummary>) -> ScheduledEventSummary {
        ScheduledEventSummary {
            uri: format!("{BASE}/{uuid}"),
            uuid: uuid.into(),
            status: invitees[0].status,
            start: t(hour),
            end: t(hour + 1),
            property_id: "T1".into(),
            agent_id: "agent@example.com".into(),
            invitees,
        }
    }

    fn snapshot(id: &str, status: BookingStatus, hour: u32, source_ref: &str) -> BookingSnapshot {
        BookingSnapshot {
            booking_id: id.into(),
            status: status as i32,
            tour: Some(TourWindow {
                start: Some(to_timestamp(t(hour))),
                end: Some(to_timestamp(t(hour + 1))),
            }),
            external_ids: Some(ExternalIds {
                calendar_event_id: event_id_for(id),
                source_ref: source_ref.into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn calendar(id: &str, hour: u32, cancelled: bool) -> CalendarEventView {
        CalendarEventView {
            calendar_id: "primary".into(),
            event_id: event_id_for(id),
            booking_id: id.into(),
            cancelled,
            summary: Some("Tour".into()),
            start: Some(t(hour)),
            end: Some(t(hour + 1)),
        }
    }

    #[test]
    fn a_reschedule_chain_is_one_booking_keyed_by_its_first_invitee() {
        let mut old = invitee("E1", "A", CalendlyStatus::Canceled);
        let mut new = invitee("E2", "B", CalendlyStatus::Active);
        old.rescheduled = true;
        old.new_invitee = Some(new.uri.clone());
        new.old_invitee = Some(old.uri.clone());
        let changes = ScheduledChanges {
            events: vec![event("E1", 9, vec![old]), event("E2", 11, vec![new])],
        };
        let (bookings, unresolved) = scheduler_bookings(&changes);
        assert!(unresolved.is_empty(), "{unresolved:?}");
        assert_eq!(bookings.keys().collect::<Vec<_>>(), ["cal-A"]);
        assert!(bookings["cal-A"].rescheduled);

        // The engine missed the move: one reschedule, with the shim's event id.
        let views = BTreeMap::from([(
            "cal-A".to_owned(),
            Some(snapshot("cal-A", BookingStatus::Confirmed, 9, "x")),
        )]);
        let plan = plan(t(0), &bookings, &[], &[], &views, "r");
        let [Repair::MissedReschedule(BookingCommand::Reschedule { signal, .. })] =
            plan.repairs.as_slice()
        else {
            panic!("{plan:?}");
        };
        assert_eq!(signal.event_id, format!("{BASE}/E2/invitees/B#created"));
    }

    #[test]
    fn consistent_bookings_need_nothing_and_unknown_cancellations_start_nothing() {
        let changes = ScheduledChanges {
            events: vec![
                event("E1", 9, vec![invitee("E1", "A", CalendlyStatus::Active)]),
                event("E2", 9, vec![invitee("E2", "B", CalendlyStatus::Canceled)]),
            ],
        };
        let (bookings, _) = scheduler_bookings(&changes);
        let a_uri = format!("{BASE}/E1/invitees/A");
        let views = BTreeMap::from([
            (
                "cal-A".to_owned(),
                Some(snapshot("cal-A", BookingStatus::Confirmed, 9, &a_uri)),
            ),
            ("cal-B".to_owned(), None),
        ]);
        let events = [calendar("cal-A", 9, false)];
        assert_eq!(
            plan(t(0), &bookings, &[], &events, &views, "r"),
            Plan::default()
        );
    }

    #[test]
    fn drift_is_repaired_and_orphans_are_only_reported() {
        let views = BTreeMap::from([
            (
                "bk-1".to_owned(),
                Some(snapshot("bk-1", BookingStatus::Confirmed, 9, "")),
            ),
            (
                "bk-2".to_owned(),
                Some(snapshot("bk-2", BookingStatus::PendingConfirmation, 9, "")),
            ),
            (
                "bk-3".to_owned(),
                Some(snapshot("bk-3", BookingStatus::Cancelled, 9, "")),
            ),
            ("bk-4".to_owned(), None),
        ]);
        let events = [
            calendar("bk-1", 9, true),
            calendar("bk-2", 14, false),
            calendar("bk-3", 9, true),
            calendar("bk-4", 9, false),
        ];
        let plan = plan(t(0), &BTreeMap::new(), &[], &events, &views, "r");
        assert!(matches!(
            &plan.repairs[0],
            Repair::RecreateCalendarEvent(i) if i.booking_id == "bk-1" && i.start == t(9)
        ));
        assert!(matches!(
            &plan.repairs[1],
            Repair::MoveCalendarEvent(i) if i.booking_id == "bk-2" && i.start == t(9)
        ));
        assert_eq!(
            plan.repairs.len(),
            2,
            "a cancelled booking's deleted event stays deleted"
        );
        assert_eq!(plan.orphans.len(), 1);
        assert_eq!(plan.orphans[0].booking_id, "bk-4");
    }

    #[test]
    fn a_missed_booking_whose_tour_is_over_is_reported_not_started() {
        let changes = ScheduledChanges {
            events: vec![event(
                "E1",
                9,
                vec![invitee("E1", "A", CalendlyStatus::Active)],
            )],
        };
        let (bookings, _) = scheduler_bookings(&changes);
        let views = BTreeMap::from([("cal-A".to_owned(), None)]);
        let late = plan(t(12), &bookings, &[], &[], &views, "r");
        assert!(late.repairs.is_empty());
        assert_eq!(late.unresolved.len(), 1);
        let early = plan(t(0), &bookings, &[], &[], &views, "r");
        assert!(matches!(
            early.repairs.as_slice(),
            [Repair::MissedBooking(BookingCommand::Start { request })]
                if request.booking_id == "cal-A"
                    && request.event_id == format!("{BASE}/E1/invitees/A#created")
        ));
    }
}
