//! Microsoft identity platform + Microsoft Graph v1.0 calendar contract: client-credentials
//! tokens and AADSTS errors, events with `transactionId` de-duplication and extended
//! properties, getSchedule, calendarView delta, throttling, inspection and hand edits.

mod common;

use booking_sandbox::{Injection, RunningSandbox, defaults};
use chrono::{DateTime, Utc};
use common::{http, json, start};
use reqwest::Method;
use serde_json::{Value, json};

const PROP: &str = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name booking_id";
const USER: &str = "agent@contoso.test";

fn expand() -> String {
    format!("singleValueExtendedProperties($filter=id eq '{PROP}')")
}

fn filter(value: &str) -> String {
    format!(
        "singleValueExtendedProperties/Any(ep: ep/id eq '{PROP}' and ep/value eq '{}')",
        value.replace('\'', "''")
    )
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn token_request(
    sandbox: &RunningSandbox,
    tenant: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    http()
        .post(format!(
            "{}/{tenant}/oauth2/v2.0/token",
            sandbox.microsoft_login_url()
        ))
        .form(form)
        .send()
        .await
        .unwrap()
}

fn good_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", defaults::MICROSOFT_CLIENT_ID),
        ("client_secret", defaults::MICROSOFT_CLIENT_SECRET),
        ("scope", defaults::MICROSOFT_GRAPH_SCOPE),
    ]
}

async fn graph_token(sandbox: &RunningSandbox) -> String {
    let response = token_request(sandbox, defaults::MICROSOFT_TENANT_ID, &good_form()).await;
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

struct Graph {
    base: String,
    token: String,
}

impl Graph {
    async fn new(sandbox: &RunningSandbox) -> Self {
        Self {
            base: sandbox.microsoft_graph_url(),
            token: graph_token(sandbox).await,
        }
    }

    fn events_path() -> String {
        format!("/users/{}/calendar/events", USER.replace('@', "%40"))
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_url(method, &format!("{}{path}", self.base), body, &[])
            .await
    }

    async fn call_url(
        &self,
        method: Method,
        url: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut request = http().request(method, url).bearer_auth(&self.token);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        json(request.send().await.unwrap()).await
    }

    async fn create(&self, body: Value) -> Value {
        let (status, created) = self
            .call(Method::POST, &Self::events_path(), Some(body))
            .await;
        assert_eq!(status, 201, "{created}");
        created
    }

    async fn list(&self, query: &[(&str, &str)]) -> (u16, Value) {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in query {
            q.append_pair(k, v);
        }
        self.call(
            Method::GET,
            &format!("{}?{}", Self::events_path(), q.finish()),
            None,
        )
        .await
    }

    async fn delta_start(&self, start: &str, end: &str, page: usize) -> (u16, Value) {
        let url = format!(
            "{}/users/{USER}/calendarView/delta?startDateTime={start}&endDateTime={end}",
            self.base
        );
        self.delta_follow(&url, page).await
    }

    async fn delta_follow(&self, url: &str, page: usize) -> (u16, Value) {
        let prefer = format!("odata.maxpagesize={page}");
        self.call_url(Method::GET, url, None, &[("Prefer", prefer.as_str())])
            .await
    }

    /// Every item of a round and its deltaLink, following nextLinks verbatim.
    async fn delta_round(&self, first: (u16, Value), page: usize) -> (Vec<Value>, String, usize) {
        let (mut status, mut body) = first;
        let mut items = Vec::new();
        let mut pages = 0;
        loop {
            assert_eq!(status, 200, "{body}");
            pages += 1;
            let value = body["value"].as_array().unwrap();
            assert!(value.len() <= page);
            items.extend(value.iter().cloned());
            if let Some(next) = body["@odata.nextLink"].as_str() {
                assert!(body.get("@odata.deltaLink").is_none());
                assert!(next.starts_with(&format!(
                    "{}/users/{}/calendarView/delta?$skiptoken=",
                    self.base,
                    USER.replace('@', "%40")
                )));
                (status, body) = self.delta_follow(next, page).await;
            } else {
                let delta = body["@odata.deltaLink"].as_str().unwrap().to_owned();
                assert!(
                    delta.contains("/calendarView/delta?$deltatoken="),
                    "{delta}"
                );
                assert!(delta.starts_with(&self.base));
                return (items, delta, pages);
            }
        }
    }
}

fn event(subject: &str, booking: &str, start: &str, end: &str) -> Value {
    json!({
        "subject": subject,
        "body": {"contentType": "HTML", "content": "<p>Private viewing</p>"},
        "start": {"dateTime": start, "timeZone": "UTC"},
        "end": {"dateTime": end, "timeZone": "UTC"},
        "location": {"displayName": "12 Elm St"},
        "attendees": [{"type": "required", "emailAddress": {"name": "Lead", "address": "lead@example.com"}}],
        "singleValueExtendedProperties": [{"id": PROP, "value": booking}],
    })
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

fn ids(items: &[Value]) -> Vec<&str> {
    items.iter().map(|i| i["id"].as_str().unwrap()).collect()
}

// ---- identity platform ----

#[tokio::test]
async fn client_credentials_token() {
    let sandbox = start().await;
    let response = token_request(&sandbox, defaults::MICROSOFT_TENANT_ID, &good_form()).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);
    assert!(!body["access_token"].as_str().unwrap().is_empty());
    assert_eq!(
        sandbox.microsoft_token_url(),
        format!(
            "{}/{}/oauth2/v2.0/token",
            sandbox.microsoft_login_url(),
            defaults::MICROSOFT_TENANT_ID
        )
    );
}

async fn expect_aadsts(
    response: reqwest::Response,
    status: u16,
    error: &str,
    code: u64,
    text: &str,
) {
    let (got, body) = json(response).await;
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], json!([code]));
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    assert!(description.contains(text), "{description}");
    assert!(description.contains(" Trace ID: "));
    assert!(description.contains(" Correlation ID: "));
    assert!(description.contains(" Timestamp: "));
    assert!(body["trace_id"].is_string() && body["correlation_id"].is_string());
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        body["error_uri"],
        format!("https://login.microsoftonline.com/error?code={code}")
    );
}

