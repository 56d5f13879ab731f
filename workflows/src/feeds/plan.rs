//! The pure part of a feed poll: from what the feed holds now and what the previous run knew,
//! the bookings to start, move and cancel. No Temporal types, no I/O; tested alone.
//!
//! # Event ids
//!
//! Every command carries an event id derived from the event's UID digest and `SEQUENCE`, so a
//! repeated poll (a run retried, two runs seeing the same feed) is a duplicate the booking
//! ignores:
//!
//! - created: `ical:<feed>:<digest>:seq<n>:created`
//! - moved: `ical:<feed>:<digest>:seq<n>:at:<start unix seconds>` (the start too, because many
//!   platforms move an event without raising its `SEQUENCE`)
//! - cancelled, or vanished: `ical:<feed>:<digest>:cancelled` (one cancellation per booking)
//!
//! # Safety: a feed that drops most of its events is held
//!
//! A platform serving a truncated or empty file for a minute must not cancel a season of
//! bookings. When the feed comes back with no events while bookings are upcoming, or when more
//! than half of the upcoming bookings (and more than one) vanish at once, the run applies
//! nothing and the feed is held for an operator, who checks the feed and applies it with
//! `bookings feeds poll-now <feed> --accept-drop`. Cancellations the feed states
//! (`STATUS:CANCELLED`) are deliberate and never count towards the drop.

use std::collections::BTreeMap;

use booking_activities::{
    feeds::{FeedConfig, FeedKnowledge, KnownEvent, uid_digest},
    ical::{FeedEvent, ParsedFeed},
    reconcile::BookingCommand,
};
use booking_proto::{
    domain::{FreeText, TourSlot, ValidBooking, caps},
    time::to_timestamp,
    v1::{
        BookingKind, BookingRequest, BookingSource, CancelSignal, Lead, RescheduleSignal,
        TourWindow,
    },
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a change does to its booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A new UID: its booking starts.
    New,
    /// A known UID at a new time: its booking moves.
    Moved,
    /// `STATUS:CANCELLED` on a known UID: its booking is cancelled.
    Cancelled,
    /// A known upcoming UID is gone from the feed: its booking is cancelled.
    Vanished,
    /// Only what the run remembers changes (a higher `SEQUENCE` at the same time, a UID the
    /// feed lists as cancelled before it was ever booked).
    Noted,
}

/// One UID's change: the command to hand its booking (none for [`ChangeKind::Noted`]) and
/// what to remember once it is handed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedChange {
    pub digest: String,
    pub kind: ChangeKind,
    pub command: Option<BookingCommand>,
    pub after: KnownEvent,
}

/// A UID the run could not act on, reported (and retried by the next run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedIssue {
    pub uid: String,
    pub reason: String,
}

/// The run's decision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedPlan {
    pub changes: Vec<FeedChange>,
    /// Digests to forget: events of the past that left the feed (platforms trim old events).
    pub forget: Vec<String>,
    pub issues: Vec<FeedIssue>,
    /// Why the feed is held; then `changes` is empty.
    pub held: Option<String>,
}

/// Decides a poll (see the module doc). `accept_drop` applies a held feed once.
pub fn plan(
    now: DateTime<Utc>,
    config: &FeedConfig,
    known: &FeedKnowledge,
    feed: &ParsedFeed,
    accept_drop: bool,
    request_id: &str,
) -> FeedPlan {
    let mut out = FeedPlan::default();
    let listed: BTreeMap<String, &FeedEvent> = feed
        .events
        .iter()
        .map(|e| (uid_digest(&e.uid), e))
        .collect();
    for (digest, event) in &listed {
        match decide(now, config, known.events.get(digest), event, request_id) {
            Ok(Some(change)) => out.changes.push(FeedChange {
                digest: digest.clone(),
                ..change
            }),
            Ok(None) => {}
            Err(reason) => out.issues.push(FeedIssue {
                uid: event.uid.clone(),
                reason,
            }),
        }
    }
    for (digest, gone) in &known.events {
        if listed.contains_key(digest) {
            continue;
        }
        if gone.start <= now {
            out.forget.push(digest.clone());
            continue;
        }
        if gone.cancelled {
            continue;
        }
        let after = KnownEvent {
            cancelled: true,
            ..gone.clone()
        };
        let command = cancel_command(
            config,
            digest,
            &gone.uid,
            tour_of(gone.start, gone.end),
            None,
            "the event is no longer in the feed",
            request_id,
        );
        match command {
            Ok(command) => out.changes.push(FeedChange {
                digest: digest.clone(),
                kind: ChangeKind::Vanished,
                command: Some(command),
                after,
            }),
            Err(reason) => out.issues.push(FeedIssue {
                uid: gone.uid.clone(),
                reason,
            }),
        }
    }
    if !accept_drop && let Some(reason) = drop_guard(now, known, feed, &out) {
        out.changes.clear();
        out.forget.clear();
        out.held = Some(reason);
    }
    out
}

