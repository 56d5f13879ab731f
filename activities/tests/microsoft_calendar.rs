//! The Microsoft Graph calendar adapter and the client-credentials token fetch against an
//! in-process sandbox.

mod common;

use std::time::Duration;

use booking_activities::{
    BookingActivities,
    calendar::microsoft::{DeltaItem, transaction_id_for},
    inputs::{
        CalendarOutcome, CheckFreeBusyInput, DeleteCalendarEventInput, EnsureCalendarEventInput,
        MoveCalendarEventInput,
    },
};
use booking_sandbox::{GraphEventRecord, Injection, defaults};
use common::{TestEnv, at, count, failure, spawn_with_calendar};

const USER: &str = "agent@contoso.test";
const CALENDAR: &str = "microsoft:agent@contoso.test";
const GRAPH: &str = "/microsoft/graph/v1.0/users";
const TOKEN: &str = "/microsoft/login/";

async fn spawn() -> TestEnv {
    spawn_with_calendar(CALENDAR).await
}

fn ensure(booking_id: &str, hour: u32) -> EnsureCalendarEventInput {
    EnsureCalendarEventInput {
        booking_id: booking_id.into(),
        calendar_id: CALENDAR.into(),
        summary: format!("Tour {booking_id}"),
        description: Some("Private viewing".into()),
        location: Some("1 Main St".into()),
        start: at(hour),
        end: at(hour + 1),
        attendee_emails: vec!["lead@example.com".into()],
    }
}

fn delete(booking_id: &str) -> DeleteCalendarEventInput {
    DeleteCalendarEventInput {
        booking_id: booking_id.into(),
        calendar_id: CALENDAR.into(),
    }
}

fn moving(booking_id: &str, hour: u32) -> MoveCalendarEventInput {
    MoveCalendarEventInput {
        booking_id: booking_id.into(),
        calendar_id: CALENDAR.into(),
        start: at(hour),
        end: at(hour + 1),
    }
}

async fn events(t: &TestEnv, include_deleted: bool) -> Vec<GraphEventRecord> {
    t.control.graph_events(include_deleted).await.unwrap()
}

#[tokio::test]
async fn ensuring_twice_makes_one_event_and_a_new_time_updates_it() {
    let t = spawn().await;
    let first = t
        .env
        .run(BookingActivities::ensure_calendar_event, ensure("bk-1", 10))
        .await
        .unwrap();
    assert_eq!(first.outcome, CalendarOutcome::Created);
    assert_eq!(first.calendar_id, CALENDAR);
    assert!(!first.event_id.is_empty());

    let again = t
        .env
        .run(BookingActivities::ensure_calendar_event, ensure("bk-1", 10))
        .await
        .unwrap();
    assert_eq!(again.outcome, CalendarOutcome::Unchanged);
    assert_eq!(again.event_id, first.event_id);
    assert_eq!(events(&t, true).await.len(), 1);

    let moved = t
        .env
        .run(BookingActivities::ensure_calendar_event, ensure("bk-1", 14))
        .await
        .unwrap();
    assert_eq!(moved.outcome, CalendarOutcome::Updated);
    assert_eq!(moved.event_id, first.event_id);

    let all = events(&t, true).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let event = &all[0];
    assert_eq!(event.id, first.event_id);
    assert_eq!(event.user, USER);
    assert!(!event.deleted);
    assert_eq!(event.booking_id.as_deref(), Some("bk-1"));
    assert_eq!(
        event.transaction_id.as_deref(),
        Some(transaction_id_for("bk-1").as_str())
    );
    assert_eq!(event.subject, "Tour bk-1");
    assert_eq!((event.start, event.end), (at(14), at(15)), "moved");
}

#[tokio::test]
async fn move_patches_the_event_and_a_missing_event_is_not_found_for_good() {
    let t = spawn().await;
    let created = t
        .activities
        .calendar()
        .ensure_event(&ensure("bk-2", 9))
        .await
        .unwrap();
    let moved = t
        .env
        .run(BookingActivities::move_calendar_event, moving("bk-2", 16))
        .await
        .unwrap();
    assert_eq!(moved.outcome, CalendarOutcome::Moved);
    assert_eq!(moved.event_id, created.event_id);
    let all = events(&t, false).await;
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].start, all[0].end), (at(16), at(17)));

    let err = t
        .env
        .run(
            BookingActivities::move_calendar_event,
            moving("bk-none", 16),
        )
        .await
        .unwrap_err();
    let failure = failure(err);
    assert_eq!(failure.type_name(), Some("ProviderNotFound"));
    assert!(failure.is_non_retryable());
    assert_eq!(events(&t, true).await.len(), 1, "nothing was created");
}

