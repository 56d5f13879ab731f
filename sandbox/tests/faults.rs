//! Control API contract: injected responses, latency, dropped connections, chaos, the
//! request log, reset, and provider-shaped answers to malformed requests.

mod common;

use std::time::{Duration, Instant};

use booking_sandbox::{
    ChaosConfig, DropConnections, Injection, Latency, RequestOutcome, SandboxClient, defaults,
};
use common::{google_token, http, json, start};
use serde_json::json;

fn mail() -> serde_json::Value {
    json!({
        "personalizations": [{"to": [{"email": "lead@example.com"}]}],
        "from": {"email": "tours@example.com"},
        "template_id": "d-1"
    })
}

async fn send_mail(url: &str) -> reqwest::Result<reqwest::Response> {
    http()
        .post(format!("{url}/v3/mail/send"))
        .bearer_auth(defaults::SENDGRID_API_KEY)
        .json(&mail())
        .send()
        .await
}

#[tokio::test]
async fn injected_responses_answer_the_next_n_matching_requests() {
    let sandbox = start().await;
    let client = sandbox.client();
    client
        .inject(
            &Injection::sendgrid_error(503, "Service Unavailable")
                .times(2)
                .retry_after(7)
                .header("X-Debug", "injected"),
        )
        .await
        .unwrap();
    for _ in 0..2 {
        let response = send_mail(&sandbox.sendgrid_url()).await.unwrap();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "7");
        assert_eq!(response.headers()["x-debug"], "injected");
        let (_, body) = json(response).await;
        assert_eq!(body["errors"][0]["message"], "Service Unavailable");
    }
    assert_eq!(
        send_mail(&sandbox.sendgrid_url()).await.unwrap().status(),
        202
    );
    assert_eq!(
        client.emails().await.unwrap().len(),
        1,
        "injected answers never reach the provider"
    );
    assert!(client.faults().await.unwrap().injections.is_empty());

    let outcomes: Vec<_> = client
        .requests_matching(Some("POST"), "/sendgrid/v3/mail/send")
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.status, r.outcome))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (Some(503), RequestOutcome::Injected),
            (Some(503), RequestOutcome::Injected),
            (Some(202), RequestOutcome::Handled)
        ]
    );
}