/// The hold rule of the module doc.
fn drop_guard(
    now: DateTime<Utc>,
    known: &FeedKnowledge,
    feed: &ParsedFeed,
    plan: &FeedPlan,
) -> Option<String> {
    let vanished = plan
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Vanished)
        .count();
    let upcoming = known.upcoming(now);
    if vanished == 0 {
        return None;
    }
    if feed.events.is_empty() {
        return Some(format!(
            "the feed came back with no events while {upcoming} bookings are upcoming; nothing was cancelled"
        ));
    }
    (vanished > 1 && vanished * 2 > upcoming).then(|| {
        format!(
            "{vanished} of the {upcoming} upcoming bookings vanished from the feed at once; nothing was applied"
        )
    })
}

fn decide(
    now: DateTime<Utc>,
    config: &FeedConfig,
    known: Option<&KnownEvent>,
    event: &FeedEvent,
    request_id: &str,
) -> Result<Option<FeedChange>, String> {
    let digest = uid_digest(&event.uid);
    let seen = KnownEvent {
        uid: event.uid.clone(),
        sequence: event.sequence,
        start: event.start,
        end: event.end,
        cancelled: event.cancelled,
    };
    let change = |kind, command| {
        Ok(Some(FeedChange {
            digest: digest.clone(),
            kind,
            command,
            after: seen.clone(),
        }))
    };
    let tour = tour_of(event.start, event.end);
    match known {
        Some(k) if k.cancelled && event.cancelled => Ok(None),
        Some(k) if k.cancelled => Err(format!(
            "the event is listed again after its booking {} was cancelled; a cancelled booking is never reopened, so book it anew if it is real",
            config.name.booking_id(&k.uid)
        )),
        Some(_) if event.cancelled => {
            let command = cancel_command(
                config,
                &digest,
                &event.uid,
                tour,
                Some(event),
                "cancelled in the feed",
                request_id,
            )?;
            change(ChangeKind::Cancelled, Some(command))
        }
        None if event.cancelled => change(ChangeKind::Noted, None),
        // Tours of the past are history: nothing to book or move.
        _ if event.start <= now => Ok(None),
        None => {
            let created = format!(
                "ical:{}:{digest}:seq{}:created",
                config.name, event.sequence
            );
            let request = request(config, event, &created, request_id)?;
            change(ChangeKind::New, Some(BookingCommand::Start { request }))
        }
        Some(k) if (k.start, k.end) != (event.start, event.end) => {
            let created = format!("ical:{}:{digest}:seq{}:created", config.name, k.sequence);
            let request = request(config, event, &created, request_id)?;
            let signal = RescheduleSignal {
                event_id: format!(
                    "ical:{}:{digest}:seq{}:at:{}",
                    config.name,
                    event.sequence,
                    event.start.timestamp()
                ),
                tour: Some(tour?.to_proto()),
                source_ref: source_ref(config, &event.uid),
            };
            change(
                ChangeKind::Moved,
                Some(BookingCommand::Reschedule { request, signal }),
            )
        }
        Some(k) if k.sequence != event.sequence => change(ChangeKind::Noted, None),
        Some(_) => Ok(None),
    }
}

