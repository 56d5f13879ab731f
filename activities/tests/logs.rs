//! Log hygiene: every provider call is logged with its booking, and no secret ever is.
//! In its own test binary: the capturing subscriber is the only one in the process.

mod common;

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use booking_activities::{
    BookingActivities,
    email::EmailMessage,
    inputs::{EnsureCalendarEventInput, UpsertCrmContactInput},
    sms::SmsMessage,
};
use booking_sandbox::{Injection, defaults};
use common::{at, failure, spawn};

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

/// A `MakeWriter` collecting everything logged.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn logs_name_the_booking_and_never_hold_a_secret() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let t = spawn().await;
    t.env
        .run(BookingActivities::send_email, message("ask-to-confirm"))
        .await
        .unwrap();
    t.env
        .run(
            BookingActivities::send_sms,
            SmsMessage {
                booking_id: "bk-e1".into(),
                step: "tour-reminder-1h".into(),
                to: "+14155550132".into(),
                body: "See you soon".into(),
                send_before: None,
            },
        )
        .await
        .unwrap();
    t.env
        .run(
            BookingActivities::ensure_calendar_event,
            EnsureCalendarEventInput {
                booking_id: "bk-e1".into(),
                calendar_id: "primary".into(),
                summary: "Tour".into(),
                description: None,
                location: None,
                start: at(10),
                end: at(11),
                attendee_emails: vec![],
            },
        )
        .await
        .unwrap();
    // Failures log their bodies: make one echo a secret back and one fail auth.
    t.control
        .inject(&Injection::hubspot_error(
            "POST",
            "/hubspot/crm/v3/objects/contacts",
            400,
            "VALIDATION_ERROR",
            &format!("bad token {} in request", defaults::HUBSPOT_TOKEN),
        ))
        .await
        .unwrap();
    let err = t
        .env
        .run(
            BookingActivities::upsert_crm_contact,
            UpsertCrmContactInput {
                booking_id: "bk-e1".into(),
                email: "lead@example.com".into(),
                first_name: None,
                last_name: None,
                phone: None,
                booking_status: None,
                tour_start: None,
                tour_type: None,
            },
        )
        .await
        .unwrap_err();
    let message = failure(err).source_error().to_string();
    assert!(!message.contains(defaults::HUBSPOT_TOKEN), "{message}");
    assert!(message.contains("[REDACTED]"), "{message}");
    t.control
        .revoke_grant(defaults::GOOGLE_REFRESH_TOKEN)
        .await
        .unwrap();
    t.control.expire_access_tokens().await.unwrap();
    let _ = t
        .env
        .run(
            BookingActivities::ensure_calendar_event,
            EnsureCalendarEventInput {
                booking_id: "bk-e2".into(),
                calendar_id: "primary".into(),
                summary: "Tour".into(),
                description: None,
                location: None,
                start: at(12),
                end: at(13),
                attendee_emails: vec![],
            },
        )
        .await
        .unwrap_err();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for secret in [
        defaults::SENDGRID_API_KEY,
        defaults::HUBSPOT_TOKEN,
        defaults::GOOGLE_CLIENT_SECRET,
        defaults::GOOGLE_REFRESH_TOKEN,
        defaults::TWILIO_AUTH_TOKEN,
    ] {
        assert!(!logs.contains(secret), "{secret} leaked into:\n{logs}");
    }
    assert!(
        logs.contains("booking_id=\"bk-e1\"") || logs.contains("booking_id=bk-e1"),
        "{logs}"
    );
    assert!(
        logs.contains("activity=\"send_email\"") || logs.contains("activity=send_email"),
        "{logs}"
    );
    assert!(
        logs.contains("path=\"/sendgrid/v3/mail/send\"")
            || logs.contains("path=/sendgrid/v3/mail/send"),
        "{logs}"
    );
    assert!(logs.contains("status=202"), "{logs}");
    assert!(
        logs.contains("activity=\"send_sms\"") || logs.contains("activity=send_sms"),
        "{logs}"
    );
    assert!(logs.contains("provider=Twilio"), "{logs}");
    assert!(logs.contains("status=201"), "{logs}");
    assert!(logs.contains("latency_ms="), "{logs}");
    assert!(
        logs.contains("re-authorise"),
        "the revoked grant is logged: {logs}"
    );
    assert!(logs.contains("ERROR"), "{logs}");
}
