//! HubSpot CRM v3: contacts, booking stage, tasks and notes, each made safe to retry.
//!
//! - Contacts are upserted by email (`batch/upsert`, `idProperty: email`), so a retry
//!   updates the contact it created. [`CrmClient::create_contact`] (plain create) turns a
//!   409 `CONFLICT` into the existing contact's id, parsed from HubSpot's message.
//! - Tasks and notes carry a `booking_dedup_key` property (`<booking_id>:<step>`). Creation
//!   searches for the key first and creates only when absent.
//!
//! **The remaining race, honestly:** search-then-create is not atomic. Two attempts running
//! at the same moment (which Temporal does not do for one activity, except after a
//! start-to-close timeout while the first attempt still runs), or a retry that searches
//! before HubSpot's search index has caught up with the first attempt's create (real
//! HubSpot indexes with a lag of seconds; retries start at least one backoff interval later,
//! usually longer), can still produce a second task. A duplicate task is visible and
//! harmless to delete; nothing here can lose one.
//!
//! Rate limits: 429 with `X-HubSpot-RateLimit-Interval-Milliseconds` (and `Retry-After` when
//! sent) becomes [`ProviderError::RateLimited`] with that delay.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use url::Url;

use crate::{
    config::HubSpotConfig,
    error::{Provider, ProviderError},
    http::{Answer, Http},
    inputs::{
        CreateCrmTaskInput, CrmContactOutput, CrmTaskOutput, UpdateCrmStageInput,
        UpdateCrmStageOutput, UpsertCrmContactInput,
    },
};

const PROVIDER: Provider = Provider::HubSpot;

/// HUBSPOT_DEFINED association type ids.
const TASK_TO_CONTACT: u32 = 204;
const NOTE_TO_CONTACT: u32 = 202;

/// The property holding our de-duplication key on tasks and notes.
pub const DEDUP_PROPERTY: &str = "booking_dedup_key";

/// The de-duplication key of one step of one booking.
pub fn dedup_key(booking_id: &str, step: &str) -> String {
    format!("{booking_id}:{step}")
}

/// The id in HubSpot's 409 message (`"Contact already exists. Existing ID: 123"`).
pub fn existing_id_from_conflict(message: &str) -> Option<String> {
    let (_, rest) = message.split_once("Existing ID:")?;
    let id: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!id.is_empty()).then_some(id)
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A note to create at most once per key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSpec {
    pub booking_id: String,
    pub dedup_key: String,
    pub body: String,
    pub contact_id: Option<String>,
}

/// A task or note found by its key, or just created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engagement {
    pub id: String,
    pub created: bool,
    pub properties: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    properties: Map<String, Value>,
    #[serde(default)]
    new: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct Results {
    #[serde(default)]
    results: Vec<Record>,
}

#[derive(Debug, Clone)]
pub struct CrmClient {
    http: Http,
    config: HubSpotConfig,
}

impl CrmClient {
    pub fn new(http: Http, config: HubSpotConfig) -> Self {
        Self { http, config }
    }

    fn url(&self, segments: &[&str]) -> Url {
        let path = ["crm", "v3", "objects"].into_iter();
        crate::http::endpoint(&self.config.base_url, path.chain(segments.iter().copied()))
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer, ProviderError> {
        self.http
            .send(PROVIDER, request.bearer_auth(self.config.token.expose()))
            .await
    }

    async fn ok_json<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ProviderError> {
        let answer = self.send(request).await?;
        if answer.is_success() {
            answer.json()
        } else {
            Err(answer.into_error())
        }
    }

    fn contact_properties(input: &UpsertCrmContactInput) -> Map<String, Value> {
        let mut p = Map::new();
        p.insert("email".into(), json!(input.email));
        p.insert("booking_id".into(), json!(input.booking_id));
        let optional = [
            ("firstname", input.first_name.clone()),
            ("lastname", input.last_name.clone()),
            ("phone", input.phone.clone()),
            ("booking_status", input.booking_status.clone()),
            ("tour_start", input.tour_start.map(iso)),
            ("tour_type", input.tour_type.clone()),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                p.insert(name.into(), json!(value));
            }
        }
        p
    }

    /// Creates or updates the contact with this email (batch upsert on `email`).
    pub async fn upsert_contact(
        &self,
        input: &UpsertCrmContactInput,
    ) -> Result<CrmContactOutput, ProviderError> {
        let body = json!({ "inputs": [{
            "id": input.email,
            "idProperty": "email",
            "properties": Self::contact_properties(input),
        }]});
        let url = self.url(&["contacts", "batch", "upsert"]);
        let results: Results = self.ok_json(self.http.client.post(url).json(&body)).await?;
        let record =
            results
                .results
                .into_iter()
                .next()
                .ok_or_else(|| ProviderError::BadResponse {
                    provider: PROVIDER,
                    message: "batch upsert answered no result".into(),
                })?;
        Ok(CrmContactOutput {
            booking_id: input.booking_id.clone(),
            contact_id: record.id,
            created: record.new.unwrap_or(false),
        })
    }

