//! Calendly client and the `list_scheduled_changes` activity against an in-process sandbox.

mod common;

use std::time::Duration;

use booking_activities::{
    BookingActivities,
    config::ProvidersConfig,
    error::ProviderError,
    http::Http,
    inputs::{CalendlyStatus, ListScheduledChangesInput},
    redact::Redactor,
    scheduler::{CalendlyClient, EventWindow, ListScope},
    secret::Secret,
};
use booking_sandbox::{BookInvitee, CancelInvitee, Injection, RescheduleInvitee, defaults};
use chrono::{DateTime, Utc};
use common::{TestEnv, at, count, failure, spawn};
use temporalio_sdk::testing::ActivityEnvironment;

/// A client on the test's sandbox with `page_size` items per page.
fn client(t: &TestEnv, page_size: u32) -> CalendlyClient {
    let config = ProvidersConfig::for_sandbox(&t.sandbox.base_url()).expect("config");
    let http = Http::new(reqwest::Client::new(), Redactor::new(config.secrets()));
    CalendlyClient::new(http, config.calendly).with_page_size(page_size)
}

async fn book(t: &TestEnv, email: &str, start: DateTime<Utc>) -> booking_sandbox::Booked {
    t.control
        .book_calendly(&BookInvitee::new(email, "Lee Ad", start))
        .await
        .expect("booked")
}

fn window(start: DateTime<Utc>, end: DateTime<Utc>) -> EventWindow {
    EventWindow {
        min_start_time: start,
        max_start_time: end,
        status: None,
    }
}

#[tokio::test]
async fn the_current_user_names_the_scope_of_every_listing() {
    let t = spawn().await;
    let user = client(&t, 100).current_user().await.unwrap();
    assert!(user.uri.ends_with(defaults::CALENDLY_USER_UUID), "{user:?}");
    assert!(
        user.current_organization
            .ends_with(defaults::CALENDLY_ORGANIZATION_UUID),
        "{user:?}"
    );
}

#[tokio::test]
async fn listing_follows_every_page_in_start_order() {
    let t = spawn().await;
    for hour in [15, 9, 12, 10, 14, 11, 13] {
        book(&t, &format!("lead{hour}@example.com"), at(hour)).await;
    }
    t.control.clear_requests().await.unwrap();
    for scope in [ListScope::Organization, ListScope::User] {
        let events = client(&t, 3)
            .with_scope(scope)
            .scheduled_events(&window(at(0), at(23)))
            .await
            .unwrap();
        let starts: Vec<_> = events.iter().map(|e| e.start_time).collect();
        assert_eq!(starts, (9..=15).map(at).collect::<Vec<_>>(), "{scope:?}");
        assert!(events.iter().all(|e| e.status == CalendlyStatus::Active));
    }
    // 7 events, 3 per page: 3 pages per listing, two listings (one /users/me per client).
    assert_eq!(
        count(&t.control, Some("GET"), "/calendly/scheduled_events").await,
        6
    );
    assert_eq!(
        count(&t.control, Some("GET"), "/calendly/users/me").await,
        2
    );
}

#[tokio::test]
async fn a_listing_past_the_page_guard_fails_clearly() {
    let t = spawn().await;
    for hour in 9..14 {
        book(&t, &format!("lead{hour}@example.com"), at(hour)).await;
    }
    let err = client(&t, 2)
        .with_max_pages(2)
        .scheduled_events(&window(at(0), at(23)))
        .await
        .unwrap_err();
    assert_eq!(err.type_name(), "ProviderBadResponse");
    let message = err.to_string();
    assert!(message.contains("after 2 pages of 2"), "{message}");
}

#[tokio::test]
async fn the_window_and_status_filters_reach_calendly() {
    let t = spawn().await;
    for hour in [9, 11, 13] {
        book(&t, &format!("lead{hour}@example.com"), at(hour)).await;
    }
    let gone = book(&t, "gone@example.com", at(12)).await;
    t.control
        .cancel_calendly(&gone.invitee.uuid, &CancelInvitee::default())
        .await
        .unwrap();
    let calendly = client(&t, 100);
    // The end is exclusive: the 13:00 event is out.
    let events = calendly
        .scheduled_events(&window(at(10), at(13)))
        .await
        .unwrap();
    let starts: Vec<_> = events.iter().map(|e| e.start_time).collect();
    assert_eq!(starts, vec![at(11), at(12)]);
    let active = calendly
        .scheduled_events(&EventWindow {
            status: Some(CalendlyStatus::Active),
            ..window(at(10), at(13))
        })
        .await
        .unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].start_time, at(11));

    // The same window through the activity.
    let changes = t
        .env
        .run(
            BookingActivities::list_scheduled_changes,
            ListScheduledChangesInput {
                window_start: at(10),
                window_end: at(13),
            },
        )
        .await
        .unwrap();
    assert_eq!(changes.events.len(), 2);
    assert_eq!(changes.events[0].invitees[0].email, "lead11@example.com");
    assert_eq!(changes.events[1].status, CalendlyStatus::Canceled);
}

