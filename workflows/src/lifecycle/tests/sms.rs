//! Text messages: channels per step, quiet hours, opt-out, refusals and delivery reports.

use booking_proto::domain::EventId;
use booking_proto::v1;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::{begin, eid, run_all, slot, t0};
use crate::lifecycle::{
    Action, ActionOutcome, BookingState, Channel, ChannelChoice, EmailKind, Event, FollowUpPolicy,
    Outcome, SmsDeliveryStatus, SmsReport, quiet_until,
};

const NUMBER: &str = "+14155550132";

fn booking_with(
    phone: &str,
    zone: &str,
    tour_start: DateTime<Utc>,
    policy: FollowUpPolicy,
) -> BookingState {
    let valid = booking_proto::domain::ValidBooking::parse(v1::BookingRequest {
        booking_id: "bk_sms".into(),
        event_id: "webhook-1".into(),
        kind: v1::BookingKind::PrivateViewing as i32,
        source: v1::BookingSource::Form as i32,
        lead: Some(v1::Lead {
            email: "ada@example.com".into(),
            name: "Ada".into(),
            phone: phone.into(),
            timezone: zone.into(),
        }),
        property_id: "prop-7".into(),
        agent_id: "agent-3".into(),
        tour: Some(slot(tour_start).to_proto()),
        ..Default::default()
    })
    .unwrap();
    BookingState::start(valid, t0(), policy).unwrap().0
}

fn confirmed(phone: &str, zone: &str, tour_start: DateTime<Utc>) -> BookingState {
    let mut state = booking_with(phone, zone, tour_start, FollowUpPolicy::default());
    run_all(&mut state, t0());
    state
        .apply(
            Event::Confirm {
                event_id: eid("c-1"),
            },
            t0(),
        )
        .unwrap();
    run_all(&mut state, t0());
    state
}

/// Fires every planned step up to `until`, running what it queues; returns what ran.
fn live_until(state: &mut BookingState, until: DateTime<Utc>) -> Vec<(DateTime<Utc>, Action)> {
    let mut ran = Vec::new();
    while let Some((due, _)) = state.next_due()
        && due <= until
    {
        state.apply(Event::Due, due).unwrap();
        ran.extend(run_all(state, due).into_iter().map(|a| (due, a)));
    }
    ran
}

fn texts(ran: &[(DateTime<Utc>, Action)]) -> Vec<(DateTime<Utc>, String)> {
    ran.iter()
        .filter_map(|(at, a)| match a {
            Action::SendSms { step, .. } => Some((*at, step.clone())),
            _ => None,
        })
        .collect()
}

fn emails(ran: &[(DateTime<Utc>, Action)]) -> Vec<String> {
    ran.iter()
        .filter_map(|(_, a)| match a {
            Action::SendEmail { step, .. } => Some(step.clone()),
            _ => None,
        })
        .collect()
}

/// 15:00 UTC on 3 December: 10:00 in New York, well outside quiet hours an hour before.
fn afternoon_tour() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 15, 0, 0).unwrap()
}

#[test]
fn the_one_hour_reminder_goes_by_text_when_the_lead_has_a_number() {
    let mut state = confirmed("+1 (415) 555-0132", "America/New_York", afternoon_tour());
    assert_eq!(state.sms().number.as_deref(), Some(NUMBER));
    let plan: Vec<(String, Channel)> = state
        .plan()
        .iter()
        .map(|s| (s.key.clone(), s.channel))
        .collect();
    assert!(plan.contains(&(
        "sms:tour-reminder-1h@2026-12-03T15:00:00Z".into(),
        Channel::Sms
    )));
    assert!(plan.contains(&(
        "tour-reminder-24h@2026-12-03T15:00:00Z".into(),
        Channel::Email
    )));
    assert!(
        !plan
            .iter()
            .any(|(k, _)| k == "tour-reminder-1h@2026-12-03T15:00:00Z")
    );

    let ran = live_until(&mut state, afternoon_tour());
    assert_eq!(
        texts(&ran),
        [(
            afternoon_tour() - TimeDelta::hours(1),
            "tour-reminder-1h@2026-12-03T15:00:00Z".to_owned()
        )]
    );
    assert!(
        !emails(&ran)
            .iter()
            .any(|s| s.starts_with("tour-reminder-1h"))
    );
}

