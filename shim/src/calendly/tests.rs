use super::*;

const BASE: &str = "http://sandbox/calendly/scheduled_events";

fn body(event: &str, extra: serde_json::Value) -> Vec<u8> {
    let mut payload = serde_json::json!({
        "uri": format!("{BASE}/EV1/invitees/INV1"),
        "email": "Lead@Example.com",
        "name": "Lead",
        "timezone": "Europe/Paris",
        "rescheduled": false,
        "old_invitee": null,
        "new_invitee": null,
        "questions_and_answers": [{"question": "Budget?", "answer": "1M"}],
        "scheduled_event": {
            "uri": format!("{BASE}/EV1"),
            "start_time": "2030-01-01T09:00:00.000000Z",
            "end_time": "2030-01-01T09:30:00.000000Z",
            "event_type": "http://sandbox/calendly/event_types/TYPE1",
            "event_memberships": [{"user_email": "agent@sandbox.test"}]
        }
    });
    if let (Some(p), Some(e)) = (payload.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            p.insert(k.clone(), v.clone());
        }
    }
    serde_json::to_vec(&serde_json::json!({"event": event, "payload": payload})).unwrap()
}

#[test]
fn a_creation_parses_into_facts() {
    let CalendlyDelivery::Created(facts) =
        parse(&body("invitee.created", serde_json::json!({}))).unwrap()
    else {
        panic!("a creation");
    };
    assert_eq!(facts.invitee.uuid, "INV1");
    assert_eq!(facts.email.as_str(), "lead@example.com");
    assert_eq!(facts.property_id.as_str(), "TYPE1");
    assert_eq!(facts.agent_id.as_str(), "agent@sandbox.test");
    assert_eq!(facts.answers["Budget?"], "1M");
    let booking = facts.invitee.booking_id().unwrap();
    assert_eq!(booking.as_str(), "cal-INV1");
    let valid = facts.request(&booking, "e1", "r1").unwrap();
    assert_eq!(valid.request.request_id, "r1");
}

#[test]
fn the_cancel_half_of_a_reschedule_names_its_successor() {
    let delivery = parse(&body(
        "invitee.canceled",
        serde_json::json!({
            "rescheduled": true,
            "new_invitee": format!("{BASE}/EV2/invitees/INV2"),
            "cancellation": {"reason": "busy", "canceler_type": "invitee"}
        }),
    ))
    .unwrap();
    let CalendlyDelivery::Canceled {
        rescheduled,
        rescheduled_to,
        cancelled_by,
        ..
    } = delivery
    else {
        panic!("a cancel");
    };
    assert!(rescheduled);
    assert_eq!(rescheduled_to.unwrap().uuid, "INV2");
    assert_eq!(cancelled_by, "lead");
}

#[test]
fn unprocessable_payloads_say_why() {
    for (b, why) in [
        (
            body("invitee.no_show", serde_json::json!({})),
            "unsupported",
        ),
        (
            body("invitee.created", serde_json::json!({"email": "nope"})),
            "email",
        ),
        (
            body(
                "invitee.created",
                serde_json::json!({"scheduled_event": null}),
            ),
            "scheduled_event",
        ),
        (
            body("invitee.created", serde_json::json!({"uri": "http://x/y"})),
            "invitee URI",
        ),
        (b"[]".to_vec(), "envelope"),
    ] {
        let err = parse(&b).unwrap_err();
        assert!(err.0.contains(why), "{err} should mention {why}");
    }
}

#[test]
fn an_oversized_invitee_name_is_a_dead_letter_naming_the_field() {
    let err = parse(&body(
        "invitee.created",
        serde_json::json!({"name": "N".repeat(10_000)}),
    ))
    .unwrap_err();
    assert!(
        err.0.starts_with("payload.name: must be at most 200"),
        "{err}"
    );
}

#[test]
fn every_bad_text_of_a_delivery_is_named_at_once() {
    let err = parse(&body(
        "invitee.canceled",
        serde_json::json!({
            "name": "Lead\u{1b}[2J",
            "timezone": "Europe/Paris\n",
            "text_reminder_number": "9".repeat(41),
            "questions_and_answers": [{"question": "Budget?", "answer": "a".repeat(2_001)}],
            "cancellation": {"reason": "bye\u{7}", "canceler_type": "invitee"}
        }),
    ))
    .unwrap_err();
    for field in [
        "payload.name:",
        "payload.text_reminder_number:",
        "payload.cancellation.reason:",
        "payload.questions_and_answers[0].answer:",
    ] {
        assert!(err.0.contains(field), "{err} should name {field}");
    }
    // A trailing line break is padding, trimmed like any other.
    assert!(!err.0.contains("payload.timezone"), "{err}");
}

#[test]
fn host_and_event_type_ids_are_checked_and_trimmed() {
    let mut v = body("invitee.created", serde_json::json!({}));
    let text = String::from_utf8(v.clone()).unwrap();
    v = text
        .replace("agent@sandbox.test", " agent@sandbox.test ")
        .into_bytes();
    let CalendlyDelivery::Created(facts) = parse(&v).unwrap() else {
        panic!("a creation");
    };
    assert_eq!(facts.agent_id.as_str(), "agent@sandbox.test");
    let bad = text.replace("agent@sandbox.test", "agent/x@sandbox.test");
    let err = parse(bad.as_bytes()).unwrap_err();
    assert!(err.0.contains("event_memberships[0]"), "{err}");
    let long = text.replace("TYPE1", &"T".repeat(200));
    let err = parse(long.as_bytes()).unwrap_err();
    assert!(
        err.0.contains("payload.scheduled_event.event_type"),
        "{err}"
    );
}

#[test]
fn invitee_uris_parse_strictly() {
    let r = InviteeRef::parse(&format!("{BASE}/EV/invitees/IN-1")).unwrap();
    assert_eq!((r.event_uuid.as_str(), r.uuid.as_str()), ("EV", "IN-1"));
    assert!(InviteeRef::parse(&format!("{BASE}/EV/invitees/a b")).is_err());
    assert!(InviteeRef::parse("invitees/x").is_err());
    let long = format!(
        "{BASE}/{}/EV/invitees/IN-1",
        "x".repeat(InviteeRef::MAX_URI_LEN)
    );
    assert!(InviteeRef::parse(&long).unwrap_err().0.contains("at most"));
    assert!(r.created_event_id().ends_with("#created"));
}
