use axum::http::{HeaderMap, Uri, header};
use booking_proto::{domain::FieldError, twilio_signature};

use super::*;
use crate::{config::ShimConfig, signature::SignatureError};

fn config(public_url: Option<&str>) -> ShimConfig {
    let mut config = ShimConfig::for_sandbox(|_| None).unwrap();
    config.public_url = public_url.map(|u| u.parse().unwrap());
    config
}

fn headers(host: &str, signature: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::HOST, host.parse().unwrap());
    if let Some(signature) = signature {
        headers.insert(SIGNATURE_HEADER, signature.parse().unwrap());
    }
    headers
}

fn form() -> TwilioForm {
    TwilioForm::parse(b"MessageSid=SM1&From=%2B14155550132&Body=C")
}

fn fields(errors: Vec<FieldError>) -> Vec<String> {
    errors.into_iter().map(|e| e.field).collect()
}

#[test]
fn the_signature_covers_the_public_url_and_the_form() {
    let config = config(Some("https://hooks.example.com/"));
    let uri: Uri = "/webhooks/twilio/status?booking_id=bk-1&step=s"
        .parse()
        .unwrap();
    let url = "https://hooks.example.com/webhooks/twilio/status?booking_id=bk-1&step=s";
    assert_eq!(signed_url(&config, &headers("h", None), &uri).unwrap(), url);
    let good = twilio_signature::sign(config.twilio_auth_token.expose(), url, &form().0);
    // The Host the shim sees behind a proxy does not matter: the public URL does.
    let seen = headers("10.0.0.7:8090", Some(&good));
    assert_eq!(verify(&config, &seen, &uri, &form()), Ok(()));

    let other_query: Uri = "/webhooks/twilio/status?booking_id=bk-2&step=s"
        .parse()
        .unwrap();
    assert_eq!(
        verify(&config, &seen, &other_query, &form()),
        Err(SignatureError::Mismatch)
    );
    let tampered = TwilioForm::parse(b"MessageSid=SM1&From=%2B14155550132&Body=X");
    assert_eq!(
        verify(&config, &seen, &uri, &tampered),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify(&config, &headers("h", None), &uri, &form()),
        Err(SignatureError::Missing)
    );
    assert_eq!(
        verify(&config, &headers("h", Some("not base64!")), &uri, &form()),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn a_signature_with_the_default_port_written_out_verifies_too() {
    let config = config(Some("https://hooks.example.com"));
    let uri: Uri = "/webhooks/twilio/inbound".parse().unwrap();
    let token = config.twilio_auth_token.expose();
    let with_port = "https://hooks.example.com:443/webhooks/twilio/inbound";
    let signature = twilio_signature::sign(token, with_port, &form().0);
    assert_eq!(
        verify(&config, &headers("h", Some(&signature)), &uri, &form()),
        Ok(())
    );
    // Another port is another URL.
    let other = "https://hooks.example.com:8443/webhooks/twilio/inbound";
    let signature = twilio_signature::sign(token, other, &form().0);
    assert_eq!(
        verify(&config, &headers("h", Some(&signature)), &uri, &form()),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn in_sandbox_mode_without_a_public_url_the_host_header_stands_in() {
    let config = config(None);
    let uri: Uri = "/webhooks/twilio/inbound".parse().unwrap();
    let url = "http://127.0.0.1:8090/webhooks/twilio/inbound";
    let good = twilio_signature::sign(config.twilio_auth_token.expose(), url, &form().0);
    assert_eq!(
        verify(
            &config,
            &headers("127.0.0.1:8090", Some(&good)),
            &uri,
            &form()
        ),
        Ok(())
    );
    assert_eq!(
        verify(
            &config,
            &headers("127.0.0.1:9999", Some(&good)),
            &uri,
            &form()
        ),
        Err(SignatureError::Mismatch)
    );
    let mut no_host = HeaderMap::new();
    no_host.insert(SIGNATURE_HEADER, good.parse().unwrap());
    assert!(matches!(
        verify(&config, &no_host, &uri, &form()),
        Err(SignatureError::Malformed(_))
    ));
}

#[test]
fn replies_read_as_twilio_and_leads_write_them() {
    for (body, reply) in [
        ("STOP", Reply::OptOut),
        (" stop ", Reply::OptOut),
        ("StopAll", Reply::OptOut),
        ("unsubscribe", Reply::OptOut),
        ("End\n", Reply::OptOut),
        ("quit", Reply::OptOut),
        // Twilio's opt-out word, not a tour cancel.
        ("Cancel", Reply::OptOut),
        ("c", Reply::Confirm),
        ("y", Reply::Confirm),
        ("Yes", Reply::Confirm),
        ("CONFIRM", Reply::Confirm),
        ("x", Reply::Cancel),
        (" X ", Reply::Cancel),
        // Whole messages only, as Twilio matches its own keywords.
        ("stop it", Reply::Other),
        ("STOP.", Reply::Other),
        ("yes please", Reply::Other),
        ("can we move it to 3pm?", Reply::Other),
        ("", Reply::Other),
    ] {
        assert_eq!(Reply::of(body), reply, "{body:?}");
    }
    assert_eq!(keywords::normalise("  yes\t"), "YES");
}

#[test]
fn a_status_callback_names_its_booking_and_step_and_twilios_report() {
    let form = TwilioForm::parse(
        b"MessageSid=SM0123&MessageStatus=undelivered&ErrorCode=30003&To=%2B14155550132",
    );
    let report = StatusReport::parse(
        Some("booking_id=bk-1&step=tour-reminder-1h%402026-12-01T15%3A00%3A00Z"),
        &form,
    )
    .unwrap();
    assert_eq!(report.booking.as_str(), "bk-1");
    assert_eq!(report.signal.step, "tour-reminder-1h@2026-12-01T15:00:00Z");
    assert_eq!(report.signal.event_id, "twilio-status:SM0123:undelivered");
    assert_eq!(report.signal.message_sid, "SM0123");
    assert_eq!(report.signal.status, "undelivered");
    assert_eq!(report.signal.error_code, 30003);
    // No ErrorCode (or a blank one) is 0.
    let delivered = TwilioForm::parse(b"MessageSid=SM0123&MessageStatus=delivered&ErrorCode=");
    let report = StatusReport::parse(Some("booking_id=bk-1&step=s"), &delivered).unwrap();
    assert_eq!(report.signal.error_code, 0);
}

#[test]
fn a_status_callback_names_every_missing_or_malformed_field() {
    let empty = TwilioForm::parse(b"");
    assert_eq!(
        fields(StatusReport::parse(None, &empty).unwrap_err()),
        ["booking_id", "step", "MessageSid", "MessageStatus"]
    );
    let bad = TwilioForm::parse(b"MessageSid=SM%201&MessageStatus=sent&ErrorCode=abc");
    assert_eq!(
        fields(StatusReport::parse(Some("booking_id=bad%20id&step=s"), &bad).unwrap_err()),
        ["booking_id", "MessageSid", "ErrorCode"]
    );
    let long = format!(
        "MessageSid={}&MessageStatus={}",
        "S".repeat(form::MESSAGE_SID_MAX + 1),
        "s".repeat(form::MESSAGE_STATUS_MAX + 1)
    );
    let errors = StatusReport::parse(
        Some("booking_id=bk-1&step=a%0Ab"),
        &TwilioForm::parse(long.as_bytes()),
    )
    .unwrap_err();
    assert_eq!(fields(errors), ["step", "MessageSid", "MessageStatus"]);
}

#[test]
fn a_reply_needs_its_sid_and_a_sender_number_it_never_quotes_whole() {
    let text = InboundText::parse(&TwilioForm::parse(
        b"MessageSid=SM9&From=%2B14155550132&To=%2B15005550006&Body=+yes+",
    ))
    .unwrap();
    assert_eq!(text.message_sid, "SM9");
    assert_eq!(text.from.as_str(), "+14155550132");
    assert_eq!(text.reply(), Reply::Confirm);
    assert_eq!(text.from_tail(), "…0132");
    // A picture alone has no Body.
    let picture = InboundText::parse(&TwilioForm::parse(b"MessageSid=MM9&From=%2B14155550132"));
    assert_eq!(picture.unwrap().reply(), Reply::Other);

    assert_eq!(
        fields(InboundText::parse(&TwilioForm::parse(b"Body=STOP")).unwrap_err()),
        ["MessageSid", "From"]
    );
    let errors = InboundText::parse(&TwilioForm::parse(b"MessageSid=SM9&From=4155550132&Body=C"))
        .unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "From");
    assert!(errors[0].message.contains("…0132"), "{}", errors[0].message);
    assert!(
        !errors[0].message.contains("4155550132"),
        "{}",
        errors[0].message
    );
}

#[test]
fn forms_keep_order_and_repeats_and_numbers_are_shown_by_their_tail() {
    let form = TwilioForm::parse(b"A=1&B=2&A=3&Blank=+");
    assert_eq!(form.0.len(), 4);
    assert_eq!(form.get("A"), Some("1"));
    assert_eq!(form.required("Blank").unwrap_err().field, "Blank");
    assert_eq!(form.required("Missing").unwrap_err().message, "is required");
    assert_eq!(last_digits("+14155550132"), "…0132");
    assert_eq!(last_digits("12"), "…12");
    assert_eq!(last_digits(""), "…");
}

/// A documented form, encoded as Twilio sends it, with `spoiled` (if any) holding a value no
/// parameter takes.
fn encoded(form: &impl serde::Serialize, spoiled: Option<&str>) -> (TwilioForm, Vec<String>) {
    let serde_json::Value::Object(fields) = serde_json::to_value(form).unwrap() else {
        unreachable!("a struct serializes to an object")
    };
    let names = fields.keys().cloned().collect();
    let pairs = fields
        .into_iter()
        .map(|(name, value)| {
            let value = match value {
                _ if Some(name.as_str()) == spoiled => "?!".to_owned(),
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (name, value)
        })
        .collect();
    (TwilioForm(pairs), names)
}

#[test]
fn the_documented_forms_are_what_the_parsers_read() {
    let status = TwilioStatus {
        message_sid: "SM123".into(),
        message_status: "delivered".into(),
        error_code: Some("30003".into()),
        account_sid: None,
        from: None,
        to: None,
    };
    let query = Some("booking_id=bk-1&step=reminder");
    let (form, names) = encoded(&status, None);
    let report = StatusReport::parse(query, &form).unwrap();
    assert_eq!(report.signal.error_code, 30003);
    for name in names {
        let (form, _) = encoded(&status, Some(&name));
        assert_eq!(
            fields(StatusReport::parse(query, &form).unwrap_err()),
            [name]
        );
    }

    let reply = TwilioInbound {
        message_sid: "SM9".into(),
        from: "+14155550132".into(),
        to: None,
        body: Some("C".into()),
        account_sid: None,
    };
    let (form, _) = encoded(&reply, None);
    assert_eq!(InboundText::parse(&form).unwrap().reply(), Reply::of("C"));
    for name in ["MessageSid", "From"] {
        let (form, _) = encoded(&reply, Some(name));
        assert_eq!(fields(InboundText::parse(&form).unwrap_err()), [name]);
    }
}
