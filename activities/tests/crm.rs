//! HubSpot client against an in-process sandbox.

mod common;

use std::time::Duration;

use booking_activities::{
    BookingActivities,
    inputs::{CreateCrmTaskInput, UpdateCrmStageInput, UpsertCrmContactInput},
};
use booking_sandbox::Injection;
use common::{at, failure, spawn};

fn contact(booking_id: &str, email: &str) -> UpsertCrmContactInput {
    UpsertCrmContactInput {
        booking_id: booking_id.into(),
        email: email.into(),
        first_name: Some("Lee".into()),
        last_name: Some("Ad".into()),
        phone: None,
        booking_status: Some("PENDING_CONFIRMATION".into()),
        tour_start: Some(at(10)),
        tour_type: Some("private_viewing".into()),
    }
}

#[tokio::test]
async fn upserting_twice_keeps_one_contact_and_stage_updates_it() {
    let t = spawn().await;
    let first = t
        .env
        .run(
            BookingActivities::upsert_crm_contact,
            contact("bk-1", "lee@example.com"),
        )
        .await
        .unwrap();
    assert!(first.created);
    let second = t
        .env
        .run(
            BookingActivities::upsert_crm_contact,
            contact("bk-1", "lee@example.com"),
        )
        .await
        .unwrap();
    assert!(!second.created);
    assert_eq!(first.contact_id, second.contact_id);

    let staged = t
        .env
        .run(
            BookingActivities::update_crm_stage,
            UpdateCrmStageInput {
                booking_id: "bk-1".into(),
                email: "lee@example.com".into(),
                booking_status: "CONFIRMED".into(),
                lifecycle_stage: Some("opportunity".into()),
                tour_start: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(staged.contact_id, first.contact_id);
    let contacts = t.control.contacts().await.unwrap();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].property("booking_status"), Some("CONFIRMED"));
    assert_eq!(contacts[0].property("booking_id"), Some("bk-1"));
}

#[tokio::test]
async fn a_create_conflict_yields_the_existing_contact() {
    let t = spawn().await;
    let crm = t.activities.crm();
    let made = crm
        .create_contact(&contact("bk-2", "ann@example.com"))
        .await
        .unwrap();
    assert!(made.created);
    let again = crm
        .create_contact(&contact("bk-2", "ann@example.com"))
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.contact_id, made.contact_id);
}

#[tokio::test]
async fn a_retried_task_is_created_once() {
    let t = spawn().await;
    let c = t
        .activities
        .crm()
        .upsert_contact(&contact("bk-3", "bo@example.com"))
        .await
        .unwrap();
    let input = CreateCrmTaskInput {
        booking_id: "bk-3".into(),
        step: "call-unconfirmed".into(),
        contact_id: Some(c.contact_id),
        subject: "Call Bo: booking not confirmed".into(),
        body: None,
        due_at: at(12),
        task_type: "CALL".into(),
    };
    let first = t
        .env
        .run(BookingActivities::create_crm_task, input.clone())
        .await
        .unwrap();
    assert!(first.created);
    let retry = t
        .env
        .run(BookingActivities::create_crm_task, input)
        .await
        .unwrap();
    assert!(!retry.created);
    assert_eq!(retry.task_id, first.task_id);
    let tasks = t.control.tasks().await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        tasks[0].property("booking_dedup_key"),
        Some("bk-3:call-unconfirmed")
    );
    assert_eq!(tasks[0].associations.len(), 1);
}

#[tokio::test]
async fn a_429_waits_the_rate_limit_interval() {
    let t = spawn().await;
    t.control
        .inject(&Injection::hubspot_rate_limited(
            "POST",
            "/hubspot/crm/v3/objects/contacts",
        ))
        .await
        .unwrap();
    let err = t
        .env
        .run(
            BookingActivities::upsert_crm_contact,
            contact("bk-4", "cy@example.com"),
        )
        .await
        .unwrap_err();
    let failure = failure(err);
    assert_eq!(failure.type_name(), Some("ProviderRateLimited"));
    assert!(!failure.is_non_retryable());
    assert_eq!(failure.next_retry_delay(), Some(Duration::from_secs(10)));
}

#[tokio::test]
async fn a_validation_error_is_fatal_with_hubspots_message() {
    let t = spawn().await;
    let err = t
        .env
        .run(
            BookingActivities::upsert_crm_contact,
            contact("bk-5", "not-an-email"),
        )
        .await
        .unwrap_err();
    let failure = failure(err);
    assert_eq!(failure.type_name(), Some("ProviderRejected"));
    assert!(failure.is_non_retryable());
    let message = failure.source_error().to_string();
    assert!(message.contains("VALIDATION_ERROR"), "{message}");
}