#[tokio::test]
async fn token_errors_carry_aadsts_codes() {
    let sandbox = start().await;
    let client = sandbox.client();
    let tenant = defaults::MICROSOFT_TENANT_ID;
    let with = |name: &'static str, value: &'static str| {
        good_form()
            .into_iter()
            .map(|(k, v)| if k == name { (k, value) } else { (k, v) })
            .collect::<Vec<_>>()
    };

    expect_aadsts(
        token_request(&sandbox, "other-tenant", &good_form()).await,
        400,
        "invalid_request",
        90002,
        "Tenant 'other-tenant' not found.",
    )
    .await;
    expect_aadsts(
        token_request(&sandbox, tenant, &with("client_id", "nobody")).await,
        400,
        "unauthorized_client",
        700016,
        "Application with identifier 'nobody' was not found in the directory 'sandbox-tenant'.",
    )
    .await;
    expect_aadsts(
        token_request(&sandbox, tenant, &with("client_secret", "wrong")).await,
        401,
        "invalid_client",
        7000215,
        "Invalid client secret provided.",
    )
    .await;
    expect_aadsts(
        token_request(&sandbox, tenant, &with("grant_type", "password")).await,
        400,
        "unsupported_grant_type",
        70003,
        "",
    )
    .await;
    expect_aadsts(
        token_request(&sandbox, tenant, &with("scope", "openid")).await,
        400,
        "invalid_scope",
        1002012,
        "",
    )
    .await;
    let no_scope: Vec<_> = good_form()
        .into_iter()
        .filter(|(k, _)| *k != "scope")
        .collect();
    expect_aadsts(
        token_request(&sandbox, tenant, &no_scope).await,
        400,
        "invalid_scope",
        1002012,
        "",
    )
    .await;
    let no_client: Vec<_> = good_form()
        .into_iter()
        .filter(|(k, _)| *k != "client_id")
        .collect();
    expect_aadsts(
        token_request(&sandbox, tenant, &no_client).await,
        400,
        "invalid_request",
        900144,
        "The request body must contain the following parameter: 'client_id'.",
    )
    .await;

    client
        .expire_microsoft_secret(defaults::MICROSOFT_CLIENT_ID)
        .await
        .unwrap();
    expect_aadsts(
        token_request(&sandbox, tenant, &good_form()).await,
        401,
        "invalid_client",
        7000222,
        &format!(
            "The provided client secret keys for app '{}' are expired.",
            defaults::MICROSOFT_CLIENT_ID
        ),
    )
    .await;
    client
        .disable_microsoft_app(defaults::MICROSOFT_CLIENT_ID)
        .await
        .unwrap();
    expect_aadsts(
        token_request(&sandbox, tenant, &good_form()).await,
        400,
        "unauthorized_client",
        7000112,
        &format!("Application '{}'(", defaults::MICROSOFT_CLIENT_ID),
    )
    .await;
    let apps = client.microsoft_apps().await.unwrap();
    assert!(apps[0].disabled && apps[0].secret_expired);

    client
        .restore_microsoft_app(defaults::MICROSOFT_CLIENT_ID)
        .await
        .unwrap();
    graph_token(&sandbox).await;
    assert!(client.disable_microsoft_app("nobody").await.is_err());
}

