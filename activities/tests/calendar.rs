//! Calendar and token provider against an in-process sandbox.

mod common;

use std::time::Duration;

use booking_activities::{
    BookingActivities,
    calendar::event_id_for,
    inputs::{
        CalendarOutcome, CheckFreeBusyInput, DeleteCalendarEventInput, EnsureCalendarEventInput,
        MoveCalendarEventInput,
    },
};
use booking_sandbox::{Injection, defaults};
use common::{at, count, failure, spawn};

fn ensure(booking_id: &str, hour: u32) -> EnsureCalendarEventInput {
    EnsureCalendarEventInput {
        booking_id: booking_id.into(),
        calendar_id: "primary".into(),
        summary: format!("Tour {booking_id}"),
        description: Some("Private viewing".into()),
        location: Some("1 Main St".into()),
        start: at(hour),
        end: at(hour + 1),
        attendee_emails: vec!["lead@example.com".into()],
    }
}

#[tokio::test]
async fn inserting_twice_makes_one_event_and_the_second_call_converges() {
    let t = spawn().await;
    let first = t
        .env
        .run(BookingActivities::ensure_calendar_event, ensure("bk-1", 10))
        .await
        .unwrap();
    assert_eq!(first.outcome, CalendarOutcome::Created);
    assert_eq!(first.event_id, event_id_for("bk-1"));

    let again = t
        .env
        .run(BookingActivities::ensure_calendar_event, ensure("bk-1", 10))
        .await
        .unwrap();
    assert_eq!(again.outcome, CalendarOutcome::Unchanged);

    // A retry carrying a new time converges the one event instead of adding a second.
    let moved = t
        .env
        .run(BookingActivities::ensure_calendar_event, ensure("bk-1", 14))
        .await
        .unwrap();
    assert_eq!(moved.outcome, CalendarOutcome::Updated);

    let events = t.control.calendar_events(true).await.unwrap();
    assert_eq!(events.len(), 1);
    let event = &events[0].event;
    assert_eq!(event.id, event_id_for("bk-1"));
    assert_eq!(event.private_property("booking_id"), Some("bk-1"));
    assert_eq!(
        event.start.instant(),
        Some(at(14)),
        "converged to the wanted time"
    );
}

#[tokio::test]
async fn a_deleted_event_of_a_live_booking_is_restored() {
    let t = spawn().await;
    let cal = t.activities.calendar();
    cal.ensure_event(&ensure("bk-2", 9)).await.unwrap();
    let delete = DeleteCalendarEventInput {
        booking_id: "bk-2".into(),
        calendar_id: "primary".into(),
    };
    cal.delete_event(&delete).await.unwrap();
    let restored = cal.ensure_event(&ensure("bk-2", 9)).await.unwrap();
    assert_eq!(restored.outcome, CalendarOutcome::Restored);
    let events = t.control.calendar_events(false).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event.status, "confirmed");
}

#[tokio::test]
async fn delete_after_delete_is_done_both_times() {
    let t = spawn().await;
    let cal = t.activities.calendar();
    cal.ensure_event(&ensure("bk-3", 11)).await.unwrap();
    let input = DeleteCalendarEventInput {
        booking_id: "bk-3".into(),
        calendar_id: "primary".into(),
    };
    let first = t
        .env
        .run(BookingActivities::delete_calendar_event, input.clone())
        .await
        .unwrap();
    assert_eq!(first.outcome, CalendarOutcome::Deleted);
    let second = t
        .env
        .run(BookingActivities::delete_calendar_event, input)
        .await
        .unwrap();
    assert_eq!(second.outcome, CalendarOutcome::AlreadyGone);
    // Never created at all: 404, also done.
    let never = cal
        .delete_event(&DeleteCalendarEventInput {
            booking_id: "bk-never".into(),
            calendar_id: "primary".into(),
        })
        .await
        .unwrap();
    assert_eq!(never.outcome, CalendarOutcome::AlreadyGone);
}

#[tokio::test]
async fn move_and_free_busy_see_the_same_event() {
    let t = spawn().await;
    let cal = t.activities.calendar();
    cal.ensure_event(&ensure("bk-4", 10)).await.unwrap();
    let moved = t
        .env
        .run(
            BookingActivities::move_calendar_event,
            MoveCalendarEventInput {
                booking_id: "bk-4".into(),
                calendar_id: "primary".into(),
                start: at(15),
                end: at(16),
            },
        )
        .await
        .unwrap();
    assert_eq!(moved.outcome, CalendarOutcome::Moved);
    let check = |start, end| CheckFreeBusyInput {
        booking_id: "bk-5".into(),
        calendar_id: "primary".into(),
        start: at(start),
        end: at(end),
    };
    let busy = t
        .env
        .run(BookingActivities::check_free_busy, check(15, 17))
        .await
        .unwrap();
    assert!(!busy.free, "{busy:?}");
    let free = t
        .env
        .run(BookingActivities::check_free_busy, check(10, 12))
        .await
        .unwrap();
    assert!(free.free, "{free:?}");

    // Reconciliation can find the booking's event among changes, deleted ones included.
    let since = chrono::Utc::now() - chrono::Duration::minutes(5);
    cal.delete_event(&DeleteCalendarEventInput {
        booking_id: "bk-4".into(),
        calendar_id: "primary".into(),
    })
    .await
    .unwrap();
    let changed = cal
        .google()
        .list_changed_events("primary", since, Some("bk-4"))
        .await
        .unwrap();
    assert_eq!(changed.len(), 1);
    assert!(changed[0].is_cancelled());
    assert_eq!(changed[0].booking_id(), Some("bk-4"));
}

