//! Google Calendar v3 contract: insert/get/patch/delete, idempotent ids, list filters,
//! paging, sync tokens, freeBusy, auth and error shapes.

mod common;

use common::{google_token, http, json, start};
use serde_json::{Value, json};

struct Calendar {
    base: String,
    token: String,
}

impl Calendar {
    async fn new(sandbox: &booking_sandbox::RunningSandbox) -> Self {
        Self {
            base: sandbox.google_calendar_url(),
            token: google_token(sandbox).await,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = http()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        json(request.send().await.unwrap()).await
    }

    async fn insert(&self, body: Value) -> (u16, Value) {
        self.call(
            reqwest::Method::POST,
            "/calendars/primary/events",
            Some(body),
        )
        .await
    }

    /// Setup insert that must succeed.
    async fn create(&self, body: Value) -> Value {
        let (status, created) = self.insert(body).await;
        assert_eq!(status, 200, "{created}");
        created
    }

    async fn list(&self, query: &str) -> (u16, Value) {
        self.call(
            reqwest::Method::GET,
            &format!("/calendars/primary/events?{query}"),
            None,
        )
        .await
    }

    /// Every item over all pages, and the final sync token.
    async fn list_all(&self, query: &str) -> (Vec<Value>, String) {
        let mut items = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let q = match &page {
                Some(p) => format!("{query}&pageToken={p}"),
                None => query.to_owned(),
            };
            let (status, body) = self.list(&q).await;
            assert_eq!(status, 200, "{body}");
            items.extend(body["items"].as_array().unwrap().iter().cloned());
            match body["nextPageToken"].as_str() {
                Some(next) => {
                    assert!(body.get("nextSyncToken").is_none());
                    page = Some(next.to_owned());
                }
                None => return (items, body["nextSyncToken"].as_str().unwrap().to_owned()),
            }
        }
    }
}

fn event(id: &str, booking: &str, start: &str, end: &str) -> Value {
    json!({
        "id": id,
        "summary": "Tour: 12 Elm St",
        "description": "Private viewing",
        "location": "12 Elm St",
        "start": {"dateTime": start, "timeZone": "UTC"},
        "end": {"dateTime": end, "timeZone": "UTC"},
        "attendees": [{"email": "lead@example.com"}],
        "extendedProperties": {"private": {"booking_id": booking, "kind": "tour"}}
    })
}

fn reason(body: &Value) -> &str {
    body["error"]["errors"][0]["reason"]
        .as_str()
        .unwrap_or_default()
}