// ---- Graph auth ----

#[tokio::test]
async fn graph_needs_a_live_token() {
    let sandbox = start().await;
    let url = format!("{}{}", sandbox.microsoft_graph_url(), Graph::events_path());

    let response = http().get(&url).send().await.unwrap();
    assert!(response.headers().contains_key("www-authenticate"));
    let (status, body) = json(response).await;
    assert_eq!(status, 401);
    assert_eq!(code(&body), "InvalidAuthenticationToken");
    assert_eq!(body["error"]["message"], "Access token is empty.");
    let inner = &body["error"]["innerError"];
    assert!(inner["date"].is_string());
    assert!(inner["request-id"].is_string());
    assert!(inner["client-request-id"].is_string());

    let (status, body) = json(
        http()
            .get(&url)
            .bearer_auth("made-up")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        body["error"]["message"],
        "Access token has expired or is not yet valid."
    );

    let graph = Graph::new(&sandbox).await;
    let (status, _) = graph.list(&[]).await;
    assert_eq!(status, 200);
    sandbox
        .client()
        .expire_microsoft_access_tokens()
        .await
        .unwrap();
    let (status, body) = graph.list(&[]).await;
    assert_eq!(status, 401);
    assert_eq!(code(&body), "InvalidAuthenticationToken");
    assert_eq!(
        body["error"]["message"],
        "Access token has expired or is not yet valid."
    );
}

// ---- events ----

#[tokio::test]
async fn create_returns_the_event_and_dedupes_by_transaction_id() {
    let sandbox = start().await;
    let graph = Graph::new(&sandbox).await;
    let mut body = event(
        "Tour: 12 Elm St",
        "b1",
        "2026-12-05T14:00:00",
        "2026-12-05T15:00:00.0000000",
    );
    body["transactionId"] = json!("tx-b1");
    let first = graph.create(body.clone()).await;

    let id = first["id"].as_str().unwrap();
    assert!(id.starts_with("AAMkAD"), "{id}");
    assert_eq!(first["transactionId"], "tx-b1");
    assert_eq!(first["subject"], "Tour: 12 Elm St");
    assert_eq!(first["bodyPreview"], "Private viewing");
    assert_eq!(first["body"]["contentType"], "html");
    assert_eq!(
        first["start"],
        json!({"dateTime": "2026-12-05T14:00:00.0000000", "timeZone": "UTC"})
    );
    assert_eq!(
        first["end"],
        json!({"dateTime": "2026-12-05T15:00:00.0000000", "timeZone": "UTC"})
    );
    assert_eq!(first["location"]["displayName"], "12 Elm St");
    assert_eq!(
        first["attendees"],
        json!([{
            "type": "required",
            "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
            "emailAddress": {"name": "Lead", "address": "lead@example.com"}
        }])
    );
    assert_eq!(first["isCancelled"], false);
    assert_eq!(first["showAs"], "busy");
    assert_eq!(first["type"], "singleInstance");
    assert!(first["iCalUId"].is_string() && first["webLink"].is_string());
    assert!(first["changeKey"].is_string());
    let created = first["createdDateTime"].as_str().unwrap();
    assert_eq!(
        created.len(),
        "2026-12-05T14:00:00.1234567Z".len(),
        "{created}"
    );
    assert!(created.ends_with('Z'));
    assert_eq!(first["createdDateTime"], first["lastModifiedDateTime"]);
    assert!(first.get("singleValueExtendedProperties").is_none());

    let second = graph.create(body.clone()).await;
    assert_eq!(second["id"], first["id"]);
    let records = sandbox.client().graph_events(false).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].user, USER);
    assert_eq!(records[0].transaction_id.as_deref(), Some("tx-b1"));
    assert_eq!(records[0].booking_id.as_deref(), Some("b1"));
    assert_eq!(records[0].start, at("2026-12-05T14:00:00Z"));

    // Without a transactionId nothing is de-duplicated.
    let plain = graph
        .create(event(
            "x",
            "b2",
            "2026-12-05T16:00:00",
            "2026-12-05T17:00:00",
        ))
        .await;
    assert_eq!(plain["transactionId"], Value::Null);

    // A deleted event no longer holds its transactionId.
    let (status, _) = graph
        .call(
            Method::DELETE,
            &format!("{}/{id}", Graph::events_path()),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let third = graph.create(body).await;
    assert_ne!(third["id"], first["id"]);
}

