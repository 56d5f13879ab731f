//! HubSpot CRM v3 contract: contacts (create, conflict, upsert, search, patch), tasks and
//! notes with associations, property schemas, validation, auth and the rolling rate limit.

mod common;

use booking_sandbox::defaults;
use common::{http, json, start, start_with};
use reqwest::Method;
use serde_json::{Value, json};

struct Hub {
    base: String,
    token: String,
}

impl Hub {
    fn new(sandbox: &booking_sandbox::RunningSandbox) -> Self {
        Self {
            base: sandbox.hubspot_url(),
            token: defaults::HUBSPOT_TOKEN.to_owned(),
        }
    }

    async fn raw(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut request = http()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        json(self.raw(method, path, body).await).await
    }

    async fn create_contact(&self, email: &str) -> Value {
        let (status, body) = self
            .call(
                Method::POST,
                "/crm/v3/objects/contacts",
                Some(json!({"properties": {"email": email, "firstname": "Ada", "booking_id": "bk-1"}})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }
}

fn assert_error(body: &Value, category: &str) {
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["category"], category, "{body}");
    assert!(body["message"].is_string());
    assert!(
        body["correlationId"]
            .as_str()
            .is_some_and(|c| c.len() == 36)
    );
}

#[tokio::test]
async fn contact_create_conflicts_with_existing_id_in_the_message() {
    let sandbox = start().await;
    let hub = Hub::new(&sandbox);
    let created = hub.create_contact("Lead@Example.com").await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["properties"]["email"], "lead@example.com");
    assert_eq!(created["properties"]["hs_object_id"], id);
    assert_eq!(created["properties"]["booking_id"], "bk-1");
    assert_eq!(created["archived"], false);
    assert!(created["createdAt"].as_str().unwrap().ends_with('Z'));

    let (status, body) = hub
        .call(
            Method::POST,
            "/crm/v3/objects/contacts",
            Some(json!({"properties": {"email": "lead@example.com"}})),
        )
        .await;
    assert_eq!(status, 409);
    assert_error(&body, "CONFLICT");
    assert_eq!(
        body["message"],
        format!("Contact already exists. Existing ID: {id}")
    );
}