#[tokio::test]
async fn delete_then_delete_is_done_and_ensure_afterwards_creates_anew() {
    let t = spawn().await;
    let created = t
        .activities
        .calendar()
        .ensure_event(&ensure("bk-3", 11))
        .await
        .unwrap();
    let first = t
        .env
        .run(BookingActivities::delete_calendar_event, delete("bk-3"))
        .await
        .unwrap();
    assert_eq!(first.outcome, CalendarOutcome::Deleted);
    assert_eq!(first.event_id, created.event_id);
    let second = t
        .env
        .run(BookingActivities::delete_calendar_event, delete("bk-3"))
        .await
        .unwrap();
    assert_eq!(second.outcome, CalendarOutcome::AlreadyGone);
    let never = t
        .activities
        .calendar()
        .delete_event(&delete("bk-never"))
        .await
        .unwrap();
    assert_eq!(never.outcome, CalendarOutcome::AlreadyGone);

    let again = t
        .env
        .run(BookingActivities::ensure_calendar_event, ensure("bk-3", 11))
        .await
        .unwrap();
    assert_eq!(again.outcome, CalendarOutcome::Created);
    assert_ne!(again.event_id, created.event_id);
    let all = events(&t, true).await;
    assert_eq!(all.len(), 2, "{all:?}");
    let old = all.iter().find(|e| e.id == created.event_id).unwrap();
    assert!(old.deleted, "the old event stays deleted");
    let new = all.iter().find(|e| e.id == again.event_id).unwrap();
    assert!(!new.deleted);
    assert_eq!(new.booking_id.as_deref(), Some("bk-3"));
}

#[tokio::test]
async fn free_busy_sees_the_event() {
    let t = spawn().await;
    t.activities
        .calendar()
        .ensure_event(&ensure("bk-4", 15))
        .await
        .unwrap();
    let check = |start, end| CheckFreeBusyInput {
        booking_id: "bk-5".into(),
        calendar_id: CALENDAR.into(),
        start: at(start),
        end: at(end),
    };
    let busy = t
        .env
        .run(BookingActivities::check_free_busy, check(14, 17))
        .await
        .unwrap();
    assert!(!busy.free, "{busy:?}");
    assert_eq!(busy.booking_id, "bk-5");
    assert!(
        busy.busy
            .iter()
            .any(|b| b.start == at(15) && b.end == at(16)),
        "{busy:?}"
    );
    let free = t
        .env
        .run(BookingActivities::check_free_busy, check(9, 12))
        .await
        .unwrap();
    assert!(free.free, "{free:?}");
    assert!(
        free.busy
            .iter()
            .all(|b| b.end <= at(9) || b.start >= at(12)),
        "{free:?}"
    );
}

#[tokio::test]
async fn an_expired_access_token_is_renewed_once() {
    let t = spawn().await;
    let cal = t.activities.calendar();
    cal.ensure_event(&ensure("bk-6", 10)).await.unwrap();
    let tokens_before = count(&t.control, Some("POST"), TOKEN).await;
    assert_eq!(tokens_before, 1, "one token for the first calls");

    t.control.expire_microsoft_access_tokens().await.unwrap();
    t.control.clear_requests().await.unwrap();
    let again = t
        .env
        .run(BookingActivities::ensure_calendar_event, ensure("bk-6", 10))
        .await
        .unwrap();
    assert_eq!(again.outcome, CalendarOutcome::Unchanged);
    assert_eq!(
        count(&t.control, Some("POST"), TOKEN).await,
        1,
        "one renewal"
    );
    let graph = t.control.requests_matching(None, GRAPH).await.unwrap();
    let refused = graph.iter().filter(|r| r.status == Some(401)).count();
    assert_eq!(refused, 1, "{graph:?}");
}

