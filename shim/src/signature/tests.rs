use super::*;

const NOW: i64 = 1_800_000_000;
const TOL: Duration = Duration::from_secs(180);

fn keys(names: &[&str]) -> Vec<Secret> {
    names.iter().map(|k| Secret::new(*k)).collect()
}

fn header(key: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", calendly_v1(key, t, body))
}

#[test]
fn a_correct_signature_verifies() {
    let body = br#"{"event":"invitee.created"}"#;
    let h = header("k1", NOW, body);
    assert_eq!(
        verify_calendly(Some(&h), body, &keys(&["k1"]), TOL, NOW),
        Ok(())
    );
}

#[test]
fn matches_the_sandbox_sender() {
    let body = r#"{"a":1}"#;
    let h = booking_sandbox_like(body);
    assert_eq!(
        verify_calendly(Some(&h), body.as_bytes(), &keys(&["key"]), TOL, NOW),
        Ok(())
    );
}

// Same construction as the sandbox's sender, spelled out independently.
fn booking_sandbox_like(body: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(b"key").unwrap();
    mac.update(format!("{NOW}.{body}").as_bytes());
    format!("t={NOW},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[test]
fn a_tampered_body_or_wrong_key_is_refused() {
    let h = header("k1", NOW, b"{}");
    assert_eq!(
        verify_calendly(Some(&h), b"{ }", &keys(&["k1"]), TOL, NOW),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_calendly(Some(&h), b"{}", &keys(&["k2"]), TOL, NOW),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn tolerance_applies_both_ways_at_its_edge() {
    let body = b"{}";
    let k = keys(&["k1"]);
    for (t, ok) in [
        (NOW - 180, true),
        (NOW - 181, false),
        (NOW + 180, true),
        (NOW + 181, false),
    ] {
        let result = verify_calendly(Some(&header("k1", t, body)), body, &k, TOL, NOW);
        assert_eq!(result.is_ok(), ok, "t = now{:+}", t - NOW);
    }
}

#[test]
fn either_key_verifies_during_rotation() {
    let body = b"{}";
    let k = keys(&["new", "old"]);
    assert!(verify_calendly(Some(&header("old", NOW, body)), body, &k, TOL, NOW).is_ok());
    assert!(verify_calendly(Some(&header("new", NOW, body)), body, &k, TOL, NOW).is_ok());
    assert!(verify_calendly(Some(&header("gone", NOW, body)), body, &k, TOL, NOW).is_err());
}

#[test]
fn any_of_several_v1_values_may_match() {
    let body = b"{}";
    let good = calendly_v1("k1", NOW, body);
    let bad = calendly_v1("other", NOW, body);
    let h = format!("t={NOW},v1={bad},v1={good}");
    assert!(verify_calendly(Some(&h), body, &keys(&["k1"]), TOL, NOW).is_ok());
}

#[test]
fn malformed_headers_are_refused_without_panicking() {
    let k = keys(&["k1"]);
    for h in [
        "",
        "t=",
        "v1=abc",
        "t=1",
        "t=abc,v1=00",
        &format!("t={NOW},v1=zz"),
        &format!("t={NOW},v1=00"),
        &format!("t={NOW},t={NOW},v1={}", "0".repeat(64)),
        "t=-5,v1=00",
        "t=99999999999999999999,v1=00",
        "garbage",
    ] {
        assert!(
            matches!(
                verify_calendly(Some(h), b"{}", &k, TOL, NOW),
                Err(SignatureError::Malformed(_))
            ),
            "{h:?}"
        );
    }
    assert_eq!(
        verify_calendly(None, b"{}", &k, TOL, NOW),
        Err(SignatureError::Missing)
    );
    assert_eq!(
        verify_calendly(Some(&header("k1", NOW, b"{}")), b"{}", &[], TOL, NOW),
        Err(SignatureError::NotConfigured)
    );
}

fn whsec(key: &[u8]) -> Secret {
    Secret::new(format!("whsec_{}", data_encoding::BASE64.encode(key)))
}

fn key(secret: &Secret) -> StandardWebhookKey {
    StandardWebhookKey::parse(secret).unwrap()
}

#[test]
fn standard_webhooks_round_trip() {
    let secret = whsec(b"form-key");
    let body = br#"{"x":1}"#;
    let sig = standard_webhook_signature(&secret, "msg_1", NOW, body);
    let ts = NOW.to_string();
    let headers = StandardWebhookHeaders {
        id: Some("msg_1"),
        timestamp: Some(&ts),
        signature: Some(&sig),
    };
    let keys = [key(&secret)];
    assert!(verify_standard_webhook(headers, body, &keys, TOL, NOW).is_ok());
    let with_other = format!("v1,AAAA {sig}");
    let headers2 = StandardWebhookHeaders {
        signature: Some(&with_other),
        ..headers
    };
    assert!(verify_standard_webhook(headers2, body, &keys, TOL, NOW).is_ok());
    assert_eq!(
        verify_standard_webhook(headers, b"{}", &keys, TOL, NOW),
        Err(SignatureError::Mismatch)
    );
    assert!(matches!(
        verify_standard_webhook(headers, body, &keys, TOL, NOW + 600),
        Err(SignatureError::Stale { .. })
    ));
}

#[test]
fn either_standard_webhook_key_verifies_during_rotation() {
    let (new, old, gone) = (whsec(b"new-key"), whsec(b"old-key"), whsec(b"gone-key"));
    let keys = [key(&new), key(&old)];
    let body = b"{}";
    let ts = NOW.to_string();
    for (signer, ok) in [(&new, true), (&old, true), (&gone, false)] {
        let sig = standard_webhook_signature(signer, "msg_1", NOW, body);
        let headers = StandardWebhookHeaders {
            id: Some("msg_1"),
            timestamp: Some(&ts),
            signature: Some(&sig),
        };
        assert_eq!(
            verify_standard_webhook(headers, body, &keys, TOL, NOW).is_ok(),
            ok
        );
    }
    assert_eq!(
        verify_standard_webhook(
            StandardWebhookHeaders {
                id: Some("msg_1"),
                timestamp: Some(&ts),
                signature: Some("v1,AAAA"),
            },
            body,
            &[],
            TOL,
            NOW
        ),
        Err(SignatureError::NotConfigured)
    );
}

#[test]
fn only_whsec_base64_secrets_are_keys() {
    assert_eq!(key(&whsec(b"k")).0, b"k");
    let unpadded = Secret::new("whsec_Zm9ybS1rZXk");
    assert_eq!(key(&unpadded).0, b"form-key");
    for bad in [
        "form-key",
        "whsec_",
        "whsec_not base64!",
        "WHSEC_Zm9ybS1rZXk=",
        "Zm9ybS1rZXk=",
    ] {
        assert!(
            StandardWebhookKey::parse(&Secret::new(bad)).is_err(),
            "{bad}"
        );
    }
    assert_eq!(
        format!("{:?}", key(&whsec(b"k"))),
        "StandardWebhookKey(***)"
    );
}

#[test]
fn bearer_tokens_compare_exactly() {
    let token = Secret::new("s3cret");
    assert!(verify_bearer(Some("Bearer s3cret"), Some(&token)).is_ok());
    assert_eq!(
        verify_bearer(Some("Bearer s3cre"), Some(&token)),
        Err(SignatureError::Mismatch)
    );
    assert!(verify_bearer(Some("s3cret"), Some(&token)).is_err());
    assert_eq!(
        verify_bearer(None, Some(&token)),
        Err(SignatureError::Missing)
    );
    assert_eq!(
        verify_bearer(Some("Bearer s3cret"), None),
        Err(SignatureError::NotConfigured)
    );
}