#[tokio::test]
async fn get_patch_and_archive_a_contact() {
    let sandbox = start().await;
    let hub = Hub::new(&sandbox);
    let id = hub.create_contact("lead@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/crm/v3/objects/contacts/{id}");

    let (status, body) = hub.call(Method::GET, &path, None).await;
    assert_eq!(status, 200);
    assert!(
        body["properties"].get("booking_id").is_none(),
        "only default properties unless asked"
    );
    assert_eq!(body["properties"]["firstname"], "Ada");
    let (_, body) = hub
        .call(
            Method::GET,
            &format!("{path}?properties=booking_id,phone"),
            None,
        )
        .await;
    assert_eq!(body["properties"]["booking_id"], "bk-1");
    assert!(body["properties"]["phone"].is_null());
    let (status, by_email) = hub
        .call(
            Method::GET,
            "/crm/v3/objects/contacts/lead@example.com?idProperty=email",
            None,
        )
        .await;
    assert_eq!((status, by_email["id"].as_str()), (200, Some(id.as_str())));

    let (status, patched) = hub
        .call(
            Method::PATCH,
            &path,
            Some(json!({"properties": {"booking_status": "CONFIRMED", "firstname": ""}})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["properties"]["booking_status"], "CONFIRMED");
    assert!(
        patched["properties"]["firstname"].is_null(),
        "empty value clears"
    );
    assert_eq!(patched["properties"]["email"], "lead@example.com");

    let (status, body) = hub
        .call(Method::GET, "/crm/v3/objects/contacts/999999999", None)
        .await;
    assert_eq!(status, 404);
    assert_error(&body, "OBJECT_NOT_FOUND");

    assert_eq!(hub.call(Method::DELETE, &path, None).await.0, 204);
    assert_eq!(hub.call(Method::GET, &path, None).await.0, 404);
    assert!(sandbox.client().contacts().await.unwrap()[0].archived);
}

#[tokio::test]
async fn invalid_values_are_validation_errors() {
    let sandbox = start().await;
    let hub = Hub::new(&sandbox);
    for (properties, code) in [
        (json!({"email": "not-an-email"}), "INVALID_EMAIL"),
        (
            json!({"email": "a@b.co", "favourite_colour": "blue"}),
            "PROPERTY_DOESNT_EXIST",
        ),
        (json!({"lifecyclestage": "best-friend"}), "INVALID_OPTION"),
        (json!({"hs_object_id": "5"}), "READ_ONLY_VALUE"),
    ] {
        let (status, body) = hub
            .call(
                Method::POST,
                "/crm/v3/objects/contacts",
                Some(json!({"properties": properties})),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert_error(&body, "VALIDATION_ERROR");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.starts_with("Property values were not valid: "),
            "{message}"
        );
        assert!(message.contains(code), "{message}");
    }
    assert!(sandbox.client().contacts().await.unwrap().is_empty());
}

#[tokio::test]
async fn malformed_json_gets_a_hubspot_error() {
    let sandbox = start().await;
    let response = http()
        .post(format!("{}/crm/v3/objects/contacts", sandbox.hubspot_url()))
        .bearer_auth(defaults::HUBSPOT_TOKEN)
        .header("content-type", "application/json")
        .body("{\"properties\": ")
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 400);
    assert_error(&body, "VALIDATION_ERROR");
    let (status, body) = Hub::new(&sandbox)
        .call(Method::GET, "/crm/v3/objects/widgets/1", None)
        .await;
    assert_eq!(status, 400);
    assert_error(&body, "VALIDATION_ERROR");
}