#[test]
fn without_a_usable_number_every_step_is_an_email() {
    for phone in ["", "+44 1"] {
        let mut state = confirmed(phone, "America/New_York", afternoon_tour());
        assert_eq!(state.sms().number, None);
        let ran = live_until(&mut state, afternoon_tour());
        assert!(texts(&ran).is_empty(), "{phone:?}");
        assert!(
            emails(&ran)
                .iter()
                .any(|s| s.starts_with("tour-reminder-1h@"))
        );
    }
    let state = confirmed("+44 1", "Europe/London", afternoon_tour());
    assert!(
        state
            .steps_done()
            .iter()
            .any(|r| r.detail.contains("lead.phone") && r.detail.contains("text messages are off"))
    );
}

#[test]
fn a_text_due_in_quiet_hours_waits_for_their_end() {
    // 08:30 in New York (13:30 UTC): the reminder due at 07:30 waits until 08:00.
    let tour = Utc.with_ymd_and_hms(2026, 12, 3, 13, 30, 0).unwrap();
    let mut state = confirmed(NUMBER, "America/New_York", tour);
    let ran = live_until(&mut state, tour);
    assert_eq!(
        texts(&ran),
        [(
            Utc.with_ymd_and_hms(2026, 12, 3, 13, 0, 0).unwrap(),
            "tour-reminder-1h@2026-12-03T13:30:00Z".to_owned()
        )]
    );
}

#[test]
fn a_text_that_quiet_hours_would_push_past_the_tour_goes_by_email_on_time() {
    // 07:30 in New York: 06:30 is quiet until 08:00, after the tour has started.
    let tour = Utc.with_ymd_and_hms(2026, 12, 3, 12, 30, 0).unwrap();
    let mut state = confirmed(NUMBER, "America/New_York", tour);
    let ran = live_until(&mut state, tour);
    assert!(texts(&ran).is_empty());
    let reminder = ran
        .iter()
        .find(|(_, a)| matches!(a, Action::SendEmail { step, .. } if step.starts_with("tour-reminder-1h@")))
        .expect("the reminder by email");
    assert_eq!(reminder.0, tour - TimeDelta::hours(1));
}

#[test]
fn both_sends_the_email_at_once_and_the_text_after_quiet_hours() {
    let mut policy = FollowUpPolicy::default();
    policy
        .sms
        .channels
        .insert("tour-reminder-24h".into(), ChannelChoice::Both);
    // 08:30 in London, so the 24-hour reminder is due at 08:30 the day before: not quiet.
    // The 1-hour one at 07:30 is, and waits until 08:00.
    let tour = Utc.with_ymd_and_hms(2026, 12, 3, 8, 30, 0).unwrap();
    let mut state = booking_with(NUMBER, "Europe/London", tour, policy);
    run_all(&mut state, t0());
    state
        .apply(
            Event::Confirm {
                event_id: eid("c-1"),
            },
            t0(),
        )
        .unwrap();
    run_all(&mut state, t0());
    let ran = live_until(&mut state, tour);
    let sent_texts: Vec<String> = texts(&ran).into_iter().map(|(_, s)| s).collect();
    assert_eq!(
        sent_texts,
        [
            "tour-reminder-24h@2026-12-03T08:30:00Z",
            "tour-reminder-1h@2026-12-03T08:30:00Z"
        ]
    );
    assert!(emails(&ran).contains(&"tour-reminder-24h@2026-12-03T08:30:00Z".to_owned()));
    assert_eq!(
        texts(&ran)[1].0,
        Utc.with_ymd_and_hms(2026, 12, 3, 8, 0, 0).unwrap()
    );
}