#[tokio::test]
async fn an_expired_secret_is_a_revoked_grant_until_restored() {
    let t = spawn().await;
    t.control
        .expire_microsoft_secret(defaults::MICROSOFT_CLIENT_ID)
        .await
        .unwrap();
    let err = t
        .env
        .run(BookingActivities::ensure_calendar_event, ensure("bk-7", 10))
        .await
        .unwrap_err();
    let failure = failure(err);
    assert_eq!(failure.type_name(), Some("GrantRevoked"));
    assert!(failure.is_non_retryable());
    assert!(failure.to_string().contains("AADSTS7000222"), "{}", failure);
    assert_eq!(
        count(&t.control, None, GRAPH).await,
        0,
        "Graph never called"
    );

    t.control
        .restore_microsoft_app(defaults::MICROSOFT_CLIENT_ID)
        .await
        .unwrap();
    let created = t
        .env
        .run(BookingActivities::ensure_calendar_event, ensure("bk-7", 10))
        .await
        .unwrap();
    assert_eq!(created.outcome, CalendarOutcome::Created);
}

#[tokio::test]
async fn a_disabled_app_already_holding_a_token_fails_once_the_token_expires() {
    let t = spawn().await;
    let cal = t.activities.calendar();
    cal.ensure_event(&ensure("bk-8", 10)).await.unwrap();
    t.control
        .disable_microsoft_app(defaults::MICROSOFT_CLIENT_ID)
        .await
        .unwrap();
    t.control.expire_microsoft_access_tokens().await.unwrap();
    let err = t
        .env
        .run(BookingActivities::ensure_calendar_event, ensure("bk-8", 10))
        .await
        .unwrap_err();
    let failure = failure(err);
    assert_eq!(failure.type_name(), Some("GrantRevoked"));
    assert!(failure.is_non_retryable());

    t.control
        .restore_microsoft_app(defaults::MICROSOFT_CLIENT_ID)
        .await
        .unwrap();
    let again = cal.ensure_event(&ensure("bk-8", 10)).await.unwrap();
    assert_eq!(again.outcome, CalendarOutcome::Unchanged);
}

#[tokio::test]
async fn throttling_sets_the_next_retry_delay_from_retry_after() {
    let t = spawn().await;
    t.control
        .inject(&Injection::graph_throttled("*", GRAPH, 7))
        .await
        .unwrap();
    let err = t
        .env
        .run(BookingActivities::ensure_calendar_event, ensure("bk-9", 10))
        .await
        .unwrap_err();
    let failure = failure(err);
    assert_eq!(failure.type_name(), Some("ProviderRateLimited"));
    assert!(!failure.is_non_retryable());
    assert_eq!(failure.next_retry_delay(), Some(Duration::from_secs(7)));
    assert!(
        failure
            .to_string()
            .contains("TooManyRequests: Please retry again later."),
        "{failure}"
    );
    assert!(events(&t, true).await.is_empty());

    // The injection is spent: the retry goes through.
    let created = t
        .env
        .run(BookingActivities::ensure_calendar_event, ensure("bk-9", 10))
        .await
        .unwrap();
    assert_eq!(created.outcome, CalendarOutcome::Created);
}

#[tokio::test]
async fn unavailability_sets_the_next_retry_delay_from_retry_after() {
    let t = spawn().await;
    t.control
        .inject(
            &Injection::graph_error(
                "*",
                GRAPH,
                503,
                "serviceNotAvailable",
                "The service is temporarily unavailable.",
            )
            .retry_after(3),
        )
        .await
        .unwrap();
    let err = t
        .env
        .run(
            BookingActivities::ensure_calendar_event,
            ensure("bk-10", 10),
        )
        .await
        .unwrap_err();
    let failure = failure(err);
    assert_eq!(failure.type_name(), Some("ProviderUnavailable"));
    assert!(!failure.is_non_retryable());
    assert_eq!(failure.next_retry_delay(), Some(Duration::from_secs(3)));
    assert!(
        failure
            .to_string()
            .contains("serviceNotAvailable: The service is temporarily unavailable."),
        "{failure}"
    );
}

