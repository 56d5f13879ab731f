//! Calendly webhook sender contract: envelope, verifiable signature, reschedule pairs in
//! both orders, suppressed deliveries, retries with backoff, giving up, redelivery and raw
//! replays.

mod common;

use std::time::Duration;

use booking_sandbox::{
    BookInvitee, CancelInvitee, CancelerType, DeliveryState, RawWebhook, RescheduleDelivery,
    RescheduleInvitee, RescheduleOrder, RunningSandbox, SandboxConfig, WebhookSubscriptionUpdate,
    defaults,
};
use chrono::{TimeZone, Utc};
use common::{Receiver, eventually, start_with};
use hmac::{Hmac, Mac};
use sha2::Sha256;

fn at(day: u32, hour: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 7, day, hour, 0, 0).unwrap()
}

/// Verifies a `Calendly-Webhook-Signature` the way a receiver does, independently of the
/// sandbox's own signing code.
fn verify(header: &str, body: &str, key: &str) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value),
            Some(("v1", value)) => v1 = Some(value),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes()) == v1
}

fn timestamp_of(header: &str) -> i64 {
    header
        .split(',')
        .find_map(|p| p.strip_prefix("t="))
        .unwrap()
        .parse()
        .unwrap()
}

async fn with_receiver(configure: impl FnOnce(&mut SandboxConfig)) -> (RunningSandbox, Receiver) {
    let receiver = Receiver::start().await;
    let target = receiver.url.clone();
    let sandbox = start_with(|c| {
        c.calendly_webhook_target = Some(target);
        c.webhook_retry_base = Duration::from_millis(20);
        c.webhook_retry_cap = Duration::from_millis(200);
        configure(c);
    })
    .await;
    (sandbox, receiver)
}

