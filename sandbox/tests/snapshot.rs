//! Snapshot persistence: state survives a restart (on another port), pending webhook
//! retries resume, a corrupt file is refused; and the binary saves on SIGTERM.

mod common;

use std::time::Duration;

use booking_sandbox::{BookInvitee, DeliveryState, SandboxError, defaults};
use common::{Receiver, eventually, google_token, http, json, start_with};
use serde_json::json;

fn mail() -> serde_json::Value {
    json!({
        "personalizations": [{"to": [{"email": "lead@example.com"}], "custom_args": {"booking_id": "bk-9"}}],
        "from": {"email": "tours@example.com"},
        "template_id": "d-1"
    })
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state").join("sandbox.json");
    let first = start_with(|c| c.snapshot_path = Some(path.clone())).await;
    let token = google_token(&first).await;
    http()
        .post(format!("{}/v3/mail/send", first.sendgrid_url()))
        .bearer_auth(defaults::SENDGRID_API_KEY)
        .json(&mail())
        .send()
        .await
        .unwrap();
    let events = format!("{}/calendars/primary/events", first.google_calendar_url());
    let (status, _) = json(
        http()
            .post(&events)
            .bearer_auth(&token)
            .json(&json!({"id": "snap00001", "start": {"date": "2030-01-01"}, "end": {"date": "2030-01-02"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let (_, listed) = json(
        http()
            .get(&events)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let sync = listed["nextSyncToken"].as_str().unwrap().to_owned();
    http()
        .post(format!("{}/crm/v3/objects/contacts", first.hubspot_url()))
        .bearer_auth(defaults::HUBSPOT_TOKEN)
        .json(&json!({"properties": {"email": "lead@example.com"}}))
        .send()
        .await
        .unwrap();
    let booked = first
        .client()
        .book_calendly(&BookInvitee::new(
            "lead@example.com",
            "Lead",
            chrono::Utc::now(),
        ))
        .await
        .unwrap();

    // Saved shortly after the changes, without waiting for shutdown.
    let saved = eventually("the snapshot file", || async {
        let text = std::fs::read_to_string(&path).ok()?;
        text.contains("snap00001").then_some(text)
    })
    .await;
    assert!(saved.contains("bk-9"));
    let first_port = first.addr().port();
    first.shutdown().await;

    let second = start_with(|c| c.snapshot_path = Some(path.clone())).await;
    assert_ne!(second.addr().port(), first_port);
    let client = second.client();
    assert_eq!(
        client.emails().await.unwrap()[0].custom_arg("booking_id"),
        Some("bk-9")
    );
    assert_eq!(
        client.calendar_events(true).await.unwrap()[0].event.id,
        "snap00001"
    );
    assert_eq!(client.contacts().await.unwrap().len(), 1);
    assert_eq!(
        client.calendly_invitees().await.unwrap()[0].uuid,
        booked.invitee.uuid
    );

    let events = format!("{}/calendars/primary/events", second.google_calendar_url());
    let (status, body) = json(
        http()
            .get(format!("{events}?syncToken={sync}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "access and sync tokens survive: {body}");
    let (_, event) = json(
        http()
            .get(format!(
                "{}/scheduled_events/{}",
                second.calendly_url(),
                booked.event.uuid
            ))
            .bearer_auth(defaults::CALENDLY_TOKEN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        event["resource"]["uri"]
            .as_str()
            .unwrap()
            .starts_with(&second.calendly_url()),
        "URIs follow the new address"
    );
    second.shutdown().await;
}

#[tokio::test]
async fn pending_webhook_retries_resume_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sandbox.json");
    let receiver = Receiver::start().await;
    receiver.answer_with(&[500]);
    let configure = |c: &mut booking_sandbox::SandboxConfig| {
        c.snapshot_path = Some(path.clone());
        c.calendly_webhook_target = Some(receiver.url.clone());
        c.webhook_retry_base = Duration::from_millis(500);
    };
    let first = start_with(configure).await;
    let booked = first
        .client()
        .book_calendly(&BookInvitee::new(
            "lead@example.com",
            "Lead",
            chrono::Utc::now(),
        ))
        .await
        .unwrap();
    assert_eq!(booked.deliveries[0].state, DeliveryState::Pending);
    first.shutdown().await;

    let second = start_with(configure).await;
    let client = second.client();
    let delivered = eventually("the resumed retry", || async {
        let d = client.webhook_deliveries().await.unwrap().remove(0);
        (d.state == DeliveryState::Delivered).then_some(d)
    })
    .await;
    assert_eq!(delivered.attempts.len(), 2);
    assert_eq!(receiver.received().len(), 2);
    second.shutdown().await;
}

#[tokio::test]
async fn a_corrupt_snapshot_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sandbox.json");
    std::fs::write(&path, "{ not a snapshot").unwrap();
    let config = booking_sandbox::SandboxConfig {
        snapshot_path: Some(path),
        ..Default::default()
    };
    let error = booking_sandbox::start(config)
        .await
        .err()
        .expect("start fails");
    assert!(matches!(error, SandboxError::Snapshot(_)), "{error}");
}

#[tokio::test]
async fn the_binary_serves_and_saves_its_snapshot_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bin.json");
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_booking-sandbox"))
        .args([
            "--port",
            &port.to_string(),
            "--snapshot",
            path.to_str().unwrap(),
        ])
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = booking_sandbox::SandboxClient::new(&base);
    eventually("the binary to listen", || async {
        client.health().await.ok()
    })
    .await;
    let response = http()
        .post(format!("{base}/sendgrid/v3/mail/send"))
        .bearer_auth(defaults::SENDGRID_API_KEY)
        .json(&mail())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);

    let pid = child.id().unwrap().to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("lead@example.com")
    );
}