#[tokio::test]
async fn delta_rounds_report_creations_hand_deletes_and_hand_moves() {
    let t = spawn().await;
    let cal = t.activities.calendar();
    let graph = cal.microsoft();
    let (start, end) = (at(0), at(23));

    let created = cal.ensure_event(&ensure("bk-11", 10)).await.unwrap();
    let full = graph.delta_round(USER, None, start, end).await.unwrap();
    assert!(full.full);
    assert_eq!(full.position.window_start, start);
    assert_eq!(full.position.window_end, end);
    assert!(
        full.items.iter().any(
            |i| matches!(i, DeltaItem::Changed(e) if e.id == created.event_id
                && e.start_instant() == Some(at(10)))
        ),
        "{:?}",
        full.items
    );

    // Nothing happened: an empty round.
    let quiet = graph
        .delta_round(USER, Some(&full.position), start, end)
        .await
        .unwrap();
    assert!(!quiet.full);
    assert!(quiet.items.is_empty(), "{:?}", quiet.items);

    // Deleted by hand in Outlook.
    t.control
        .delete_graph_event(&created.event_id)
        .await
        .unwrap();
    let after_delete = graph
        .delta_round(USER, Some(&quiet.position), start, end)
        .await
        .unwrap();
    assert!(!after_delete.full);
    assert_eq!(
        after_delete.items,
        vec![DeltaItem::Removed {
            event_id: created.event_id.clone()
        }]
    );

    // Moved by hand in Outlook.
    let other = cal.ensure_event(&ensure("bk-12", 12)).await.unwrap();
    let seen = graph
        .delta_round(USER, Some(&after_delete.position), start, end)
        .await
        .unwrap();
    assert!(
        seen.items
            .iter()
            .any(|i| matches!(i, DeltaItem::Changed(e) if e.id == other.event_id)),
        "{:?}",
        seen.items
    );
    t.control
        .move_graph_event(&other.event_id, at(18), at(19))
        .await
        .unwrap();
    let after_move = graph
        .delta_round(USER, Some(&seen.position), start, end)
        .await
        .unwrap();
    assert!(!after_move.full);
    assert_eq!(after_move.items.len(), 1, "{:?}", after_move.items);
    let DeltaItem::Changed(moved) = &after_move.items[0] else {
        panic!("not a change: {:?}", after_move.items);
    };
    assert_eq!(moved.id, other.event_id);
    assert_eq!(moved.start_instant(), Some(at(18)));
    assert_eq!(moved.end_instant(), Some(at(19)));

    // Graph forgot every position: the next round starts over over the same window.
    t.control.expire_graph_delta_tokens().await.unwrap();
    let restarted = graph
        .delta_round(USER, Some(&after_move.position), start, end)
        .await
        .unwrap();
    assert!(restarted.full);
    assert_eq!(restarted.position.window_start, start);
    assert_eq!(restarted.position.window_end, end);
    let changed: Vec<_> = restarted
        .items
        .iter()
        .filter_map(|i| match i {
            DeltaItem::Changed(e) => Some(e.id.as_str()),
            DeltaItem::Removed { .. } => None,
        })
        .collect();
    assert_eq!(changed, vec![other.event_id.as_str()]);
    // And the new position works.
    let next = graph
        .delta_round(USER, Some(&restarted.position), start, end)
        .await
        .unwrap();
    assert!(!next.full);
    assert!(next.items.is_empty(), "{:?}", next.items);
}

#[tokio::test]
async fn racing_creations_make_one_event_through_the_transaction_id() {
    let t = spawn().await;
    let cal = t.activities.calendar();
    let input = ensure("bk-13", 10);
    let (a, b) = tokio::join!(cal.ensure_event(&input), cal.ensure_event(&input));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.event_id, b.event_id);
    let all = events(&t, true).await;
    assert_eq!(all.len(), 1, "{all:?}");
    // Both POSTs may have gone out; either way the calendar holds one event.
    let posts = count(&t.control, Some("POST"), GRAPH).await;
    assert!((1..=2).contains(&posts), "{posts}");
}