#[tokio::test]
async fn booking_sends_a_signed_invitee_created_envelope() {
    let (sandbox, receiver) = with_receiver(|_| {}).await;
    let mut booking = BookInvitee::new("lead@example.com", "Ada Lovelace", at(1, 10));
    booking.location = Some("12 Elm St".into());
    booking.timezone = "Europe/London".into();
    booking.questions_and_answers = vec![booking_sandbox::QuestionAndAnswer {
        question: "Budget?".into(),
        answer: "500k".into(),
        position: 0,
    }];
    booking.tracking.utm_source = Some("newsletter".into());
    let booked = sandbox.client().book_calendly(&booking).await.unwrap();
    assert_eq!(booked.deliveries.len(), 1);
    assert_eq!(
        booked.deliveries[0].state,
        DeliveryState::Delivered,
        "first attempt happens before the call returns"
    );
    assert_eq!(booked.deliveries[0].attempts[0].status, Some(200));

    let got = receiver.wait_for(1).await;
    let signature = got[0].signature.as_deref().expect("signature header");
    assert!(
        verify(signature, &got[0].body, defaults::CALENDLY_SIGNING_KEY),
        "{signature}"
    );
    assert!((timestamp_of(signature) - Utc::now().timestamp()).abs() < 60);
    assert!(!verify(signature, &got[0].body, "another-key"));

    let envelope = got[0].json();
    assert_eq!(envelope["event"], "invitee.created");
    assert!(envelope["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(
        envelope["created_by"]
            .as_str()
            .unwrap()
            .contains(defaults::CALENDLY_USER_UUID)
    );
    let payload = &envelope["payload"];
    for field in [
        "uri",
        "email",
        "name",
        "status",
        "timezone",
        "cancel_url",
        "reschedule_url",
        "rescheduled",
        "old_invitee",
        "new_invitee",
        "questions_and_answers",
        "tracking",
        "scheduled_event",
    ] {
        assert!(payload.get(field).is_some(), "payload lacks {field}");
    }
    assert_eq!(payload["email"], "lead@example.com");
    assert_eq!(payload["status"], "active");
    assert_eq!(payload["timezone"], "Europe/London");
    assert_eq!(payload["questions_and_answers"][0]["answer"], "500k");
    assert_eq!(payload["tracking"]["utm_source"], "newsletter");
    assert!(
        payload["uri"]
            .as_str()
            .unwrap()
            .ends_with(&booked.invitee.uuid)
    );
    let scheduled = &payload["scheduled_event"];
    assert_eq!(scheduled["start_time"], "2030-07-01T10:00:00.000000Z");
    assert_eq!(scheduled["end_time"], "2030-07-01T10:30:00.000000Z");
    assert_eq!(scheduled["location"]["location"], "12 Elm St");
    assert_eq!(
        scheduled["event_memberships"][0]["user_email"],
        defaults::CALENDLY_HOST_EMAIL
    );
}

#[tokio::test]
async fn cancel_sends_invitee_canceled_with_cancellation() {
    let (sandbox, receiver) = with_receiver(|_| {}).await;
    let client = sandbox.client();
    let booked = client
        .book_calendly(&BookInvitee::new("lead@example.com", "Lead", at(2, 10)))
        .await
        .unwrap();
    client
        .cancel_calendly(
            &booked.invitee.uuid,
            &CancelInvitee {
                reason: Some("found another place".into()),
                canceler_type: CancelerType::Host,
                deliver: true,
            },
        )
        .await
        .unwrap();
    let got = receiver.wait_for(2).await;
    let canceled = got[1].json();
    assert_eq!(canceled["event"], "invitee.canceled");
    assert_eq!(canceled["payload"]["status"], "canceled");
    assert_eq!(canceled["payload"]["rescheduled"], false);
    assert_eq!(
        canceled["payload"]["cancellation"]["reason"],
        "found another place"
    );
    assert_eq!(canceled["payload"]["cancellation"]["canceler_type"], "host");
    assert_eq!(canceled["payload"]["scheduled_event"]["status"], "canceled");
    assert!(
        client
            .cancel_calendly(&booked.invitee.uuid, &CancelInvitee::default())
            .await
            .is_err(),
        "already canceled"
    );
}

async fn reschedule_in_order(order: RescheduleOrder) {
    let (sandbox, receiver) = with_receiver(|_| {}).await;
    let client = sandbox.client();
    let booked = client
        .book_calendly(&BookInvitee::new("lead@example.com", "Lead", at(3, 10)))
        .await
        .unwrap();
    let mut request = RescheduleInvitee::to(at(4, 15));
    request.order = order;
    let moved = client
        .reschedule_calendly(&booked.invitee.uuid, &request)
        .await
        .unwrap();
    assert_eq!(moved.deliveries.len(), 2);

    let got = receiver.wait_for(3).await;
    let (first, second) = (got[1].json(), got[2].json());
    let (canceled, created) = match order {
        RescheduleOrder::CancelFirst => (first, second),
        RescheduleOrder::CreateFirst => (second, first),
    };
    assert_eq!(canceled["event"], "invitee.canceled");
    assert_eq!(created["event"], "invitee.created");
    assert_eq!(canceled["payload"]["rescheduled"], true);
    assert_eq!(
        canceled["payload"]["new_invitee"],
        created["payload"]["uri"]
    );
    assert_eq!(
        created["payload"]["old_invitee"],
        canceled["payload"]["uri"]
    );
    assert_eq!(
        created["payload"]["scheduled_event"]["start_time"],
        "2030-07-04T15:00:00.000000Z"
    );
    assert!(got.iter().all(|r| verify(
        r.signature.as_deref().unwrap(),
        &r.body,
        defaults::CALENDLY_SIGNING_KEY
    )));

    // A chain: the new invitee is rescheduled again.
    let again = client
        .reschedule_calendly(&moved.new_invitee.uuid, &RescheduleInvitee::to(at(5, 9)))
        .await
        .unwrap();
    assert_eq!(
        again.new_invitee.old_invitee.as_deref(),
        Some(moved.new_invitee.uuid.as_str())
    );
    receiver.wait_for(5).await;
}

#[tokio::test]
async fn reschedule_sends_cancel_then_create() {
    reschedule_in_order(RescheduleOrder::CancelFirst).await;
}

#[tokio::test]
async fn reschedule_sends_create_then_cancel() {
    reschedule_in_order(RescheduleOrder::CreateFirst).await;
}

#[tokio::test]
async fn suppressed_deliveries_are_recorded_but_not_sent() {
    let (sandbox, receiver) = with_receiver(|_| {}).await;
    let client = sandbox.client();
    let mut booking = BookInvitee::new("lead@example.com", "Lead", at(6, 10));
    booking.deliver = false;
    let booked = client.book_calendly(&booking).await.unwrap();
    assert_eq!(booked.deliveries[0].state, DeliveryState::Suppressed);

    let mut request = RescheduleInvitee::to(at(6, 12));
    request.deliver = RescheduleDelivery::CancelOnly;
    let moved = client
        .reschedule_calendly(&booked.invitee.uuid, &request)
        .await
        .unwrap();
    let states: Vec<_> = moved
        .deliveries
        .iter()
        .map(|d| (d.event.as_str(), d.state))
        .collect();
    assert_eq!(
        states,
        vec![
            ("invitee.canceled", DeliveryState::Delivered),
            ("invitee.created", DeliveryState::Suppressed)
        ]
    );
    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["event"], "invitee.canceled");

    // The missed one can be delivered later (e.g. after a reconciliation test).
    let redelivered = client.redeliver(&booked.deliveries[0].id).await.unwrap();
    assert_eq!(redelivered.state, DeliveryState::Delivered);
    assert_eq!(receiver.received()[1].json()["event"], "invitee.created");
    assert_eq!(client.webhook_deliveries().await.unwrap().len(), 4);
}