#[tokio::test]
async fn invalid_event_bodies_are_refused() {
    let sandbox = start().await;
    let graph = Graph::new(&sandbox).await;
    let path = Graph::events_path();
    let base = event("x", "b", "2026-12-05T14:00:00", "2026-12-05T15:00:00");
    let cases = [
        (
            json!({"start": {"dateTime": "2026-12-05T14:00:00", "timeZone": "Pacific Standard Time"}}),
            "TimeZoneNotSupportedException",
        ),
        (
            json!({"attendees": [{"type": "required", "emailAddress": {"address": "not-an-email"}}]}),
            "ErrorInvalidRecipients",
        ),
        (
            json!({"singleValueExtendedProperties": [{"id": "booking_id", "value": "b"}]}),
            "ErrorInvalidExtendedPropertyValue",
        ),
        (
            json!({"end": {"dateTime": "2026-12-05T13:00:00", "timeZone": "UTC"}}),
            "ErrorInvalidParameter",
        ),
        (
            json!({"start": {"dateTime": "tomorrow", "timeZone": "UTC"}}),
            "ErrorInvalidRequest",
        ),
        (json!({"start": null}), "ErrorInvalidRequest"),
    ];
    for (overlay, expected) in cases {
        let mut body = base.clone();
        for (k, v) in overlay.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, answer) = graph.call(Method::POST, &path, Some(body)).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(code(&answer), expected, "{answer}");
    }
    let response = http()
        .post(format!("{}{path}", sandbox.microsoft_graph_url()))
        .bearer_auth(&graph.token)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, answer) = json(response).await;
    assert_eq!((status, code(&answer)), (400, "ErrorInvalidRequest"));
    assert!(
        sandbox
            .client()
            .graph_events(true)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn list_filters_by_extended_property_and_pages() {
    let sandbox = start().await;
    let graph = Graph::new(&sandbox).await;
    let quoted = "O'Brien's tour";
    let a = graph
        .create(event(
            "a",
            quoted,
            "2026-12-05T09:00:00",
            "2026-12-05T10:00:00",
        ))
        .await;
    graph
        .create(event(
            "b",
            "other",
            "2026-12-05T11:00:00",
            "2026-12-05T12:00:00",
        ))
        .await;
    let c = graph
        .create(event(
            "c",
            quoted,
            "2026-12-05T13:00:00",
            "2026-12-05T14:00:00",
        ))
        .await;

    let (status, body) = graph
        .list(&[("$filter", &filter(quoted)), ("$expand", &expand())])
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["@odata.context"].is_string());
    let items = body["value"].as_array().unwrap();
    assert_eq!(
        ids(items),
        vec![a["id"].as_str().unwrap(), c["id"].as_str().unwrap()]
    );
    assert_eq!(
        items[0]["singleValueExtendedProperties"],
        json!([{"id": PROP, "value": quoted}])
    );

    // Without $expand no extended properties; an $expand of another property: none either.
    let (_, body) = graph.list(&[("$filter", &filter(quoted))]).await;
    assert!(
        body["value"][0]
            .get("singleValueExtendedProperties")
            .is_none()
    );
    let other = "String {00020329-0000-0000-c000-000000000046} Name other";
    let (_, body) = graph
        .list(&[(
            "$expand",
            &format!("singleValueExtendedProperties($filter=id eq '{other}')"),
        )])
        .await;
    assert_eq!(body["value"].as_array().unwrap().len(), 3);
    assert!(
        body["value"][0]
            .get("singleValueExtendedProperties")
            .is_none()
    );

    let (_, body) = graph.list(&[("$filter", &filter("nobody"))]).await;
    assert_eq!(body["value"], json!([]));
    assert!(body.get("@odata.nextLink").is_none());

    let (status, body) = graph.list(&[("$filter", "subject eq 'a'")]).await;
    assert_eq!((status, code(&body)), (400, "ErrorInvalidUrlQueryFilter"));

    // Paging: absolute nextLinks that keep the filter.
    let (_, first) = graph
        .list(&[("$filter", &filter(quoted)), ("$top", "1")])
        .await;
    assert_eq!(
        ids(first["value"].as_array().unwrap()),
        vec![a["id"].as_str().unwrap()]
    );
    let next = first["@odata.nextLink"].as_str().unwrap();
    assert!(next.starts_with(&sandbox.microsoft_graph_url()), "{next}");
    let (status, second) = graph.call_url(Method::GET, next, None, &[]).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(
        ids(second["value"].as_array().unwrap()),
        vec![c["id"].as_str().unwrap()]
    );
    assert!(second.get("@odata.nextLink").is_none());

    // Without $filter: every live event of this user only.
    let (_, all) = graph.list(&[]).await;
    assert_eq!(all["value"].as_array().unwrap().len(), 3);
    let (_, other_user) = graph
        .call(
            Method::GET,
            "/users/someone@contoso.test/calendar/events",
            None,
        )
        .await;
    assert_eq!(other_user["value"], json!([]));
}