    /// Plain create; a 409 `CONFLICT` yields the existing contact's id (`created: false`).
    pub async fn create_contact(
        &self,
        input: &UpsertCrmContactInput,
    ) -> Result<CrmContactOutput, ProviderError> {
        let body = json!({ "properties": Self::contact_properties(input) });
        let answer = self
            .send(self.http.client.post(self.url(&["contacts"])).json(&body))
            .await?;
        let output = |contact_id, created| CrmContactOutput {
            booking_id: input.booking_id.clone(),
            contact_id,
            created,
        };
        if answer.is_success() {
            let record: Record = answer.json()?;
            return Ok(output(record.id, true));
        }
        if answer.status == 409 {
            let message = serde_json::from_str::<Value>(&answer.body)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_owned))
                .unwrap_or_default();
            if let Some(id) = existing_id_from_conflict(&message) {
                return Ok(output(id, false));
            }
        }
        Err(answer.into_error())
    }

    /// Sets the booking's stage on the contact with this email.
    pub async fn update_stage(
        &self,
        input: &UpdateCrmStageInput,
    ) -> Result<UpdateCrmStageOutput, ProviderError> {
        let mut properties = Map::new();
        properties.insert("booking_status".into(), json!(input.booking_status));
        properties.insert("booking_id".into(), json!(input.booking_id));
        if let Some(stage) = &input.lifecycle_stage {
            properties.insert("lifecyclestage".into(), json!(stage));
        }
        if let Some(start) = input.tour_start {
            properties.insert("tour_start".into(), json!(iso(start)));
        }
        let mut url = self.url(&["contacts", &input.email]);
        url.query_pairs_mut().append_pair("idProperty", "email");
        let record: Record = self
            .ok_json(
                self.http
                    .client
                    .patch(url)
                    .json(&json!({ "properties": properties })),
            )
            .await?;
        Ok(UpdateCrmStageOutput {
            booking_id: input.booking_id.clone(),
            contact_id: record.id,
        })
    }

    /// The task or note (`object_type` `tasks`/`notes`) carrying this key, if any.
    pub async fn find_by_dedup_key(
        &self,
        object_type: &str,
        key: &str,
        properties: &[&str],
    ) -> Result<Option<Engagement>, ProviderError> {
        let body = json!({
            "filterGroups": [{ "filters": [
                { "propertyName": DEDUP_PROPERTY, "operator": "EQ", "value": key }
            ]}],
            "properties": properties,
            "limit": 1,
        });
        let results: Results = self
            .ok_json(
                self.http
                    .client
                    .post(self.url(&[object_type, "search"]))
                    .json(&body),
            )
            .await?;
        Ok(results.results.into_iter().next().map(|r| Engagement {
            id: r.id,
            created: false,
            properties: r.properties,
        }))
    }

    async fn create_once(
        &self,
        object_type: &str,
        key: &str,
        properties: Map<String, Value>,
        associate: Option<(&str, u32)>,
    ) -> Result<Engagement, ProviderError> {
        let wanted: Vec<&str> = properties.keys().map(String::as_str).collect();
        if let Some(found) = self.find_by_dedup_key(object_type, key, &wanted).await? {
            tracing::info!(
                object_type,
                dedup_key = key,
                id = %found.id,
                "already created by an earlier attempt"
            );
            return Ok(found);
        }
        self.create(object_type, properties, associate).await
    }

    async fn create(
        &self,
        object_type: &str,
        properties: Map<String, Value>,
        associate: Option<(&str, u32)>,
    ) -> Result<Engagement, ProviderError> {
        let mut body = json!({ "properties": properties });
        if let Some((contact_id, type_id)) = associate {
            body["associations"] = json!([{
                "to": { "id": contact_id },
                "types": [{ "associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id }],
            }]);
        }
        let record: Record = self
            .ok_json(self.http.client.post(self.url(&[object_type])).json(&body))
            .await?;
        Ok(Engagement {
            id: record.id,
            created: true,
            properties: record.properties,
        })
    }

    /// Creates the task of this booking step unless an earlier attempt did (see the module
    /// docs for the remaining race).
    pub async fn create_task(
        &self,
        input: &CreateCrmTaskInput,
    ) -> Result<CrmTaskOutput, ProviderError> {
        let key = dedup_key(&input.booking_id, &input.step);
        let mut p = Map::new();
        p.insert("hs_timestamp".into(), json!(iso(input.due_at)));
        p.insert("hs_task_subject".into(), json!(input.subject));
        p.insert("hs_task_status".into(), json!("NOT_STARTED"));
        p.insert("hs_task_type".into(), json!(input.task_type));
        p.insert("booking_id".into(), json!(input.booking_id));
        p.insert(DEDUP_PROPERTY.into(), json!(key));
        if let Some(body) = &input.body {
            p.insert("hs_task_body".into(), json!(body));
        }
        let associate = input.contact_id.as_deref().map(|id| (id, TASK_TO_CONTACT));
        let task = self.create_once("tasks", &key, p, associate).await?;
        Ok(CrmTaskOutput {
            booking_id: input.booking_id.clone(),
            task_id: task.id,
            created: task.created,
        })
    }

    /// Creates the note without searching for its key first: for a caller that has just
    /// searched, where one round trip less matters more than a rare second copy of the note.
    pub async fn create_note_unchecked(
        &self,
        note: &NoteSpec,
    ) -> Result<Engagement, ProviderError> {
        let (properties, associate) = Self::note_properties(note);
        self.create("notes", properties, associate).await
    }

    fn note_properties(note: &NoteSpec) -> (Map<String, Value>, Option<(&str, u32)>) {
        let mut p = Map::new();
        p.insert("hs_timestamp".into(), json!(iso(Utc::now())));
        p.insert("hs_note_body".into(), json!(note.body));
        p.insert("booking_id".into(), json!(note.booking_id));
        p.insert(DEDUP_PROPERTY.into(), json!(note.dedup_key));
        let associate = note.contact_id.as_deref().map(|id| (id, NOTE_TO_CONTACT));
        (p, associate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_existing_id_is_read_from_a_conflict_message() {
        assert_eq!(
            existing_id_from_conflict("Contact already exists. Existing ID: 1234"),
            Some("1234".into())
        );
        assert_eq!(
            existing_id_from_conflict("A task with x y already exists. Existing ID: 9."),
            Some("9".into())
        );
        assert_eq!(existing_id_from_conflict("Conflict"), None);
    }
}