#[tokio::test]
async fn non_2xx_is_retried_with_backoff_until_delivered() {
    let (sandbox, receiver) = with_receiver(|_| {}).await;
    receiver.answer_with(&[500, 503, 404]);
    let booked = sandbox
        .client()
        .book_calendly(&BookInvitee::new("lead@example.com", "Lead", at(8, 10)))
        .await
        .unwrap();
    assert_eq!(booked.deliveries[0].state, DeliveryState::Pending);
    assert!(booked.deliveries[0].next_attempt_at.is_some());

    let client = sandbox.client();
    let delivery = eventually("the delivery to succeed", || async {
        let d = client.webhook_deliveries().await.unwrap().remove(0);
        (d.state == DeliveryState::Delivered).then_some(d)
    })
    .await;
    let statuses: Vec<_> = delivery.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, vec![Some(500), Some(503), Some(404), Some(200)]);
    let gaps: Vec<i64> = delivery
        .attempts
        .windows(2)
        .map(|w| (w[1].at - w[0].at).num_milliseconds())
        .collect();
    assert!(
        gaps[0] >= 20 && gaps[1] >= 40 && gaps[2] >= 80,
        "exponential backoff: {gaps:?}"
    );
    let got = receiver.received();
    assert_eq!(got.len(), 4);
    assert!(
        got.iter().all(|r| r.body == got[0].body),
        "every retry carries the same body"
    );
    assert!(got.iter().all(|r| verify(
        r.signature.as_deref().unwrap(),
        &r.body,
        defaults::CALENDLY_SIGNING_KEY
    )));
}