#[tokio::test]
async fn get_patch_and_delete() {
    let sandbox = start().await;
    let graph = Graph::new(&sandbox).await;
    let created = graph
        .create(event(
            "Tour",
            "b1",
            "2026-12-05T14:00:00",
            "2026-12-05T15:00:00",
        ))
        .await;
    let id = created["id"].as_str().unwrap();
    let path = format!("{}/{id}", Graph::events_path());

    let (status, got) = graph.call(Method::GET, &path, None).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["id"], id);
    assert!(got.get("singleValueExtendedProperties").is_none());
    let with_props = format!(
        "{path}?$expand={}",
        url::form_urlencoded::byte_serialize(expand().as_bytes()).collect::<String>()
    );
    let (_, got) = graph.call(Method::GET, &with_props, None).await;
    assert_eq!(got["singleValueExtendedProperties"][0]["value"], "b1");

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (status, patched) = graph
        .call(
            Method::PATCH,
            &path,
            Some(json!({
                "start": {"dateTime": "2026-12-05T16:00:00", "timeZone": "UTC"},
                "end": {"dateTime": "2026-12-05T17:00:00", "timeZone": "UTC"},
                "showAs": "tentative",
                "singleValueExtendedProperties": [{"id": PROP.to_lowercase(), "value": "b1-moved"}],
            })),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["subject"], "Tour");
    assert_eq!(patched["location"]["displayName"], "12 Elm St");
    assert_eq!(patched["start"]["dateTime"], "2026-12-05T16:00:00.0000000");
    assert_eq!(patched["showAs"], "tentative");
    assert_eq!(patched["createdDateTime"], created["createdDateTime"]);
    assert_ne!(
        patched["lastModifiedDateTime"],
        created["lastModifiedDateTime"]
    );
    assert_ne!(patched["changeKey"], created["changeKey"]);
    let (_, got) = graph.call(Method::GET, &with_props, None).await;
    assert_eq!(
        got["singleValueExtendedProperties"],
        json!([{"id": PROP, "value": "b1-moved"}])
    );

    let (status, body) = graph
        .call(
            Method::PATCH,
            &path,
            Some(json!({"end": {"dateTime": "2026-12-05T10:00:00", "timeZone": "UTC"}})),
        )
        .await;
    assert_eq!((status, code(&body)), (400, "ErrorInvalidParameter"));

    let (status, _) = graph.call(Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    for method in [Method::GET, Method::DELETE] {
        let (status, body) = graph.call(method, &path, None).await;
        assert_eq!(status, 404);
        assert_eq!(code(&body), "ErrorItemNotFound");
        assert_eq!(
            body["error"]["message"],
            "The specified object was not found in the store."
        );
    }
    let (status, body) = graph
        .call(Method::PATCH, &path, Some(json!({"subject": "x"})))
        .await;
    assert_eq!((status, code(&body)), (404, "ErrorItemNotFound"));
    let (status, body) = graph
        .call(
            Method::GET,
            &format!("{}/AAMkADunknown", Graph::events_path()),
            None,
        )
        .await;
    assert_eq!((status, code(&body)), (404, "ErrorItemNotFound"));

    let records = sandbox.client().graph_events(true).await.unwrap();
    assert_eq!(records.len(), 1);
    assert!(records[0].deleted);
    assert!(
        sandbox
            .client()
            .graph_events(false)
            .await
            .unwrap()
            .is_empty()
    );
}

// ---- getSchedule ----