#[tokio::test]
async fn a_429_with_retry_after_sets_the_next_retry_delay() {
    let t = spawn().await;
    t.control
        .inject(
            &Injection::google_error(
                "POST",
                "/google/calendar/v3/calendars",
                429,
                "rateLimitExceeded",
                "Rate Limit Exceeded",
            )
            .retry_after(7),
        )
        .await
        .unwrap();
    let err = t
        .env
        .run(BookingActivities::ensure_calendar_event, ensure("bk-6", 10))
        .await
        .unwrap_err();
    let failure = failure(err);
    assert_eq!(failure.type_name(), Some("ProviderRateLimited"));
    assert!(!failure.is_non_retryable());
    assert_eq!(failure.next_retry_delay(), Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn a_403_rate_limit_is_retryable_other_403_fatal() {
    let t = spawn().await;
    let cal = t.activities.calendar();
    t.control
        .inject(&Injection::google_error(
            "POST",
            "/google/calendar/v3/calendars",
            403,
            "userRateLimitExceeded",
            "User Rate Limit Exceeded",
        ))
        .await
        .unwrap();
    let err = cal.ensure_event(&ensure("bk-7", 10)).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    t.control
        .inject(&Injection::google_error(
            "POST",
            "/google/calendar/v3/calendars",
            403,
            "forbidden",
            "Forbidden",
        ))
        .await
        .unwrap();
    let err = cal.ensure_event(&ensure("bk-7", 10)).await.unwrap_err();
    assert!(!err.is_retryable(), "{err}");
}

#[tokio::test]
async fn a_400_is_fatal_and_carries_the_providers_message() {
    let t = spawn().await;
    let mut bad = ensure("bk-8", 10);
    bad.end = at(9); // ends before it starts
    let err = t
        .env
        .run(BookingActivities::ensure_calendar_event, bad)
        .await
        .unwrap_err();
    let failure = failure(err);
    assert_eq!(failure.type_name(), Some("ProviderRejected"));
    assert!(failure.is_non_retryable());
    let message = failure.source_error().to_string();
    assert!(message.contains("(400)"), "{message}");
    assert!(message.contains("\"message\""), "{message}");
}

#[tokio::test]
async fn tokens_are_cached_across_calls() {
    let t = spawn().await;
    let cal = t.activities.calendar();
    cal.ensure_event(&ensure("bk-9", 10)).await.unwrap();
    cal.ensure_event(&ensure("bk-10", 12)).await.unwrap();
    assert_eq!(
        count(&t.control, Some("POST"), "/google/oauth2/token").await,
        1
    );
    assert_eq!(
        count(&t.control, Some("POST"), "/google/calendar/v3/calendars").await,
        2
    );
}

#[tokio::test]
async fn concurrent_calls_share_one_refresh() {
    let t = spawn().await;
    let cal = t.activities.calendar();
    let inputs: Vec<_> = (0..5).map(|i| ensure(&format!("bk-c{i}"), 10)).collect();
    let results =
        futures::future::join_all(inputs.iter().map(|input| cal.ensure_event(input))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        count(&t.control, Some("POST"), "/google/oauth2/token").await,
        1
    );
}

#[tokio::test]
async fn a_401_refreshes_once_and_retries_the_call_once() {
    let t = spawn().await;
    let cal = t.activities.calendar();
    cal.ensure_event(&ensure("bk-11", 10)).await.unwrap();
    t.control.expire_access_tokens().await.unwrap();
    t.control.clear_requests().await.unwrap();
    let out = cal.ensure_event(&ensure("bk-12", 10)).await.unwrap();
    assert_eq!(out.outcome, CalendarOutcome::Created);
    assert_eq!(
        count(&t.control, Some("POST"), "/google/oauth2/token").await,
        1
    );
    let calls = t
        .control
        .requests_matching(Some("POST"), "/google/calendar/v3/calendars")
        .await
        .unwrap();
    let statuses: Vec<_> = calls.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![Some(401), Some(200)]);

    // A 401 that persists after the renewal is not retried again: one refresh, two calls.
    t.control.clear_requests().await.unwrap();
    t.control
        .inject(
            &Injection::google_error(
                "POST",
                "/google/calendar/v3/calendars",
                401,
                "authError",
                "Invalid Credentials",
            )
            .times(5),
        )
        .await
        .unwrap();
    let err = cal.ensure_event(&ensure("bk-13", 10)).await.unwrap_err();
    assert_eq!(err.type_name(), "ProviderAuthRejected");
    assert_eq!(
        count(&t.control, Some("POST"), "/google/oauth2/token").await,
        1
    );
    assert_eq!(
        count(&t.control, Some("POST"), "/google/calendar/v3/calendars").await,
        2
    );
}

#[tokio::test]
async fn a_revoked_grant_ends_with_grant_revoked_non_retryable() {
    let t = spawn().await;
    t.control
        .revoke_grant(defaults::GOOGLE_REFRESH_TOKEN)
        .await
        .unwrap();
    let err = t
        .env
        .run(
            BookingActivities::ensure_calendar_event,
            ensure("bk-14", 10),
        )
        .await
        .unwrap_err();
    let failure = failure(err);
    assert_eq!(failure.type_name(), Some("GrantRevoked"));
    assert!(failure.is_non_retryable());
    assert!(t.control.calendar_events(true).await.unwrap().is_empty());
}