#[tokio::test]
async fn after_the_horizon_calendly_gives_up_and_disables_the_subscription() {
    let (sandbox, receiver) =
        with_receiver(|c| c.webhook_retry_horizon = Duration::from_millis(150)).await;
    receiver.answer_with(&[500; 50]);
    let client = sandbox.client();
    client
        .book_calendly(&BookInvitee::new("lead@example.com", "Lead", at(9, 10)))
        .await
        .unwrap();
    let failed = eventually("the delivery to fail for good", || async {
        let d = client.webhook_deliveries().await.unwrap().remove(0);
        (d.state == DeliveryState::Failed).then_some(d)
    })
    .await;
    assert!(failed.attempts.len() >= 2);
    assert!(failed.attempts.iter().all(|a| a.status == Some(500)));
    assert!(!client.webhook_subscription().await.unwrap().enabled);

    let next = client
        .book_calendly(&BookInvitee::new("late@example.com", "Late", at(9, 12)))
        .await
        .unwrap();
    assert_eq!(next.deliveries[0].state, DeliveryState::NotSent);

    client
        .set_webhook(&WebhookSubscriptionUpdate {
            enabled: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    receiver.answer_ok();
    let redelivered = client.redeliver(&next.deliveries[0].id).await.unwrap();
    assert_eq!(redelivered.state, DeliveryState::Delivered);
}

#[tokio::test]
async fn unreachable_target_records_the_error_and_no_target_means_not_sent() {
    let sandbox = start_with(|c| {
        c.calendly_webhook_target = Some("http://127.0.0.1:9/webhook".into());
        c.webhook_retry_base = Duration::from_secs(3600);
    })
    .await;
    let client = sandbox.client();
    let booked = client
        .book_calendly(&BookInvitee::new("lead@example.com", "Lead", at(10, 10)))
        .await
        .unwrap();
    let attempt = &booked.deliveries[0].attempts[0];
    assert_eq!(attempt.status, None);
    assert!(attempt.error.is_some());
    assert_eq!(booked.deliveries[0].state, DeliveryState::Pending);

    client
        .set_webhook(&WebhookSubscriptionUpdate {
            clear_target: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let next = client
        .book_calendly(&BookInvitee::new("x@example.com", "X", at(10, 12)))
        .await
        .unwrap();
    assert_eq!(next.deliveries[0].state, DeliveryState::NotSent);

    let receiver = Receiver::start().await;
    let sub = client.set_webhook_target(&receiver.url).await.unwrap();
    assert_eq!(sub.target.as_deref(), Some(receiver.url.as_str()));
    client.redeliver(&next.deliveries[0].id).await.unwrap();
    assert_eq!(
        receiver.wait_for(1).await[0].json()["payload"]["email"],
        "x@example.com"
    );
}

#[tokio::test]
async fn redelivery_repeats_the_exact_body_with_a_fresh_signature() {
    let (sandbox, receiver) = with_receiver(|_| {}).await;
    let client = sandbox.client();
    let booked = client
        .book_calendly(&BookInvitee::new("lead@example.com", "Lead", at(11, 10)))
        .await
        .unwrap();
    let again = client.redeliver(&booked.deliveries[0].id).await.unwrap();
    assert_eq!(
        again.redelivery_of.as_deref(),
        Some(booked.deliveries[0].id.as_str())
    );
    assert_ne!(again.id, booked.deliveries[0].id);
    let got = receiver.wait_for(2).await;
    assert_eq!(got[0].body, got[1].body);
    assert!(verify(
        got[1].signature.as_deref().unwrap(),
        &got[1].body,
        defaults::CALENDLY_SIGNING_KEY
    ));
}

#[tokio::test]
async fn raw_replays_control_body_and_signature() {
    let (sandbox, receiver) = with_receiver(|_| {}).await;
    let client = sandbox.client();
    let body = r#"{"event":"invitee.created","payload":{"email":"x"}}"#.to_owned();

    let stale = Utc::now().timestamp() - 3600;
    let sent = client
        .send_raw_webhook(&RawWebhook {
            body: body.clone(),
            timestamp: Some(stale),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(sent.event, "invitee.created");
    assert_eq!(sent.state, DeliveryState::Delivered);
    let got = receiver.wait_for(1).await;
    let header = got[0].signature.as_deref().unwrap();
    assert_eq!(timestamp_of(header), stale);
    assert!(
        verify(header, &body, defaults::CALENDLY_SIGNING_KEY),
        "correctly signed, just old"
    );

    client
        .send_raw_webhook(&RawWebhook {
            body: body.clone(),
            signature: Some("t=1,v1=deadbeef".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    client
        .send_raw_webhook(&RawWebhook {
            body: body.clone(),
            signing_key: Some("wrong".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    client
        .send_raw_webhook(&RawWebhook {
            body: "not json".into(),
            omit_signature: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let got = receiver.wait_for(4).await;
    assert_eq!(got[1].signature.as_deref(), Some("t=1,v1=deadbeef"));
    assert!(!verify(
        got[2].signature.as_deref().unwrap(),
        &body,
        defaults::CALENDLY_SIGNING_KEY
    ));
    assert!(got[3].signature.is_none());
    assert_eq!(got[3].body, "not json");

    // One-shot by default: a refusal is final.
    receiver.answer_with(&[401]);
    let refused = client
        .send_raw_webhook(&RawWebhook {
            body,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(refused.state, DeliveryState::Failed);
    assert_eq!(refused.attempts.len(), 1);
}