#[tokio::test]
async fn a_rescheduled_pair_is_linked_both_ways() {
    let t = spawn().await;
    let booked = book(&t, "lee@example.com", at(10)).await;
    let mut reschedule = RescheduleInvitee::to(at(15));
    reschedule.reason = Some("running late".into());
    let moved = t
        .control
        .reschedule_calendly(&booked.invitee.uuid, &reschedule)
        .await
        .unwrap();
    let cancelled = book(&t, "ann@example.com", at(12)).await;
    t.control
        .cancel_calendly(
            &cancelled.invitee.uuid,
            &CancelInvitee {
                reason: Some("found another place".into()),
                ..CancelInvitee::default()
            },
        )
        .await
        .unwrap();

    let changes = t
        .env
        .run(
            BookingActivities::list_scheduled_changes,
            ListScheduledChangesInput {
                window_start: at(0),
                window_end: at(23),
            },
        )
        .await
        .unwrap();
    let [old, ann, new] = changes.events.as_slice() else {
        panic!("three events expected: {changes:?}");
    };
    assert_eq!((old.start, new.start, ann.start), (at(10), at(15), at(12)));
    assert_eq!(old.uuid, moved.old_event.uuid);
    assert_eq!(old.status, CalendlyStatus::Canceled);
    assert_eq!(new.status, CalendlyStatus::Active);

    let (old_invitee, new_invitee) = (&old.invitees[0], &new.invitees[0]);
    assert_eq!(old_invitee.uuid, moved.old_invitee.uuid);
    assert_eq!(new_invitee.uuid, moved.new_invitee.uuid);
    assert!(old_invitee.rescheduled);
    assert_eq!(old_invitee.status, CalendlyStatus::Canceled);
    assert_eq!(
        old_invitee.new_invitee.as_deref(),
        Some(new_invitee.uri.as_str())
    );
    assert_eq!(old_invitee.cancel_reason.as_deref(), Some("running late"));
    assert!(!new_invitee.rescheduled);
    assert_eq!(
        new_invitee.old_invitee.as_deref(),
        Some(old_invitee.uri.as_str())
    );
    assert_eq!(new_invitee.new_invitee, None);
    assert_eq!(new_invitee.email, "lee@example.com");
    assert_eq!(new_invitee.timezone.as_deref(), Some("UTC"));

    let ann = &ann.invitees[0];
    assert!(!ann.rescheduled);
    assert_eq!(ann.cancel_reason.as_deref(), Some("found another place"));
    assert_eq!(ann.canceled_by.as_deref(), Some("Lee Ad"));

    // The single-resource reads agree with the listing.
    let calendly = client(&t, 100);
    let invitee = calendly
        .invitee(&new.uuid, &new_invitee.uuid)
        .await
        .unwrap();
    assert_eq!(
        invitee.old_invitee.as_deref(),
        Some(old_invitee.uri.as_str())
    );
    let event = calendly.scheduled_event(&new.uuid).await.unwrap();
    assert_eq!((event.start_time, event.end_time), (new.start, new.end));
    let err = calendly
        .invitee(&old.uuid, &new_invitee.uuid)
        .await
        .unwrap_err();
    assert_eq!(err.type_name(), "ProviderNotFound");
}

#[tokio::test]
async fn invitees_are_paged_too() {
    let t = spawn().await;
    let booked = book(&t, "lee@example.com", at(10)).await;
    // One invitee per event in the sandbox: a page of one still ends after one page.
    let invitees = client(&t, 1).invitees(&booked.event.uuid).await.unwrap();
    assert_eq!(invitees.len(), 1);
    assert_eq!(invitees[0].uuid(), booked.invitee.uuid);
    t.control
        .inject(
            &Injection::new("GET", "/calendly/scheduled_events/", 200).json(serde_json::json!({
                "collection": [{
                    "uri": format!("{}/calendly/scheduled_events/{}/invitees/X1", t.sandbox.base_url(), booked.event.uuid),
                    "email": "x@example.com", "name": "X", "status": "active"
                }],
                "pagination": { "next_page_token": "NEXT" }
            })),
        )
        .await
        .unwrap();
    let invitees = client(&t, 1).invitees(&booked.event.uuid).await;
    // The injected first page points at a token the sandbox does not know: 400, fatal.
    let err = invitees.unwrap_err();
    assert_eq!(err.type_name(), "ProviderRejected", "{err}");
    let pages = t
        .control
        .requests_matching(Some("GET"), "/calendly/scheduled_events/")
        .await
        .unwrap();
    assert!(
        pages
            .last()
            .and_then(|r| r.query.as_deref())
            .is_some_and(|q| q.contains("page_token=NEXT")),
        "{pages:?}"
    );
}