fn tour_of(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<TourSlot, String> {
    TourSlot::new(start, end).map_err(|m| format!("the event's times are unusable: {m}"))
}

/// A cancel of the UID's booking. Signal-with-start needs a request the booking could start
/// from; when the feed no longer lists the event, the request is rebuilt from what is known
/// (the booking exists, so the start never happens).
fn cancel_command(
    config: &FeedConfig,
    digest: &str,
    uid: &str,
    tour: Result<TourSlot, String>,
    listed: Option<&FeedEvent>,
    reason: &str,
    request_id: &str,
) -> Result<BookingCommand, String> {
    let tour = tour?;
    let stand_in;
    let event = match listed {
        Some(event) => event,
        None => {
            stand_in = FeedEvent {
                uid: uid.to_owned(),
                start: tour.start(),
                end: tour.end(),
                sequence: 0,
                cancelled: false,
                summary: String::new(),
                description: String::new(),
                attendee_email: None,
                attendee_name: None,
            };
            &stand_in
        }
    };
    let created = format!("ical:{}:{digest}:seq0:created", config.name);
    let mut request = request(config, event, &created, request_id).or_else(|e| {
        // A vanished event says nothing about its lead; any address starts nothing here.
        let mut fallback = event.clone();
        fallback.attendee_email = Some(NO_ADDRESS.to_owned());
        request(config, &fallback, &created, request_id).map_err(|_| e)
    })?;
    request.tour = Some(TourWindow {
        start: Some(to_timestamp(tour.start())),
        end: Some(to_timestamp(tour.end())),
    });
    Ok(BookingCommand::Cancel {
        request,
        signal: CancelSignal {
            event_id: format!("ical:{}:{digest}:cancelled", config.name),
            reason: format!("{reason} ({})", config.name),
            cancelled_by: "feed".into(),
        },
    })
}

/// Stands in for the lead's address in a cancel of a booking that exists (so is never started
/// from this request).
const NO_ADDRESS: &str = "unknown-lead@invalid.example";

fn source_ref(config: &FeedConfig, uid: &str) -> String {
    FreeText::fit(&format!("ical:{}:{uid}", config.name), caps::SOURCE_REF)
}

/// The booking an event becomes, checked as every entry point checks it.
pub fn request(
    config: &FeedConfig,
    event: &FeedEvent,
    event_id: &str,
    request_id: &str,
) -> Result<BookingRequest, String> {
    let email = event
        .attendee_email
        .clone()
        .or_else(|| config.fallback_email.clone())
        .ok_or_else(|| {
            "the event names no attendee email and the feed has no fallback email (bookings feeds add --fallback-email)".to_owned()
        })?;
    let name = event
        .attendee_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| event.summary.clone());
    let mut answers = std::collections::HashMap::new();
    if !event.summary.trim().is_empty() {
        answers.insert(
            "Feed event".to_owned(),
            FreeText::fit(&event.summary, caps::ANSWER),
        );
    }
    let request = BookingRequest {
        booking_id: config.name.booking_id(&event.uid),
        event_id: event_id.to_owned(),
        kind: BookingKind::PrivateViewing as i32,
        source: BookingSource::IcalFeed as i32,
        source_ref: source_ref(config, &event.uid),
        lead: Some(Lead {
            email,
            name: FreeText::fit(&name, caps::LEAD_NAME),
            phone: String::new(),
            timezone: String::new(),
        }),
        property_id: config.property_id.clone(),
        agent_id: config.agent_id.clone(),
        tour: Some(TourWindow {
            start: Some(to_timestamp(event.start)),
            end: Some(to_timestamp(event.end)),
        }),
        request_id: FreeText::fit(request_id, caps::REQUEST_ID),
        answers,
        continued: None,
    };
    ValidBooking::parse(request)
        .map(|valid| valid.request)
        .map_err(|e| format!("the event is not a valid booking: {e}"))
}

/// The knowledge after a run: `changes` are the ones handed off (a failed hand-off keeps the
/// old entry, so the next run tries again).
pub fn remember(known: &mut FeedKnowledge, applied: &[FeedChange], forget: &[String]) {
    for change in applied {
        known
            .events
            .insert(change.digest.clone(), change.after.clone());
    }
    for digest in forget {
        known.events.remove(digest);
    }
}

#[cfg(test)]
mod tests;
