//! SendGrid `mail/send` contract: 202 + X-Message-Id, stored messages, 400/401/429 shapes.

mod common;

use booking_sandbox::defaults;
use common::{http, json, start, start_with};
use serde_json::{Value, json};

fn template_mail(to: &str) -> Value {
    json!({
        "personalizations": [{
            "to": [{"email": to, "name": "Lead"}],
            "dynamic_template_data": {"first_name": "Ada", "tour_time": "10:00"},
            "custom_args": {"booking_id": "bk-1", "step": "confirmation"}
        }],
        "from": {"email": "tours@agency.example", "name": "Tours"},
        "template_id": "d-0123456789abcdef0123456789abcdef",
        "categories": ["booking", "confirmation"],
        "custom_args": {"engine": "bookings"}
    })
}

async fn send(url: &str, key: Option<&str>, body: &Value) -> reqwest::Response {
    let mut request = http().post(format!("{url}/v3/mail/send")).json(body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.unwrap()
}

fn assert_error_shape(body: &Value) {
    let errors = body["errors"].as_array().expect("errors array");
    assert!(!errors.is_empty());
    for e in errors {
        assert!(e["message"].is_string(), "{e}");
        assert!(e.as_object().unwrap().contains_key("field"), "{e}");
    }
}

#[tokio::test]
async fn accepted_mail_answers_202_with_message_id_and_is_stored() {
    let sandbox = start().await;
    let response = send(
        &sandbox.sendgrid_url(),
        Some(defaults::SENDGRID_API_KEY),
        &template_mail("lead@example.com"),
    )
    .await;
    assert_eq!(response.status(), 202);
    let message_id = response.headers()["x-message-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(message_id.len(), 22);
    assert!(response.text().await.unwrap().is_empty());

    let emails = sandbox.client().emails().await.unwrap();
    assert_eq!(emails.len(), 1);
    assert_eq!(sandbox.client().email_count().await.unwrap(), 1);
    let mail = &emails[0];
    assert_eq!(mail.message_id, message_id);
    assert_eq!(mail.to_emails(), vec!["lead@example.com"]);
    assert_eq!(mail.custom_arg("booking_id"), Some("bk-1"));
    assert_eq!(mail.custom_arg("engine"), Some("bookings"));
    assert_eq!(
        mail.template_id.as_deref(),
        Some("d-0123456789abcdef0123456789abcdef")
    );
    assert_eq!(mail.categories, vec!["booking", "confirmation"]);
    assert_eq!(
        mail.personalizations[0]
            .dynamic_template_data
            .as_ref()
            .unwrap()["first_name"],
        "Ada"
    );
    assert_eq!(mail.from.email, "tours@agency.example");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn content_mail_with_subject_is_accepted() {
    let sandbox = start().await;
    let body = json!({
        "personalizations": [{"to": [{"email": "lead@example.com"}]}],
        "from": {"email": "tours@agency.example"},
        "subject": "Your tour",
        "content": [{"type": "text/plain", "value": "See you"}, {"type": "text/html", "value": "<p>See you</p>"}],
        "send_at": chrono::Utc::now().timestamp() + 3600
    });
    let response = send(
        &sandbox.sendgrid_url(),
        Some(defaults::SENDGRID_API_KEY),
        &body,
    )
    .await;
    assert_eq!(response.status(), 202);
    let mail = sandbox.client().emails().await.unwrap().remove(0);
    assert_eq!(mail.subject.as_deref(), Some("Your tour"));
    assert_eq!(mail.content.len(), 2);
    assert!(mail.send_at.is_some());
}

#[tokio::test]
async fn missing_or_wrong_key_is_401_in_sendgrid_shape() {
    let sandbox = start().await;
    for key in [None, Some("SG.wrong")] {
        let (status, body) = json(
            send(
                &sandbox.sendgrid_url(),
                key,
                &template_mail("lead@example.com"),
            )
            .await,
        )
        .await;
        assert_eq!(status, 401);
        assert_error_shape(&body);
        assert!(body["errors"][0]["field"].is_null());
    }
    assert!(sandbox.client().emails().await.unwrap().is_empty());
    assert_eq!(sandbox.client().email_count().await.unwrap(), 0);
}

#[tokio::test]
async fn validation_errors_are_400_naming_fields() {
    let sandbox = start().await;
    let url = sandbox.sendgrid_url();
    let key = Some(defaults::SENDGRID_API_KEY);
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"from": {"email": "a@b.co"}, "template_id": "d-1"}),
            "personalizations",
        ),
        (
            json!({"personalizations": [{"to": [{"email": "not-an-email"}]}], "from": {"email": "a@b.co"}, "template_id": "d-1"}),
            "personalizations.0.to.0.email",
        ),
        (
            json!({"personalizations": [{"to": [{"email": "x@y.co"}]}], "template_id": "d-1"}),
            "from.email",
        ),
        (
            json!({"personalizations": [{"to": [{"email": "x@y.co"}]}], "from": {"email": "a@b.co"}, "subject": "s"}),
            "content",
        ),
        (
            json!({"personalizations": [{"to": [{"email": "x@y.co"}]}], "from": {"email": "a@b.co"}, "content": [{"type": "text/plain", "value": "v"}]}),
            "subject",
        ),
        (
            json!({"personalizations": [{"to": [{"email": "x@y.co"}], "custom_args": {"n": 5}}], "from": {"email": "a@b.co"}, "template_id": "d-1"}),
            "personalizations.0.custom_args.n",
        ),
        (
            json!({"personalizations": [{"to": []}], "from": {"email": "a@b.co"}, "template_id": "d-1"}),
            "personalizations.0.to",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = json(send(&url, key, &body).await).await;
        assert_eq!(status, 400, "{body}");
        assert_error_shape(&answer);
        let fields: Vec<&str> = answer["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert!(fields.contains(&field), "{field} not in {fields:?}");
        assert!(answer["errors"][0]["help"].is_string());
    }
    assert!(sandbox.client().emails().await.unwrap().is_empty());
}

#[tokio::test]
async fn malformed_json_and_wrong_content_type_get_sendgrid_errors() {
    let sandbox = start().await;
    let url = format!("{}/v3/mail/send", sandbox.sendgrid_url());
    let response = http()
        .post(&url)
        .bearer_auth(defaults::SENDGRID_API_KEY)
        .header("content-type", "application/json")
        .body("{\"personalizations\": [")
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 400);
    assert_error_shape(&body);

    let response = http()
        .post(&url)
        .bearer_auth(defaults::SENDGRID_API_KEY)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 400);
    assert_error_shape(&body);
}

#[tokio::test]
async fn over_the_per_second_limit_is_429_with_rate_limit_headers() {
    let sandbox = start_with(|c| c.sendgrid_limit_per_second = 2).await;
    let url = sandbox.sendgrid_url();
    let key = Some(defaults::SENDGRID_API_KEY);
    let mail = template_mail("lead@example.com");
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..3 {
        let response = send(&url, key, &mail).await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            limited = Some(response);
        }
    }
    assert_eq!(statuses, vec![202, 202, 429]);
    let response = limited.unwrap();
    let headers = response.headers().clone();
    assert_eq!(headers["x-ratelimit-limit"], "2");
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    let reset: i64 = headers["x-ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset >= chrono::Utc::now().timestamp());
    let (_, body) = json(response).await;
    assert_error_shape(&body);
    assert_eq!(sandbox.client().emails().await.unwrap().len(), 2);
}
