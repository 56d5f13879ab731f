//! Google OAuth token endpoint contract: refresh grant, client errors, revocation, expiry.

mod common;

use std::time::Duration;

use booking_sandbox::{GoogleGrant, defaults};
use common::{eventually, google_token, http, json, start, start_with};
use serde_json::json;

async fn refresh(
    url: &str,
    refresh_token: &str,
    client_id: &str,
    secret: &str,
) -> (u16, serde_json::Value) {
    let response = http()
        .post(url)
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    json(response).await
}

async fn calendar_status(base: &str, token: &str) -> (u16, serde_json::Value) {
    let response = http()
        .get(format!("{base}/calendars/primary/events"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    json(response).await
}

#[tokio::test]
async fn refresh_grant_issues_bearer_tokens() {
    let sandbox = start().await;
    let response = http()
        .post(sandbox.google_token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", defaults::GOOGLE_REFRESH_TOKEN),
            ("client_id", defaults::GOOGLE_CLIENT_ID),
            ("client_secret", defaults::GOOGLE_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["access_token"].as_str().unwrap().starts_with("ya29."));
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], defaults::GOOGLE_SCOPE);
    let (status, _) = calendar_status(
        &sandbox.google_calendar_url(),
        body["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn basic_client_auth_and_json_bodies_are_accepted() {
    let sandbox = start().await;
    let response = http()
        .post(sandbox.google_token_url())
        .basic_auth(
            defaults::GOOGLE_CLIENT_ID,
            Some(defaults::GOOGLE_CLIENT_SECRET),
        )
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", defaults::GOOGLE_REFRESH_TOKEN),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = http()
        .post(sandbox.google_token_url())
        .json(&json!({
            "grant_type": "refresh_token",
            "refresh_token": defaults::GOOGLE_REFRESH_TOKEN,
            "client_id": defaults::GOOGLE_CLIENT_ID,
            "client_secret": defaults::GOOGLE_CLIENT_SECRET,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn client_and_grant_errors_have_oauth_shape() {
    let sandbox = start().await;
    let url = sandbox.google_token_url();
    let (status, body) = refresh(&url, defaults::GOOGLE_REFRESH_TOKEN, "nobody", "x").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) = refresh(
        &url,
        defaults::GOOGLE_REFRESH_TOKEN,
        defaults::GOOGLE_CLIENT_ID,
        "wrong",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) = refresh(
        &url,
        "unknown-token",
        defaults::GOOGLE_CLIENT_ID,
        defaults::GOOGLE_CLIENT_SECRET,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    );

    let response = http()
        .post(&url)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "abc"),
            ("client_id", defaults::GOOGLE_CLIENT_ID),
            ("client_secret", defaults::GOOGLE_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );

    let response = http()
        .post(&url)
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    assert!(body["error_description"].is_string());
}

#[tokio::test]
async fn revoked_grant_is_invalid_grant_and_kills_its_access_tokens_until_restored() {
    let sandbox = start().await;
    let client = sandbox.client();
    let token = google_token(&sandbox).await;
    client
        .revoke_grant(defaults::GOOGLE_REFRESH_TOKEN)
        .await
        .unwrap();

    let (status, body) = refresh(
        &sandbox.google_token_url(),
        defaults::GOOGLE_REFRESH_TOKEN,
        defaults::GOOGLE_CLIENT_ID,
        defaults::GOOGLE_CLIENT_SECRET,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    let (status, body) = calendar_status(&sandbox.google_calendar_url(), &token).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["errors"][0]["reason"], "authError");

    client
        .restore_grant(defaults::GOOGLE_REFRESH_TOKEN)
        .await
        .unwrap();
    let fresh = google_token(&sandbox).await;
    assert_eq!(
        calendar_status(&sandbox.google_calendar_url(), &fresh)
            .await
            .0,
        200
    );
    assert!(client.revoke_grant("no-such-token").await.is_err());
}

#[tokio::test]
async fn expired_access_token_is_401_auth_error() {
    let sandbox = start_with(|c| c.token_lifetime = Duration::from_secs(1)).await;
    let response = http()
        .post(sandbox.google_token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", defaults::GOOGLE_REFRESH_TOKEN),
            ("client_id", defaults::GOOGLE_CLIENT_ID),
            ("client_secret", defaults::GOOGLE_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 1);
    let token = body["access_token"].as_str().unwrap().to_owned();
    let base = sandbox.google_calendar_url();
    let (_, error) = eventually("the token to expire", || async {
        let (status, body) = calendar_status(&base, &token).await;
        (status == 401).then_some((status, body))
    })
    .await;
    assert_eq!(error["error"]["code"], 401);
    assert_eq!(error["error"]["errors"][0]["reason"], "authError");
    assert_eq!(error["error"]["errors"][0]["domain"], "global");
}

#[tokio::test]
async fn forced_expiry_and_extra_grants() {
    let sandbox = start().await;
    let client = sandbox.client();
    let token = google_token(&sandbox).await;
    client.expire_access_tokens().await.unwrap();
    assert_eq!(
        calendar_status(&sandbox.google_calendar_url(), &token)
            .await
            .0,
        401
    );

    client
        .add_grant(&GoogleGrant {
            refresh_token: "second-agent".into(),
            client_id: "other-client".into(),
            client_secret: "other-secret".into(),
            scope: defaults::GOOGLE_SCOPE.into(),
            revoked: false,
        })
        .await
        .unwrap();
    let (status, body) = refresh(
        &sandbox.google_token_url(),
        "second-agent",
        "other-client",
        "other-secret",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(client.google_grants().await.unwrap().len(), 2);
}