#[tokio::test]
async fn get_schedule_reports_busy_items_and_the_availability_view() {
    let sandbox = start().await;
    let graph = Graph::new(&sandbox).await;
    graph
        .create(event(
            "Busy",
            "b1",
            "2026-12-05T09:15:00",
            "2026-12-05T09:45:00",
        ))
        .await;
    let mut tentative = event("Maybe", "b2", "2026-12-05T09:30:00", "2026-12-05T10:00:00");
    tentative["showAs"] = json!("tentative");
    graph.create(tentative).await;
    let mut free = event("Free", "b3", "2026-12-05T09:00:00", "2026-12-05T10:00:00");
    free["showAs"] = json!("free");
    graph.create(free).await;
    let mut oof = event("Away", "b4", "2026-12-05T11:00:00", "2026-12-05T12:00:00");
    oof["showAs"] = json!("oof");
    graph.create(oof).await;

    let (status, body) = graph
        .call(
            Method::POST,
            &format!("/users/{USER}/calendar/getSchedule"),
            Some(json!({
                "schedules": [USER, "empty@contoso.test", "not an address"],
                "startTime": {"dateTime": "2026-12-05T09:00:00", "timeZone": "UTC"},
                "endTime": {"dateTime": "2026-12-05T10:00:00", "timeZone": "UTC"},
                "availabilityViewInterval": 15
            })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["@odata.context"].is_string());
    let agent = &body["value"][0];
    assert_eq!(agent["scheduleId"], USER);
    assert_eq!(agent["availabilityView"], "0221");
    let items = agent["scheduleItems"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0]["status"], "busy");
    assert_eq!(items[0]["subject"], "Busy");
    assert_eq!(items[0]["location"], "12 Elm St");
    assert_eq!(items[0]["isPrivate"], false);
    assert_eq!(
        items[0]["start"],
        json!({"dateTime": "2026-12-05T09:15:00.0000000", "timeZone": "UTC"})
    );
    assert_eq!(items[1]["status"], "tentative");
    assert!(agent["workingHours"].is_object());

    let empty = &body["value"][1];
    assert_eq!(empty["availabilityView"], "0000");
    assert_eq!(empty["scheduleItems"], json!([]));

    let invalid = &body["value"][2];
    assert_eq!(invalid["scheduleId"], "not an address");
    assert_eq!(invalid["error"]["responseCode"], "ErrorInvalidSmtpAddress");
    assert!(invalid["error"]["message"].is_string());
    assert!(invalid.get("scheduleItems").is_none());

    let (status, body) = graph
        .call(
            Method::POST,
            &format!("/users/{USER}/calendar/getSchedule"),
            Some(json!({
                "schedules": [USER],
                "startTime": {"dateTime": "2026-12-05T11:00:00", "timeZone": "UTC"},
                "endTime": {"dateTime": "2026-12-05T12:00:00", "timeZone": "UTC"},
                "availabilityViewInterval": 30
            })),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["value"][0]["availabilityView"], "33");
    assert_eq!(body["value"][0]["scheduleItems"][0]["status"], "oof");
}

// ---- delta ----