#[tokio::test]
async fn booking_ids_with_quotes_are_found_again() {
    let t = spawn().await;
    let cal = t.activities.calendar();
    let id = "bk-o'neil";
    assert_eq!(
        cal.ensure_event(&ensure(id, 10)).await.unwrap().outcome,
        CalendarOutcome::Created
    );
    assert_eq!(
        cal.ensure_event(&ensure(id, 10)).await.unwrap().outcome,
        CalendarOutcome::Unchanged
    );
    assert_eq!(
        cal.delete_event(&delete(id)).await.unwrap().outcome,
        CalendarOutcome::Deleted
    );
    assert_eq!(events(&t, true).await.len(), 1);
}

#[tokio::test]
async fn an_event_gone_between_lookup_and_delete_is_already_gone() {
    let t = spawn().await;
    let cal = t.activities.calendar();
    cal.ensure_event(&ensure("bk-14", 10)).await.unwrap();
    t.control
        .inject(&Injection::graph_error(
            "DELETE",
            GRAPH,
            404,
            "ErrorItemNotFound",
            "The specified object was not found in the store.",
        ))
        .await
        .unwrap();
    let gone = cal.delete_event(&delete("bk-14")).await.unwrap();
    assert_eq!(gone.outcome, CalendarOutcome::AlreadyGone);
}

#[tokio::test]
async fn a_deleted_event_no_longer_makes_the_window_busy() {
    let t = spawn().await;
    let cal = t.activities.calendar();
    cal.ensure_event(&ensure("bk-15", 10)).await.unwrap();
    cal.delete_event(&delete("bk-15")).await.unwrap();
    let out = cal
        .free_busy(&CheckFreeBusyInput {
            booking_id: "bk-16".into(),
            calendar_id: CALENDAR.into(),
            start: at(9),
            end: at(12),
        })
        .await
        .unwrap();
    assert!(out.free, "{out:?}");
}

#[tokio::test]
async fn concurrent_calls_share_one_token_fetch() {
    let t = spawn().await;
    let cal = t.activities.calendar();
    let results = futures::future::join_all(
        (0..5).map(|i| async move { cal.ensure_event(&ensure(&format!("bk-c{i}"), 10)).await }),
    )
    .await;
    for r in results {
        assert_eq!(r.unwrap().outcome, CalendarOutcome::Created);
    }
    assert_eq!(count(&t.control, Some("POST"), TOKEN).await, 1);
}

#[tokio::test]
async fn a_throttled_token_endpoint_is_retryable() {
    let t = spawn().await;
    t.control
        .inject(
            &Injection::microsoft_login_error(
                429,
                "temporarily_unavailable",
                50_196,
                "The server temporarily could not serve the request.",
            )
            .retry_after(5),
        )
        .await
        .unwrap();
    let err = t
        .env
        .run(
            BookingActivities::ensure_calendar_event,
            ensure("bk-17", 10),
        )
        .await
        .unwrap_err();
    let failure = failure(err);
    assert_eq!(failure.type_name(), Some("ProviderRateLimited"));
    assert!(!failure.is_non_retryable());
    assert_eq!(failure.next_retry_delay(), Some(Duration::from_secs(5)));
}

#[tokio::test]
async fn a_long_delta_round_follows_next_links_and_a_move_out_of_the_window_is_a_removal() {
    let t = spawn().await;
    let cal = t.activities.calendar();
    let graph = cal.microsoft();
    let (start, end) = (at(0), at(23));
    for i in 0..130 {
        cal.ensure_event(&ensure(&format!("bk-p{i}"), 10))
            .await
            .unwrap();
    }
    t.control.clear_requests().await.unwrap();
    let full = graph.delta_round(USER, None, start, end).await.unwrap();
    assert!(full.full);
    assert_eq!(full.items.len(), 130);
    let pages = count(&t.control, Some("GET"), GRAPH).await;
    assert!(pages >= 2, "one round, several pages: {pages}");

    let some = events(&t, false).await[0].id.clone();
    t.control
        .move_graph_event(
            &some,
            at(10) + chrono::Duration::days(3),
            at(11) + chrono::Duration::days(3),
        )
        .await
        .unwrap();
    let round = graph
        .delta_round(USER, Some(&full.position), start, end)
        .await
        .unwrap();
    assert_eq!(round.items, vec![DeltaItem::Removed { event_id: some }]);
}