#[tokio::test]
async fn batch_upsert_by_email_reports_new_and_existing() {
    let sandbox = start().await;
    let hub = Hub::new(&sandbox);
    let existing = hub.create_contact("old@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = hub
        .call(
            Method::POST,
            "/crm/v3/objects/contacts/batch/upsert",
            Some(json!({"inputs": [
                {"id": "OLD@example.com", "idProperty": "email", "properties": {"booking_id": "bk-2"}},
                {"id": "new@example.com", "idProperty": "email", "properties": {"firstname": "Grace"}}
            ]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "COMPLETE");
    let results = body["results"].as_array().unwrap();
    let old = results
        .iter()
        .find(|r| r["id"] == existing.as_str())
        .expect("existing contact updated");
    assert_eq!(old["new"], false);
    assert_eq!(old["properties"]["booking_id"], "bk-2");
    let new = results
        .iter()
        .find(|r| r["id"] != existing.as_str())
        .unwrap();
    assert_eq!(new["new"], true);
    assert_eq!(new["properties"]["email"], "new@example.com");
    for r in results {
        assert!(r["createdAt"].is_string() && r["updatedAt"].is_string());
    }
    assert_eq!(sandbox.client().contacts().await.unwrap().len(), 2);

    let (status, body) = hub
        .call(
            Method::POST,
            "/crm/v3/objects/contacts/batch/upsert",
            Some(json!({"inputs": [
                {"id": "old@example.com", "idProperty": "email", "properties": {"booking_id": "bk-3"}},
                {"id": "third@example.com", "idProperty": "email", "properties": {}},
                {"id": "broken", "idProperty": "email", "properties": {}}
            ]})),
        )
        .await;
    assert_eq!(status, 400);
    assert_error(&body, "VALIDATION_ERROR");
    assert_eq!(
        sandbox.client().contacts().await.unwrap().len(),
        2,
        "a failed batch creates nothing"
    );
    let kept = sandbox
        .client()
        .contacts()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.id == existing)
        .expect("the existing contact");
    assert_eq!(
        kept.properties.get("booking_id").map(String::as_str),
        Some("bk-2"),
        "a failed batch updates nothing"
    );
}

#[tokio::test]
async fn search_finds_contacts_by_email() {
    let sandbox = start().await;
    let hub = Hub::new(&sandbox);
    let id = hub.create_contact("lead@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    hub.create_contact("other@example.com").await;
    let (status, body) = hub
        .call(
            Method::POST,
            "/crm/v3/objects/contacts/search",
            Some(json!({
                "filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "LEAD@example.com"}]}],
                "properties": ["email", "booking_id"],
                "limit": 10
            })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 1);
    assert_eq!(body["results"][0]["id"], id.as_str());
    assert_eq!(body["results"][0]["properties"]["booking_id"], "bk-1");

    let (_, body) = hub
        .call(
            Method::POST,
            "/crm/v3/objects/contacts/search",
            Some(json!({"limit": 1, "sorts": ["email"]})),
        )
        .await;
    assert_eq!(body["total"], 2);
    assert_eq!(
        body["results"][0]["properties"]["email"],
        "lead@example.com"
    );
    assert_eq!(body["paging"]["next"]["after"], "1");

    let (status, body) = hub
        .call(
            Method::POST,
            "/crm/v3/objects/contacts/search",
            Some(json!({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "SOUNDS_LIKE", "value": "x"}]}]})),
        )
        .await;
    assert_eq!(status, 400);
    assert_error(&body, "VALIDATION_ERROR");
}

/// Equality filters and `idProperty` lookups are answered from an index; these are the
/// changes that index must follow.
#[tokio::test]
async fn email_lookups_follow_changes_archiving_and_mixed_filter_groups() {
    let sandbox = start().await;
    let hub = Hub::new(&sandbox);
    let id_of = |body: Value| body["id"].as_str().unwrap().to_owned();
    let first = id_of(hub.create_contact("first@example.com").await);
    let second = id_of(hub.create_contact("second@example.com").await);
    let search = |filter_groups: Value| {
        hub.call(
            Method::POST,
            "/crm/v3/objects/contacts/search",
            Some(json!({"filterGroups": filter_groups, "properties": ["email"]})),
        )
    };
    let eq = |email: &str| json!([{"filters": [{"propertyName": "email", "operator": "EQ", "value": email}]}]);
    let ids = |body: &Value| -> Vec<String> {
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };

    let (status, patched) = hub
        .call(
            Method::PATCH,
            &format!("/crm/v3/objects/contacts/{first}"),
            Some(json!({"properties": {"email": "Renamed@Example.com"}})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        ids(&search(eq("first@example.com")).await.1),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&search(eq("renamed@example.COM")).await.1),
        [first.as_str()]
    );
    let (status, _) = hub
        .call(
            Method::GET,
            "/crm/v3/objects/contacts/first@example.com?idProperty=email",
            None,
        )
        .await;
    assert_eq!(status, 404, "the old email no longer names the contact");

    // One group the index answers, one it cannot: both contribute, in id order.
    let mixed = json!([
        {"filters": [{"propertyName": "email", "operator": "EQ", "value": "second@example.com"}]},
        {"filters": [{"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "renamed"}]}
    ]);
    assert_eq!(ids(&search(mixed).await.1), [first.clone(), second.clone()]);

    // A filter missing its value is rejected even when the indexed filter matches nothing.
    let (status, body) = search(json!([{"filters": [
        {"propertyName": "email", "operator": "EQ", "value": "nobody@example.com"},
        {"propertyName": "firstname", "operator": "LT"}
    ]}]))
    .await;
    assert_eq!(status, 400, "{body}");
    assert_error(&body, "VALIDATION_ERROR");

    let second_path = format!("/crm/v3/objects/contacts/{second}");
    assert_eq!(hub.call(Method::DELETE, &second_path, None).await.0, 204);
    assert_eq!(
        ids(&search(eq("second@example.com")).await.1),
        Vec::<String>::new()
    );
    let again = id_of(hub.create_contact("SECOND@example.com").await);
    assert_ne!(again, second, "an archived contact's email is free again");
    assert_eq!(ids(&search(eq("second@example.com")).await.1), [again]);
}

#[tokio::test]
async fn tasks_and_notes_associate_to_contacts_and_are_findable_by_dedup_key() {
    let sandbox = start().await;
    let hub = Hub::new(&sandbox);
    let contact = hub.create_contact("lead@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, task) = hub
        .call(
            Method::POST,
            "/crm/v3/objects/tasks",
            Some(json!({
                "properties": {
                    "hs_timestamp": "2030-05-02T09:00:00Z",
                    "hs_task_subject": "Call the lead",
                    "hs_task_body": "No confirmation after 24 h",
                    "hs_task_status": "NOT_STARTED",
                    "hs_task_priority": "HIGH",
                    "booking_dedup_key": "bk-1:call"
                },
                "associations": [{"to": {"id": contact}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}]}]
            })),
        )
        .await;
    assert_eq!(status, 201, "{task}");
    assert_eq!(task["properties"]["hs_task_subject"], "Call the lead");
    assert_eq!(
        task["properties"]["hs_timestamp"],
        "2030-05-02T09:00:00.000Z"
    );
    let task_id = task["id"].as_str().unwrap();

    let (_, fetched) = hub
        .call(
            Method::GET,
            &format!(
                "/crm/v3/objects/tasks/{task_id}?associations=contacts&properties=hs_task_status"
            ),
            None,
        )
        .await;
    assert_eq!(fetched["properties"]["hs_task_status"], "NOT_STARTED");
    assert_eq!(
        fetched["associations"]["contacts"]["results"],
        json!([{"id": contact, "type": "task_to_contact"}])
    );
    let (_, from_contact) = hub
        .call(
            Method::GET,
            &format!("/crm/v3/objects/contacts/{contact}?associations=tasks"),
            None,
        )
        .await;
    assert_eq!(
        from_contact["associations"]["tasks"]["results"][0]["id"],
        task_id
    );

    let (status, found) = hub
        .call(
            Method::POST,
            "/crm/v3/objects/tasks/search",
            Some(json!({"filterGroups": [{"filters": [{"propertyName": "booking_dedup_key", "operator": "EQ", "value": "bk-1:call"}]}]})),
        )
        .await;
    assert_eq!((status, found["total"].as_u64()), (200, Some(1)));
    assert_eq!(found["results"][0]["id"], task_id);

    let (status, note) = hub
        .call(
            Method::POST,
            "/crm/v3/objects/notes",
            Some(json!({
                "properties": {"hs_timestamp": 1_900_000_000_000i64, "hs_note_body": "Tour complete", "booking_dedup_key": "bk-1:done"},
                "associations": [{"to": {"id": contact}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}]}]
            })),
        )
        .await;
    assert_eq!(status, 201, "{note}");
    let (status, listed) = hub
        .call(
            Method::GET,
            "/crm/v3/objects/notes?properties=hs_note_body",
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        listed["results"][0]["properties"]["hs_note_body"],
        "Tour complete"
    );

    let client = sandbox.client();
    let tasks = client.tasks().await.unwrap();
    assert_eq!(tasks[0].property("booking_dedup_key"), Some("bk-1:call"));
    assert_eq!(tasks[0].associations[0].association_type_id, 204);
    assert_eq!(tasks[0].associations[0].to_id, contact);
    assert_eq!(client.notes().await.unwrap().len(), 1);
}

#[tokio::test]
async fn bad_associations_and_missing_timestamps_are_rejected() {
    let sandbox = start().await;
    let hub = Hub::new(&sandbox);
    let contact = hub.create_contact("lead@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let task = |type_id: u32, to: &str| {
        json!({
            "properties": {"hs_timestamp": "2030-05-02T09:00:00Z", "hs_task_subject": "x"},
            "associations": [{"to": {"id": to}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}]
        })
    };
    for body in [
        task(202, &contact),
        task(999, &contact),
        task(204, "424242"),
    ] {
        let (status, answer) = hub
            .call(Method::POST, "/crm/v3/objects/tasks", Some(body))
            .await;
        assert_eq!(status, 400, "{answer}");
        assert_error(&answer, "VALIDATION_ERROR");
    }
    let (status, answer) = hub
        .call(
            Method::POST,
            "/crm/v3/objects/notes",
            Some(json!({"properties": {"hs_note_body": "x"}})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(answer["message"].as_str().unwrap().contains("hs_timestamp"));
    assert!(sandbox.client().tasks().await.unwrap().is_empty());
}

#[tokio::test]
async fn property_schema_lists_custom_booking_id_and_accepts_new_properties() {
    let sandbox = start().await;
    let hub = Hub::new(&sandbox);
    let (status, body) = hub
        .call(Method::GET, "/crm/v3/properties/contacts", None)
        .await;
    assert_eq!(status, 200);
    let booking = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "booking_id")
        .expect("booking_id");
    assert_eq!(booking["type"], "string");
    assert_eq!(booking["hubspotDefined"], false);
    let email = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "email")
        .unwrap();
    assert_eq!(email["hubspotDefined"], true);

    let (status, created) = hub
        .call(
            Method::POST,
            "/crm/v3/properties/contacts",
            Some(json!({"name": "tour_feedback", "label": "Tour feedback", "type": "string", "fieldType": "textarea", "groupName": "booking"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        hub.call(
            Method::GET,
            "/crm/v3/properties/contacts/tour_feedback",
            None
        )
        .await
        .0,
        200
    );
    let (status, conflict) = hub
        .call(
            Method::POST,
            "/crm/v3/properties/contacts",
            Some(json!({"name": "tour_feedback", "label": "x", "type": "string", "fieldType": "text", "groupName": "booking"})),
        )
        .await;
    assert_eq!(status, 409);
    assert_error(&conflict, "CONFLICT");
    let (status, _) = hub
        .call(
            Method::POST,
            "/crm/v3/objects/contacts",
            Some(json!({"properties": {"tour_feedback": "lovely"}})),
        )
        .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn missing_or_wrong_token_is_invalid_authentication() {
    let sandbox = start().await;
    let url = format!("{}/crm/v3/objects/contacts", sandbox.hubspot_url());
    for token in [None, Some("pat-wrong")] {
        let mut request = http().get(&url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert!(response.headers().contains_key("x-hubspot-ratelimit-max"));
        let (status, body) = json(response).await;
        assert_eq!(status, 401);
        assert_error(&body, "INVALID_AUTHENTICATION");
    }
}

#[tokio::test]
async fn rolling_limit_answers_429_with_rate_limit_headers() {
    let sandbox = start_with(|c| c.hubspot_limit_per_10s = 3).await;
    let hub = Hub::new(&sandbox);
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let response = hub.raw(Method::GET, "/crm/v3/objects/contacts", None).await;
        assert_eq!(response.status(), 200);
        let headers = response.headers();
        assert_eq!(headers["x-hubspot-ratelimit-max"], "3");
        assert_eq!(
            headers["x-hubspot-ratelimit-interval-milliseconds"],
            "10000"
        );
        remaining.push(
            headers["x-hubspot-ratelimit-remaining"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(remaining, vec!["2", "1", "0"]);
    let response = hub.raw(Method::GET, "/crm/v3/objects/contacts", None).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["x-hubspot-ratelimit-remaining"], "0");
    assert_eq!(response.headers()["x-hubspot-ratelimit-max"], "3");
    let (_, body) = json(response).await;
    assert_eq!(body["status"], "error");
    assert_eq!(body["errorType"], "RATE_LIMIT");
    assert_eq!(body["category"], "RATE_LIMITS");
    assert_eq!(
        body["message"],
        "You have reached your ten_secondly_rolling limit."
    );
    assert!(body["correlationId"].is_string());
}