#[tokio::test]
async fn delta_rounds_report_creates_updates_moves_and_deletes() {
    let sandbox = start().await;
    let graph = Graph::new(&sandbox).await;
    let client = sandbox.client();
    let window = ("2026-12-01T00:00:00Z", "2026-12-31T00:00:00Z");
    let mut inside = Vec::new();
    for day in 1..=5 {
        let created = graph
            .create(event(
                &format!("e{day}"),
                &format!("b{day}"),
                &format!("2026-12-{:02}T10:00:00", day + 1),
                &format!("2026-12-{:02}T11:00:00", day + 1),
            ))
            .await;
        inside.push(created["id"].as_str().unwrap().to_owned());
    }
    let outside = graph
        .create(event(
            "later",
            "bx",
            "2027-01-05T10:00:00",
            "2027-01-05T11:00:00",
        ))
        .await;
    let deleted_before = graph
        .create(event(
            "gone",
            "bg",
            "2026-12-10T10:00:00",
            "2026-12-10T11:00:00",
        ))
        .await;
    let (status, _) = graph
        .call(
            Method::DELETE,
            &format!(
                "{}/{}",
                Graph::events_path(),
                deleted_before["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, 204);

    let first = graph.delta_start(window.0, window.1, 2).await;
    let (items, delta_link, pages) = graph.delta_round(first, 2).await;
    assert_eq!(pages, 3);
    assert_eq!(
        ids(&items),
        inside.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(
        items
            .iter()
            .all(|i| i.get("singleValueExtendedProperties").is_none())
    );
    assert!(items.iter().all(|i| i.get("@removed").is_none()));
    assert_eq!(items[0]["subject"], "e1");

    // Nothing changed: an empty round and a fresh deltaLink.
    let (empty, delta_link, _) = graph
        .delta_round(graph.delta_follow(&delta_link, 2).await, 2)
        .await;
    assert!(empty.is_empty(), "{empty:?}");

    // Changes: one created, one moved within the window (patch), one deleted through the
    // API, one deleted by hand and one moved out of the window by hand.
    let created = graph
        .create(event(
            "new",
            "bn",
            "2026-12-20T10:00:00",
            "2026-12-20T11:00:00",
        ))
        .await;
    let (status, _) = graph
        .call(
            Method::PATCH,
            &format!("{}/{}", Graph::events_path(), inside[0]),
            Some(json!({
                "start": {"dateTime": "2026-12-15T10:00:00", "timeZone": "UTC"},
                "end": {"dateTime": "2026-12-15T11:00:00", "timeZone": "UTC"}
            })),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = graph
        .call(
            Method::DELETE,
            &format!("{}/{}", Graph::events_path(), inside[1]),
            None,
        )
        .await;
    assert_eq!(status, 204);
    client.delete_graph_event(&inside[2]).await.unwrap();
    let moved = client
        .move_graph_event(
            &inside[3],
            at("2027-02-01T10:00:00Z"),
            at("2027-02-01T11:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(moved.start, at("2027-02-01T10:00:00Z"));
    assert!(client.delete_graph_event(&inside[2]).await.is_err());

    let (changes, delta_link, _) = graph
        .delta_round(graph.delta_follow(&delta_link, 2).await, 2)
        .await;
    let by_id = |id: &str| {
        changes
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing from {changes:?}"))
            .clone()
    };
    assert_eq!(changes.len(), 5, "{changes:?}");
    let updated = by_id(&inside[0]);
    assert_eq!(updated["start"]["dateTime"], "2026-12-15T10:00:00.0000000");
    assert!(updated.get("@removed").is_none());
    assert!(updated.get("singleValueExtendedProperties").is_none());
    assert_eq!(by_id(created["id"].as_str().unwrap())["subject"], "new");
    for gone in [&inside[1], &inside[2], &inside[3]] {
        assert_eq!(
            by_id(gone),
            json!({"@odata.type": "#microsoft.graph.event", "id": gone, "@removed": {"reason": "deleted"}})
        );
    }
    assert!(changes.iter().all(|c| c["id"] != outside["id"]));
    assert!(changes.iter().all(|c| c["id"] != inside[4].as_str()));

    // The moved-out event coming back into the window is an update again.
    client
        .move_graph_event(
            &inside[3],
            at("2026-12-24T10:00:00Z"),
            at("2026-12-24T11:00:00Z"),
        )
        .await
        .unwrap();
    let (changes, _, _) = graph
        .delta_round(graph.delta_follow(&delta_link, 100).await, 100)
        .await;
    assert_eq!(ids(&changes), vec![inside[3].as_str()]);
    assert_eq!(changes[0]["subject"], "e4");
}

#[tokio::test]
async fn delta_refuses_expand_and_stale_tokens() {
    let sandbox = start().await;
    let graph = Graph::new(&sandbox).await;
    graph
        .create(event(
            "e",
            "b",
            "2026-12-05T10:00:00",
            "2026-12-05T11:00:00",
        ))
        .await;
    let base = format!("{}/users/{USER}/calendarView/delta", graph.base);

    let (status, body) = graph
        .call_url(
            Method::GET,
            &format!(
                "{base}?startDateTime=2026-12-01T00:00:00Z&endDateTime=2026-12-31T00:00:00Z&$expand={}",
                url::form_urlencoded::byte_serialize(expand().as_bytes()).collect::<String>()
            ),
            None,
            &[],
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (400, "ErrorInvalidUrlQuery"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("$expand")
    );

    let (status, body) = graph.call_url(Method::GET, &base, None, &[]).await;
    assert_eq!(
        (status, code(&body)),
        (400, "ErrorInvalidParameter"),
        "{body}"
    );

    for garbled in ["garbage", "ZDp4Onk", ""] {
        let (status, body) = graph
            .call_url(
                Method::GET,
                &format!("{base}?$deltatoken={garbled}"),
                None,
                &[],
            )
            .await;
        assert_eq!(status, 410, "{body}");
        assert_eq!(code(&body), "SyncStateNotFound");
        assert_eq!(
            body["error"]["message"],
            "The sync state generation is not found or has expired. Please do a full sync."
        );
    }

    let first = graph
        .delta_start("2026-12-01T00:00:00Z", "2026-12-31T00:00:00Z", 100)
        .await;
    let (_, delta_link, _) = graph.delta_round(first, 100).await;
    let (status, _) = graph.delta_follow(&delta_link, 100).await;
    assert_eq!(status, 200);

    // A token is bound to its mailbox.
    let foreign = delta_link.replace("agent%40contoso.test", "other%40contoso.test");
    let (status, body) = graph.delta_follow(&foreign, 100).await;
    assert_eq!((status, code(&body)), (410, "SyncStateNotFound"));

    sandbox.client().expire_graph_delta_tokens().await.unwrap();
    let (status, body) = graph.delta_follow(&delta_link, 100).await;
    assert_eq!((status, code(&body)), (410, "SyncStateNotFound"));
}

// ---- faults, inspection, reset ----

#[tokio::test]
async fn injected_throttling_reaches_the_client() {
    let sandbox = start().await;
    let graph = Graph::new(&sandbox).await;
    let client = sandbox.client();
    client
        .inject(&Injection::graph_throttled(
            "POST",
            "/microsoft/graph/v1.0/users/",
            7,
        ))
        .await
        .unwrap();
    let url = format!("{}{}", graph.base, Graph::events_path());
    let body = event("x", "b", "2026-12-05T10:00:00", "2026-12-05T11:00:00");
    let response = http()
        .post(&url)
        .bearer_auth(&graph.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["retry-after"], "7");
    let (status, answer) = json(response).await;
    assert_eq!(status, 429);
    assert_eq!(code(&answer), "TooManyRequests");
    assert_eq!(answer["error"]["message"], "Please retry again later.");
    assert!(client.graph_events(false).await.unwrap().is_empty());

    // 503 and 504 with Retry-After, through the generic constructor.
    for (status, error_code) in [(503, "serviceNotAvailable"), (504, "gatewayTimeout")] {
        client
            .inject(
                &Injection::graph_error(
                    "GET",
                    "/microsoft/graph/v1.0/",
                    status,
                    error_code,
                    "Try later",
                )
                .retry_after(2),
            )
            .await
            .unwrap();
        let response = http()
            .get(&url)
            .bearer_auth(&graph.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["retry-after"], "2");
        let (got, answer) = json(response).await;
        assert_eq!(got, status);
        assert_eq!(code(&answer), error_code);
    }

    // A plain injection with headers and a raw JSON body works the same way.
    client
        .inject(
            &Injection::new("POST", "/microsoft/login/", 429)
                .retry_after(3)
                .json(json!({"error": "temporarily_unavailable"})),
        )
        .await
        .unwrap();
    let response = token_request(&sandbox, defaults::MICROSOFT_TENANT_ID, &good_form()).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "3");

    // Rules are used up: the next calls pass.
    graph.create(body).await;
    let log = client
        .requests_matching(Some("POST"), "/microsoft/graph/v1.0")
        .await
        .unwrap();
    assert_eq!(log.len(), 2);
}

#[tokio::test]
async fn state_is_in_snapshots_and_reset() {
    let sandbox = start().await;
    let graph = Graph::new(&sandbox).await;
    let client = sandbox.client();
    let created = graph
        .create(event(
            "e",
            "b1",
            "2026-12-05T10:00:00",
            "2026-12-05T11:00:00",
        ))
        .await;
    let state = client.state().await.unwrap();
    let mailbox = &state["microsoft"]["mailboxes"][USER];
    assert!(mailbox["events"][created["id"].as_str().unwrap()].is_object());
    assert!(state["microsoft"]["apps"][defaults::MICROSOFT_CLIENT_ID].is_object());

    client
        .disable_microsoft_app(defaults::MICROSOFT_CLIENT_ID)
        .await
        .unwrap();
    client.reset().await.unwrap();
    assert!(client.graph_events(true).await.unwrap().is_empty());
    // Tokens are gone and the app is provisioned afresh.
    let (status, _) = graph.list(&[]).await;
    assert_eq!(status, 401);
    graph_token(&sandbox).await;
}
