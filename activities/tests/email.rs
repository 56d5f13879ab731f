//! The email guard and log hygiene against an in-process sandbox.

mod common;

use booking_activities::{BookingActivities, email::EmailMessage};
use booking_sandbox::Injection;
use common::{break_marker_search, count, failure, spawn};

fn message(step: &str) -> EmailMessage {
    EmailMessage {
        booking_id: "bk-e1".into(),
        step: step.into(),
        to_email: "lead@example.com".into(),
        to_name: "Lead".into(),
        template_id: "d-confirm".into(),
        template_data: serde_json::json!({ "when": "tomorrow" }),
        send_before: None,
    }
}

#[tokio::test]
async fn a_retried_step_is_not_sent_twice() {
    let t = spawn().await;
    let first = t
        .env
        .run(BookingActivities::send_email, message("ask-to-confirm"))
        .await
        .unwrap();
    let retry = t
        .env
        .run(BookingActivities::send_email, message("ask-to-confirm"))
        .await
        .unwrap();
    assert_eq!(retry, first, "the retry returns the recorded receipt");
    let other = t
        .env
        .run(BookingActivities::send_email, message("reminder-1"))
        .await
        .unwrap();
    assert_ne!(other.message_id, first.message_id);
    assert_eq!(t.control.emails().await.unwrap().len(), 2);
    let notes = t.control.notes().await.unwrap();
    assert_eq!(notes.len(), 2);
}

#[tokio::test]
async fn an_unreadable_marker_store_fails_retryably_without_sending() {
    let t = spawn().await;
    break_marker_search(&t.control).await;
    let err = t
        .env
        .run(BookingActivities::send_email, message("ask-to-confirm"))
        .await
        .unwrap_err();
    assert!(!failure(err).is_non_retryable());
    assert!(t.control.emails().await.unwrap().is_empty());
    assert_eq!(count(&t.control, None, "/sendgrid/v3").await, 0);
}

#[tokio::test]
async fn a_sendgrid_429_uses_its_retry_after() {
    let t = spawn().await;
    t.control
        .inject(&Injection::sendgrid_error(429, "too many requests").retry_after(7))
        .await
        .unwrap();
    let err = t
        .env
        .run(BookingActivities::send_email, message("ask-to-confirm"))
        .await
        .unwrap_err();
    let failure = failure(err);
    assert_eq!(failure.type_name(), Some("ProviderRateLimited"));
    assert_eq!(
        failure.next_retry_delay(),
        Some(std::time::Duration::from_secs(7))
    );
}