#[test]
fn a_stop_reply_moves_the_rest_to_email_and_is_deduplicated() {
    let mut state = confirmed(NUMBER, "America/New_York", afternoon_tour());
    let stop = Event::SmsOptOut {
        event_id: eid("SMreply1"),
        reason: "the lead replied STOP".into(),
    };
    let now = t0() + TimeDelta::hours(1);
    assert!(matches!(
        state.apply(stop.clone(), now),
        Ok(Outcome::Applied(_))
    ));
    assert_eq!(state.apply(stop, now), Ok(Outcome::Duplicate));
    assert!(state.sms().off.is_some());
    assert!(state.plan().iter().all(|s| s.channel == Channel::Email));
    let ran = live_until(&mut state, afternoon_tour());
    assert!(texts(&ran).is_empty());
    assert!(emails(&ran).contains(&"tour-reminder-1h@2026-12-03T15:00:00Z".to_owned()));
}

#[test]
fn a_text_waiting_in_the_queue_when_the_lead_opts_out_becomes_its_email() {
    let mut state = confirmed(NUMBER, "America/New_York", afternoon_tour());
    let due = afternoon_tour() - TimeDelta::hours(1);
    live_until(&mut state, due - TimeDelta::minutes(1));
    state.apply(Event::Due, due).unwrap();
    assert!(matches!(
        state.next_action(),
        Some((_, Action::SendSms { .. }))
    ));
    state
        .apply(
            Event::SmsOptOut {
                event_id: eid("SMreply2"),
                reason: "STOP".into(),
            },
            due,
        )
        .unwrap();
    let ran = run_all(&mut state, due);
    assert!(matches!(
        ran.as_slice(),
        [Action::SendEmail { kind: EmailKind::TourReminder, step, .. }]
            if step == "tour-reminder-1h@2026-12-03T15:00:00Z"
    ));
}

/// Found by the chaos run: the lead opts out after a text step is due but before its (late)
/// timer fires. The step is owed by email at once, not skipped as "due before it was planned".
#[test]
fn an_opt_out_between_a_texts_due_time_and_its_late_timer_emails_the_step() {
    let mut state = confirmed(NUMBER, "America/New_York", afternoon_tour());
    let due = afternoon_tour() - TimeDelta::hours(1);
    live_until(&mut state, due - TimeDelta::minutes(1));
    assert_eq!(state.next_due().map(|(at, _)| at), Some(due));
    let late = due + TimeDelta::seconds(10);
    state
        .apply(
            Event::SmsOptOut {
                event_id: eid("SMlate"),
                reason: "STOP".into(),
            },
            late,
        )
        .unwrap();
    let ran = run_all(&mut state, late);
    assert_eq!(
        super::email_steps(&ran),
        ["tour-reminder-1h@2026-12-03T15:00:00Z"]
    );
    assert!(
        !state
            .steps_done()
            .iter()
            .any(|r| r.name.starts_with("tour-reminder-1h")
                && r.detail.contains("before it was planned")),
        "{:?}",
        state.steps_done()
    );
}

#[test]
fn twilio_refusing_the_number_turns_texts_off_and_emails_the_step() {
    let mut state = confirmed(NUMBER, "America/New_York", afternoon_tour());
    let due = afternoon_tour() - TimeDelta::hours(1);
    live_until(&mut state, due - TimeDelta::minutes(1));
    state.apply(Event::Due, due).unwrap();
    let (id, action) = begin(&mut state);
    assert!(matches!(action, Action::SendSms { .. }));
    state
        .apply(
            Event::ActionSucceeded {
                action_id: id,
                outcome: ActionOutcome::SmsRefused {
                    code: 21610,
                    reason: "Attempt to send to unsubscribed recipient".into(),
                },
            },
            due,
        )
        .unwrap();
    assert!(state.sms().off.as_ref().unwrap().reason.contains("21610"));
    assert!(!state.needs_attention());
    let ran = run_all(&mut state, due);
    assert_eq!(
        super::email_steps(&ran),
        ["tour-reminder-1h@2026-12-03T15:00:00Z"]
    );
}