fn ids(items: &[Value]) -> Vec<&str> {
    items.iter().map(|i| i["id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn insert_returns_the_full_event_resource() {
    let sandbox = start().await;
    let cal = Calendar::new(&sandbox).await;
    let (status, body) = cal
        .insert(event(
            "bk00001",
            "b1",
            "2030-05-01T10:00:00Z",
            "2030-05-01T11:00:00Z",
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["kind"], "calendar#event");
    assert_eq!(body["id"], "bk00001");
    assert_eq!(body["status"], "confirmed");
    assert_eq!(body["sequence"], 0);
    assert_eq!(body["iCalUID"], "bk00001@google.com");
    assert!(body["etag"].as_str().unwrap().starts_with('"'));
    assert!(
        body["htmlLink"]
            .as_str()
            .unwrap()
            .starts_with("https://www.google.com/calendar/event?eid=")
    );
    assert!(body["created"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["created"], body["updated"]);
    assert_eq!(body["start"]["dateTime"], "2030-05-01T10:00:00Z");
    assert_eq!(body["attendees"][0]["responseStatus"], "needsAction");
    assert_eq!(body["extendedProperties"]["private"]["booking_id"], "b1");
    assert_eq!(
        body["organizer"]["email"],
        booking_sandbox::defaults::GOOGLE_PRIMARY_CALENDAR
    );

    let (status, generated) = cal
        .insert(json!({"start": {"date": "2030-05-02"}, "end": {"date": "2030-05-03"}}))
        .await;
    assert_eq!(status, 200);
    let id = generated["id"].as_str().unwrap();
    assert!(
        id.len() >= 5 && id.bytes().all(|b| matches!(b, b'a'..=b'v' | b'0'..=b'9')),
        "{id}"
    );

    let stored = sandbox.client().calendar_events(false).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(
        stored[0].calendar_id,
        booking_sandbox::defaults::GOOGLE_PRIMARY_CALENDAR
    );
    assert_eq!(stored[0].event.private_property("booking_id"), Some("b1"));
}

#[tokio::test]
async fn ids_are_base32hex_and_unique_forever() {
    let sandbox = start().await;
    let cal = Calendar::new(&sandbox).await;
    for bad in ["abc", "UPPERCASE1", "has-dash-1", "wxyz12345"] {
        let (status, body) = cal
            .insert(event(
                bad,
                "b",
                "2030-05-01T10:00:00Z",
                "2030-05-01T11:00:00Z",
            ))
            .await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(reason(&body), "invalid");
        assert_eq!(body["error"]["code"], 400);
        assert_eq!(body["error"]["errors"][0]["domain"], "global");
        assert!(body["error"]["message"].is_string());
    }
    let body = event(
        "idem00001",
        "b",
        "2030-05-01T10:00:00Z",
        "2030-05-01T11:00:00Z",
    );
    assert_eq!(cal.insert(body.clone()).await.0, 200);
    let (status, dup) = cal.insert(body.clone()).await;
    assert_eq!((status, reason(&dup)), (409, "duplicate"));

    let path = "/calendars/primary/events/idem00001";
    let (status, _) = cal.call(reqwest::Method::DELETE, path, None).await;
    assert_eq!(status, 204);
    let (status, gone) = cal.call(reqwest::Method::DELETE, path, None).await;
    assert_eq!((status, reason(&gone)), (410, "deleted"));
    let (status, dup) = cal.insert(body).await;
    assert_eq!(
        (status, reason(&dup)),
        (409, "duplicate"),
        "still a duplicate after delete"
    );

    let (status, fetched) = cal.call(reqwest::Method::GET, path, None).await;
    assert_eq!(status, 200);
    assert_eq!(fetched["status"], "cancelled");

    let (status, missing) = cal
        .call(
            reqwest::Method::GET,
            "/calendars/primary/events/nosuch001",
            None,
        )
        .await;
    assert_eq!((status, reason(&missing)), (404, "notFound"));
    let (status, missing) = cal
        .call(
            reqwest::Method::DELETE,
            "/calendars/primary/events/nosuch001",
            None,
        )
        .await;
    assert_eq!((status, reason(&missing)), (404, "notFound"));
    assert_eq!(
        sandbox.client().calendar_events(true).await.unwrap().len(),
        1
    );
    assert!(
        sandbox
            .client()
            .calendar_events(false)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn patch_changes_only_given_fields() {
    let sandbox = start().await;
    let cal = Calendar::new(&sandbox).await;
    let (_, created) = cal
        .insert(event(
            "patch0001",
            "b1",
            "2030-05-01T10:00:00Z",
            "2030-05-01T11:00:00Z",
        ))
        .await;
    let path = "/calendars/primary/events/patch0001";

    let (status, patched) = cal
        .call(
            reqwest::Method::PATCH,
            path,
            Some(json!({"summary": "Rescheduled tour", "extendedProperties": {"private": {"stage": "confirmed"}}})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["summary"], "Rescheduled tour");
    assert_eq!(patched["description"], created["description"]);
    assert_eq!(patched["location"], created["location"]);
    assert_eq!(patched["start"], created["start"]);
    assert_eq!(patched["attendees"], created["attendees"]);
    assert_eq!(
        patched["extendedProperties"]["private"],
        json!({"booking_id": "b1", "kind": "tour", "stage": "confirmed"})
    );
    assert_eq!(patched["sequence"], 0);
    assert_ne!(patched["etag"], created["etag"]);

    let (status, moved) = cal
        .call(
            reqwest::Method::PATCH,
            path,
            Some(json!({"start": {"dateTime": "2030-05-02T10:00:00Z"}, "end": {"dateTime": "2030-05-02T11:00:00Z"}})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(moved["start"]["dateTime"], "2030-05-02T10:00:00Z");
    assert_eq!(moved["start"]["timeZone"], "UTC", "nested objects merge");
    assert_eq!(moved["sequence"], 1);
    assert_eq!(moved["summary"], "Rescheduled tour");

    let (status, body) = cal
        .call(
            reqwest::Method::PATCH,
            path,
            Some(json!({"end": {"dateTime": "2030-05-01T09:00:00Z"}})),
        )
        .await;
    assert_eq!((status, reason(&body)), (400, "timeRangeEmpty"));
    let (status, replaced) = cal
        .call(
            reqwest::Method::PUT,
            path,
            Some(json!({"summary": "Replaced", "start": {"date": "2030-06-01"}, "end": {"date": "2030-06-02"}})),
        )
        .await;
    assert_eq!(status, 200, "{replaced}");
    assert!(
        replaced.get("description").is_none(),
        "PUT replaces the whole event"
    );
    assert!(replaced.get("extendedProperties").is_none());
    assert_eq!(replaced["id"], "patch0001");

    let (status, body) = cal
        .call(
            reqwest::Method::PATCH,
            "/calendars/primary/events/nosuch001",
            Some(json!({"summary": "x"})),
        )
        .await;
    assert_eq!((status, reason(&body)), (404, "notFound"));
}

#[tokio::test]
async fn invalid_bodies_get_google_errors() {
    let sandbox = start().await;
    let cal = Calendar::new(&sandbox).await;
    let (status, body) = cal.insert(json!({"summary": "no times"})).await;
    assert_eq!((status, reason(&body)), (400, "required"));
    let (status, body) = cal
        .insert(json!({"start": {"dateTime": "2030-05-01T10:00:00Z"}, "end": {"dateTime": "2030-05-01T09:00:00Z"}}))
        .await;
    assert_eq!((status, reason(&body)), (400, "timeRangeEmpty"));
    let (status, body) = cal
        .insert(json!({"start": "tomorrow", "end": {"date": "2030-01-01"}}))
        .await;
    assert_eq!((status, reason(&body)), (400, "invalid"));

    let response = http()
        .post(format!("{}/calendars/primary/events", cal.base))
        .bearer_auth(&cal.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!((status, reason(&body)), (400, "parseError"));
    assert_eq!(body["error"]["code"], 400);
}

#[tokio::test]
async fn calls_without_a_valid_token_are_401() {
    let sandbox = start().await;
    let url = format!("{}/calendars/primary/events", sandbox.google_calendar_url());
    let response = http().get(&url).send().await.unwrap();
    let (status, body) = json(response).await;
    assert_eq!((status, reason(&body)), (401, "required"));
    let response = http()
        .get(&url)
        .bearer_auth("ya29.forged")
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let (status, body) = json(response).await;
    assert_eq!((status, reason(&body)), (401, "authError"));
    assert_eq!(body["error"]["message"], "Invalid Credentials");
}

#[tokio::test]
async fn list_filters_on_private_properties_time_window_and_deletion() {
    let sandbox = start().await;
    let cal = Calendar::new(&sandbox).await;
    cal.create(event(
        "list00001",
        "b1",
        "2030-05-01T10:00:00Z",
        "2030-05-01T11:00:00Z",
    ))
    .await;
    cal.create(event(
        "list00002",
        "b2",
        "2030-05-01T12:00:00Z",
        "2030-05-01T13:00:00Z",
    ))
    .await;
    cal.create(event(
        "list00003",
        "b3",
        "2030-05-03T10:00:00Z",
        "2030-05-03T11:00:00Z",
    ))
    .await;
    cal.call(
        reqwest::Method::DELETE,
        "/calendars/primary/events/list00003",
        None,
    )
    .await;

    let (_, body) = cal.list("privateExtendedProperty=booking_id%3Db2").await;
    assert_eq!(ids(body["items"].as_array().unwrap()), vec!["list00002"]);
    let (_, body) = cal
        .list("privateExtendedProperty=booking_id%3Db2&privateExtendedProperty=kind%3Dother")
        .await;
    assert!(
        body["items"].as_array().unwrap().is_empty(),
        "all property filters must match"
    );
    let (_, body) = cal.list("privateExtendedProperty=booking_id%3Db3").await;
    assert!(
        body["items"].as_array().unwrap().is_empty(),
        "deleted events hidden by default"
    );
    let (_, body) = cal
        .list("privateExtendedProperty=booking_id%3Db3&showDeleted=true")
        .await;
    assert_eq!(body["items"][0]["status"], "cancelled");

    let (_, body) = cal
        .list("timeMin=2030-05-01T11:30:00Z&timeMax=2030-05-02T00:00:00Z")
        .await;
    assert_eq!(ids(body["items"].as_array().unwrap()), vec!["list00002"]);
    let (_, body) = cal.list("timeMin=2030-05-01T11:00:00%2B00:00").await;
    assert_eq!(
        ids(body["items"].as_array().unwrap()),
        vec!["list00002"],
        "end == timeMin is excluded"
    );

    let (_, body) = cal
        .list("singleEvents=true&orderBy=startTime&showDeleted=true")
        .await;
    assert_eq!(
        ids(body["items"].as_array().unwrap()),
        vec!["list00001", "list00002", "list00003"]
    );
    let (status, body) = cal.list("orderBy=startTime").await;
    assert_eq!((status, reason(&body)), (400, "badRequest"));
    let (status, body) = cal.list("timeMin=yesterday").await;
    assert_eq!((status, reason(&body)), (400, "badRequest"));
    assert_eq!(body["error"]["code"], 400);
}

#[tokio::test]
async fn updated_min_includes_deleted_events_changed_since() {
    let sandbox = start().await;
    let cal = Calendar::new(&sandbox).await;
    cal.create(event(
        "upd000001",
        "b1",
        "2030-05-01T10:00:00Z",
        "2030-05-01T11:00:00Z",
    ))
    .await;
    let (_, body) = cal.list("").await;
    let cutoff = body["items"][0]["updated"].as_str().unwrap().to_owned();
    cal.create(event(
        "upd000002",
        "b2",
        "2030-05-01T12:00:00Z",
        "2030-05-01T13:00:00Z",
    ))
    .await;
    cal.call(
        reqwest::Method::DELETE,
        "/calendars/primary/events/upd000002",
        None,
    )
    .await;
    // Millisecond timestamps: move one millisecond past the first event's update.
    let after =
        chrono::DateTime::parse_from_rfc3339(&cutoff).unwrap() + chrono::Duration::milliseconds(1);
    let query = format!("updatedMin={}", after.to_rfc3339().replace('+', "%2B"));
    let (status, body) = cal.list(&query).await;
    assert_eq!(status, 200, "{body}");
    let items = body["items"].as_array().unwrap();
    assert!(
        ids(items).contains(&"upd000002"),
        "deleted since updatedMin is always included: {body}"
    );
    assert!(
        items
            .iter()
            .all(|i| i["id"] != "upd000001" || i["updated"].as_str().unwrap() > cutoff.as_str())
    );
}

#[tokio::test]
async fn paging_returns_every_event_once_and_sync_token_on_the_last_page() {
    let sandbox = start().await;
    let cal = Calendar::new(&sandbox).await;
    for i in 0..7 {
        cal.create(event(
            &format!("page{i:05}"),
            "b",
            "2030-05-01T10:00:00Z",
            "2030-05-01T11:00:00Z",
        ))
        .await;
    }
    let (items, sync) = cal.list_all("maxResults=3").await;
    assert_eq!(items.len(), 7);
    let mut seen = ids(&items);
    seen.dedup();
    assert_eq!(seen.len(), 7);
    assert!(!sync.is_empty());
    let (status, body) = cal.list("maxResults=0").await;
    assert_eq!((status, reason(&body)), (400, "invalid"));
}

#[tokio::test]
async fn sync_tokens_return_changes_and_expire_with_410() {
    let sandbox = start().await;
    let cal = Calendar::new(&sandbox).await;
    cal.create(event(
        "sn00001",
        "b1",
        "2030-05-01T10:00:00Z",
        "2030-05-01T11:00:00Z",
    ))
    .await;
    cal.create(event(
        "sn00002",
        "b2",
        "2030-05-01T12:00:00Z",
        "2030-05-01T13:00:00Z",
    ))
    .await;
    let (_, first_sync) = cal.list_all("maxResults=250").await;

    let (_, body) = cal.list(&format!("syncToken={first_sync}")).await;
    assert!(
        body["items"].as_array().unwrap().is_empty(),
        "no changes yet"
    );
    let second_sync = body["nextSyncToken"].as_str().unwrap().to_owned();

    cal.call(
        reqwest::Method::PATCH,
        "/calendars/primary/events/sn00001",
        Some(json!({"summary": "moved"})),
    )
    .await;
    cal.call(
        reqwest::Method::DELETE,
        "/calendars/primary/events/sn00002",
        None,
    )
    .await;
    cal.create(event(
        "sn00003",
        "b3",
        "2030-05-02T12:00:00Z",
        "2030-05-02T13:00:00Z",
    ))
    .await;

    let (status, body) = cal.list(&format!("syncToken={second_sync}")).await;
    assert_eq!(status, 200);
    let items = body["items"].as_array().unwrap();
    assert_eq!(ids(items).len(), 3);
    let deleted = items.iter().find(|i| i["id"] == "sn00002").unwrap();
    assert_eq!(
        deleted["status"], "cancelled",
        "deleted events are part of incremental sync"
    );

    let (status, body) = cal.list("syncToken=not-a-token").await;
    assert_eq!((status, reason(&body)), (410, "fullSyncRequired"));
    assert_eq!(body["error"]["code"], 410);

    let (status, body) = cal
        .list(&format!(
            "syncToken={second_sync}&timeMin=2030-01-01T00:00:00Z"
        ))
        .await;
    assert_eq!((status, reason(&body)), (400, "invalid"));

    sandbox.client().expire_sync_tokens().await.unwrap();
    let (status, body) = cal.list(&format!("syncToken={second_sync}")).await;
    assert_eq!((status, reason(&body)), (410, "fullSyncRequired"));
}

#[tokio::test]
async fn free_busy_reports_merged_busy_ranges_without_cancelled_events() {
    let sandbox = start().await;
    let cal = Calendar::new(&sandbox).await;
    cal.create(event(
        "fb0000001",
        "b1",
        "2030-05-01T09:00:00Z",
        "2030-05-01T10:00:00Z",
    ))
    .await;
    cal.create(event(
        "fb0000002",
        "b2",
        "2030-05-01T09:30:00Z",
        "2030-05-01T10:30:00Z",
    ))
    .await;
    cal.create(event(
        "fb0000003",
        "b3",
        "2030-05-01T14:00:00Z",
        "2030-05-01T15:00:00Z",
    ))
    .await;
    cal.create(event(
        "fb0000004",
        "b4",
        "2030-05-01T16:00:00Z",
        "2030-05-01T17:00:00Z",
    ))
    .await;
    cal.call(
        reqwest::Method::DELETE,
        "/calendars/primary/events/fb0000004",
        None,
    )
    .await;

    let (status, body) = cal
        .call(
            reqwest::Method::POST,
            "/freeBusy",
            Some(json!({
                "timeMin": "2030-05-01T09:15:00Z",
                "timeMax": "2030-05-01T23:00:00Z",
                "items": [{"id": "primary"}, {"id": "other@sandbox.test"}]
            })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["kind"], "calendar#freeBusy");
    assert_eq!(body["timeMin"], "2030-05-01T09:15:00Z");
    assert_eq!(
        body["calendars"]["primary"]["busy"],
        json!([
            {"start": "2030-05-01T09:15:00Z", "end": "2030-05-01T10:30:00Z"},
            {"start": "2030-05-01T14:00:00Z", "end": "2030-05-01T15:00:00Z"}
        ])
    );
    assert_eq!(body["calendars"]["other@sandbox.test"]["busy"], json!([]));

    let (status, body) = cal
        .call(
            reqwest::Method::POST,
            "/freeBusy",
            Some(json!({"timeMax": "2030-05-01T23:00:00Z"})),
        )
        .await;
    assert_eq!((status, reason(&body)), (400, "required"));
}