#[tokio::test]
async fn a_wrong_token_is_a_fatal_auth_rejection() {
    let t = spawn().await;
    let mut config = ProvidersConfig::for_sandbox(&t.sandbox.base_url()).expect("config");
    config.calendly.token = Secret::new("not-the-calendly-token");
    let activities = BookingActivities::new(config).expect("activities");
    let env = ActivityEnvironment::builder_with_default()
        .register_activities(activities)
        .build();
    let err = env
        .run(
            BookingActivities::list_scheduled_changes,
            ListScheduledChangesInput {
                window_start: at(0),
                window_end: at(23),
            },
        )
        .await
        .unwrap_err();
    let failure = failure(err);
    assert_eq!(failure.type_name(), Some("ProviderAuthRejected"));
    assert!(failure.is_non_retryable());
    assert!(!format!("{failure:?}").contains("not-the-calendly-token"));
}

#[tokio::test]
async fn a_429_carries_calendlys_retry_after() {
    let t = spawn().await;
    book(&t, "lee@example.com", at(10)).await;
    t.control
        .inject(
            &Injection::calendly_error(
                "GET",
                "/calendly/scheduled_events",
                429,
                "Too Many Requests",
                "You have exceeded the rate limit.",
            )
            .retry_after(17),
        )
        .await
        .unwrap();
    let input = ListScheduledChangesInput {
        window_start: at(0),
        window_end: at(23),
    };
    let err = t
        .env
        .run(BookingActivities::list_scheduled_changes, input.clone())
        .await
        .unwrap_err();
    let failure = failure(err);
    assert_eq!(failure.type_name(), Some("ProviderRateLimited"));
    assert!(!failure.is_non_retryable());
    assert_eq!(failure.next_retry_delay(), Some(Duration::from_secs(17)));

    // The injection was used up: the retry Temporal would make succeeds.
    let changes = t
        .env
        .run(BookingActivities::list_scheduled_changes, input)
        .await
        .unwrap();
    assert_eq!(changes.events.len(), 1);
}

#[tokio::test]
async fn server_errors_are_retryable_unavailability() {
    let t = spawn().await;
    t.control
        .inject(&Injection::calendly_error(
            "GET",
            "/calendly/users/me",
            503,
            "Service Unavailable",
            "try later",
        ))
        .await
        .unwrap();
    let err = client(&t, 100).current_user().await.unwrap_err();
    assert!(
        matches!(err, ProviderError::Unavailable { status: 503, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn malformed_bodies_are_bad_responses_with_the_reason() {
    let t = spawn().await;
    book(&t, "lee@example.com", at(10)).await;
    let calendly = client(&t, 100);
    let all_day = window(at(0), at(23));
    let list = || calendly.scheduled_events(&all_day);

    t.control
        .inject(
            &Injection::new("GET", "/calendly/scheduled_events", 200).text("{\"collection\": ["),
        )
        .await
        .unwrap();
    let err = list().await.unwrap_err();
    assert_eq!(err.type_name(), "ProviderBadResponse");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("GET /scheduled_events"), "{err}");

    // Well-formed JSON that breaks the contract: an event without its times.
    t.control
        .inject(
            &Injection::new("GET", "/calendly/scheduled_events", 200).json(serde_json::json!({
                "collection": [{ "uri": "https://api.calendly.com/scheduled_events/E1", "status": "active" }],
                "pagination": {}
            })),
        )
        .await
        .unwrap();
    let err = list().await.unwrap_err();
    assert_eq!(err.type_name(), "ProviderBadResponse");
    assert!(err.to_string().contains("start_time"), "{err}");

    // Through the activity, the failure is typed and retryable.
    t.control
        .inject(
            &Injection::new("GET", "/calendly/scheduled_events", 200).text("<html>proxy</html>"),
        )
        .await
        .unwrap();
    let err = t
        .env
        .run(
            BookingActivities::list_scheduled_changes,
            ListScheduledChangesInput {
                window_start: at(0),
                window_end: at(23),
            },
        )
        .await
        .unwrap_err();
    let failure = failure(err);
    assert_eq!(failure.type_name(), Some("ProviderBadResponse"));
    assert!(!failure.is_non_retryable());

    // And with the injections used up, the same client reads the real listing.
    assert_eq!(list().await.unwrap().len(), 1);
}