#[test]
fn delivery_reports_twice_and_out_of_order_keep_the_furthest_status() {
    let mut state = confirmed(NUMBER, "America/New_York", afternoon_tour());
    let report = |status, id: &str| Event::SmsStatus {
        event_id: EventId::parse(id).unwrap(),
        report: SmsReport {
            message_sid: "SM1".into(),
            step: "tour-reminder-1h@2026-12-03T15:00:00Z".into(),
            status,
            error_code: None,
        },
    };
    let now = t0();
    state
        .apply(
            report(SmsDeliveryStatus::Delivered, "twilio-status:SM1:delivered"),
            now,
        )
        .unwrap();
    assert_eq!(
        state.apply(
            report(SmsDeliveryStatus::Delivered, "twilio-status:SM1:delivered"),
            now
        ),
        Ok(Outcome::Duplicate)
    );
    state
        .apply(
            report(SmsDeliveryStatus::Sent, "twilio-status:SM1:sent"),
            now,
        )
        .unwrap();
    state
        .apply(
            report(SmsDeliveryStatus::Queued, "twilio-status:SM1:queued"),
            now,
        )
        .unwrap();
    assert_eq!(state.sms().deliveries.len(), 1);
    assert_eq!(
        state.sms().deliveries[0].status,
        SmsDeliveryStatus::Delivered
    );
    let recorded = state
        .steps_done()
        .iter()
        .filter(|r| r.name.starts_with("sms:") && r.detail.contains("delivered"))
        .count();
    assert_eq!(recorded, 1);
}

#[test]
fn a_failed_delivery_for_an_opted_out_number_turns_texts_off() {
    let mut state = confirmed(NUMBER, "America/New_York", afternoon_tour());
    state
        .apply(
            Event::SmsStatus {
                event_id: eid("twilio-status:SM2:failed"),
                report: SmsReport {
                    message_sid: "SM2".into(),
                    step: "s".into(),
                    status: SmsDeliveryStatus::Failed,
                    error_code: Some(21610),
                },
            },
            t0(),
        )
        .unwrap();
    assert!(state.sms().off.is_some());
    assert!(state.plan().iter().all(|s| s.channel == Channel::Email));
}

const ZONES: &[&str] = &[
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Not/AZone",
];

proptest! {
    /// Whatever the tour time and the lead's zone: no text is sent in quiet hours, and every
    /// step that should reach the lead does, by text or email, exactly once.
    #[test]
    fn no_text_in_quiet_hours_and_no_reminder_lost(
        minutes in 90i64..(6 * 24 * 60),
        zone in 0usize..ZONES.len(),
        both in any::<bool>(),
    ) {
        let mut policy = FollowUpPolicy::default();
        if both {
            policy.sms.channels.insert("tour-reminder-24h".into(), ChannelChoice::Both);
        }
        let quiet = policy.sms.quiet_hours.unwrap();
        let tour = t0() + TimeDelta::minutes(minutes);
        let mut state = booking_with(NUMBER, ZONES[zone], tour, policy);
        run_all(&mut state, t0());
        state.apply(Event::Confirm { event_id: eid("c-1") }, t0()).unwrap();
        run_all(&mut state, t0());
        let ran = live_until(&mut state, tour + TimeDelta::days(1));
        let lead_zone: Tz = ZONES[zone].parse().unwrap_or(Tz::UTC);
        for (at, step) in texts(&ran) {
            prop_assert_eq!(quiet_until(at, lead_zone, quiet), None, "text {} at {}", step, at);
            prop_assert!(at < tour, "text {} after the tour started", step);
        }
        let reminders: Vec<String> = texts(&ran)
            .into_iter()
            .map(|(_, s)| s)
            .chain(emails(&ran))
            .filter(|s| s.starts_with("tour-reminder-1h@"))
            .collect();
        // The 1-hour reminder is planned whenever the tour is more than an hour away.
        prop_assert_eq!(reminders.len(), 1, "{:?}", ran);
    }
}