#[tokio::test]
async fn injections_match_method_and_path_prefix_and_carry_provider_bodies() {
    let sandbox = start().await;
    let client = sandbox.client();
    let token = google_token(&sandbox).await;
    client
        .inject(&Injection::google_error(
            "GET",
            "/google/calendar/v3/calendars/",
            403,
            "rateLimitExceeded",
            "Rate Limit Exceeded",
        ))
        .await
        .unwrap();
    let list = format!("{}/calendars/primary/events", sandbox.google_calendar_url());
    let freebusy = http()
        .post(format!("{}/freeBusy", sandbox.google_calendar_url()))
        .bearer_auth(&token)
        .json(&json!({"timeMin": "2030-01-01T00:00:00Z", "timeMax": "2030-01-02T00:00:00Z", "items": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(freebusy.status(), 200, "other paths are untouched");
    let (status, body) = json(http().get(&list).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["errors"][0]["reason"], "rateLimitExceeded");
    assert_eq!(body["error"]["errors"][0]["domain"], "usageLimits");
    assert_eq!(
        http()
            .get(&list)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    client
        .inject(&Injection::new("", "/hubspot/", 502).text("<html>Bad gateway</html>"))
        .await
        .unwrap();
    let response = http()
        .get(format!("{}/crm/v3/objects/contacts", sandbox.hubspot_url()))
        .bearer_auth(defaults::HUBSPOT_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    assert_eq!(response.text().await.unwrap(), "<html>Bad gateway</html>");

    client
        .inject(&Injection::hubspot_rate_limited(
            "POST",
            "/hubspot/crm/v3/objects/contacts",
        ))
        .await
        .unwrap();
    let response = http()
        .post(format!("{}/crm/v3/objects/contacts", sandbox.hubspot_url()))
        .bearer_auth(defaults::HUBSPOT_TOKEN)
        .json(&json!({"properties": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["x-hubspot-ratelimit-remaining"], "0");
    let (_, body) = json(response).await;
    assert_eq!(body["errorType"], "RATE_LIMIT");

    client
        .inject(&Injection::oauth_error(
            400,
            "invalid_grant",
            "Token has been expired or revoked.",
        ))
        .await
        .unwrap();
    let response = http()
        .post(sandbox.google_token_url())
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn latency_delays_matching_requests() {
    let sandbox = start().await;
    let client = sandbox.client();
    client
        .add_latency(&Latency::new("POST", "/sendgrid/", Duration::from_millis(300)).times(1))
        .await
        .unwrap();
    let started = Instant::now();
    assert_eq!(
        send_mail(&sandbox.sendgrid_url()).await.unwrap().status(),
        202
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    let started = Instant::now();
    send_mail(&sandbox.sendgrid_url()).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "the counted rule is used up"
    );
    let log = client.requests().await.unwrap();
    assert!(log[0].duration_ms >= 300);
}

#[tokio::test]
async fn dropped_connections_get_no_response_at_all() {
    let sandbox = start().await;
    let client = sandbox.client();
    client
        .drop_connections(&DropConnections::new("POST", "/sendgrid/", 1))
        .await
        .unwrap();
    let error = send_mail(&sandbox.sendgrid_url())
        .await
        .expect_err("connection closed without an answer");
    assert!(!error.is_status());
    assert_eq!(
        send_mail(&sandbox.sendgrid_url()).await.unwrap().status(),
        202
    );
    let log = client.requests().await.unwrap();
    assert_eq!(log[0].status, None);
    assert_eq!(log[0].outcome, RequestOutcome::Dropped);
    assert_eq!(log[1].outcome, RequestOutcome::Handled);
    assert_eq!(client.emails().await.unwrap().len(), 1);
}

#[tokio::test]
async fn chaos_answers_provider_shaped_errors_and_429s() {
    let sandbox = start().await;
    let client = sandbox.client();
    client
        .set_chaos(&ChaosConfig {
            server_error_rate: 1.0,
            seed: Some(7),
            ..ChaosConfig::default()
        })
        .await
        .unwrap();
    for _ in 0..4 {
        let (status, body) = json(send_mail(&sandbox.sendgrid_url()).await.unwrap()).await;
        assert!(status == 500 || status == 503, "{status}");
        assert!(body["errors"][0]["message"].is_string());
    }
    let response = http()
        .get(format!("{}/crm/v3/objects/contacts", sandbox.hubspot_url()))
        .bearer_auth(defaults::HUBSPOT_TOKEN)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_server_error());
    let (_, body) = json(response).await;
    assert_eq!(body["status"], "error");

    client
        .set_chaos(&ChaosConfig {
            rate_limit_rate: 1.0,
            retry_after_secs: 3,
            path_prefix: Some("/google/".into()),
            ..ChaosConfig::default()
        })
        .await
        .unwrap();
    let response = http()
        .get(format!(
            "{}/calendars/primary/events",
            sandbox.google_calendar_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "3");
    let (_, body) = json(response).await;
    assert_eq!(body["error"]["errors"][0]["reason"], "rateLimitExceeded");
    assert_eq!(
        send_mail(&sandbox.sendgrid_url()).await.unwrap().status(),
        202,
        "outside the chaos prefix"
    );

    client.clear_chaos().await.unwrap();
    assert!(client.faults().await.unwrap().chaos.is_none());
    let chaos_count = client
        .requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.outcome == RequestOutcome::Chaos)
        .count();
    assert_eq!(chaos_count, 6);
    assert!(
        client
            .set_chaos(&ChaosConfig {
                server_error_rate: 2.0,
                ..ChaosConfig::default()
            })
            .await
            .is_err()
    );
}

#[tokio::test]
async fn request_log_counts_calls_by_method_and_prefix() {
    let sandbox = start().await;
    let client = sandbox.client();
    send_mail(&sandbox.sendgrid_url()).await.unwrap();
    send_mail(&sandbox.sendgrid_url()).await.unwrap();
    http()
        .get(format!("{}/users/me", sandbox.calendly_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        client
            .requests_matching(Some("post"), "/sendgrid")
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        client.requests_matching(None, "/calendly").await.unwrap()[0].status,
        Some(401)
    );
    assert_eq!(
        client.requests().await.unwrap().len(),
        3,
        "control calls are not logged"
    );
    client.clear_requests().await.unwrap();
    assert!(client.requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn reset_forgets_everything_but_the_webhook_subscription() {
    let sandbox = start().await;
    let client = sandbox.client();
    let token = google_token(&sandbox).await;
    send_mail(&sandbox.sendgrid_url()).await.unwrap();
    client
        .set_webhook_target("http://127.0.0.1:9/hook")
        .await
        .unwrap();
    client
        .inject(&Injection::new("", "/calendly", 500).times(5))
        .await
        .unwrap();
    client
        .revoke_grant(defaults::GOOGLE_REFRESH_TOKEN)
        .await
        .unwrap();
    let list = format!("{}/calendars/primary/events", sandbox.google_calendar_url());
    client
        .restore_grant(defaults::GOOGLE_REFRESH_TOKEN)
        .await
        .unwrap();
    let fresh = google_token(&sandbox).await;
    let (_, body) = json(http().get(&list).bearer_auth(&fresh).send().await.unwrap()).await;
    let sync = body["nextSyncToken"].as_str().unwrap().to_owned();

    client.reset().await.unwrap();
    assert!(client.emails().await.unwrap().is_empty());
    assert!(client.requests().await.unwrap().is_empty());
    assert!(client.faults().await.unwrap().injections.is_empty());
    assert_eq!(
        client
            .webhook_subscription()
            .await
            .unwrap()
            .target
            .as_deref(),
        Some("http://127.0.0.1:9/hook")
    );
    assert_eq!(
        http()
            .get(&list)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "tokens are forgotten"
    );
    let token = google_token(&sandbox).await;
    let (status, body) = json(
        http()
            .get(format!("{list}?syncToken={sync}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["errors"][0]["reason"].as_str()),
        (410, Some("fullSyncRequired"))
    );
}

#[tokio::test]
async fn malformed_requests_get_each_providers_error_shape() {
    let sandbox = start().await;
    let token = google_token(&sandbox).await;
    let post = |url: String, auth: String, body: &'static str| {
        http()
            .post(url)
            .bearer_auth(auth)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let (status, body) = json(
        post(
            format!("{}/freeBusy", sandbox.google_calendar_url()),
            token.clone(),
            "[1,",
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["errors"][0]["reason"].as_str()),
        (400, Some("parseError"))
    );

    let (status, body) = json(
        post(
            format!("{}/crm/v3/objects/tasks/search", sandbox.hubspot_url()),
            defaults::HUBSPOT_TOKEN.into(),
            "{\"limit\": \"ten\"}",
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["category"].as_str()),
        (400, Some("VALIDATION_ERROR"))
    );

    let (status, body) = json(
        post(
            format!("{}/v3/mail/send", sandbox.sendgrid_url()),
            defaults::SENDGRID_API_KEY.into(),
            "nope",
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["errors"][0]["message"].is_string());

    let (status, body) = json(
        post(
            format!("{}/_sandbox/calendly/invitees", sandbox.base_url()),
            String::new(),
            "{\"email\": 1}",
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"].is_string());

    // Unknown paths and methods answer in the provider's shape too.
    let (status, body) = json(
        http()
            .delete(format!("{}/v3/mail/send", sandbox.sendgrid_url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 405);
    assert!(body["errors"][0]["message"].is_string());
    let (status, body) = json(
        http()
            .get(format!("{}/calendars", sandbox.google_calendar_url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["error"]["code"].as_u64()), (404, Some(404)));
    let (status, body) = json(
        http()
            .get(format!("{}/nowhere", sandbox.base_url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn client_reports_control_errors() {
    let sandbox = start().await;
    let client = SandboxClient::new(format!("{}/", sandbox.base_url()));
    client.health().await.unwrap();
    let error = client
        .cancel_calendly("no-such-invitee", &Default::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            booking_sandbox::ClientError::Status { status: 404, .. }
        ),
        "{error}"
    );
}
