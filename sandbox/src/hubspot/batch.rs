//! `POST /crm/v3/objects/{objectType}/batch/upsert`: create or update by a unique property.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::HubspotError;
use super::objects::{create_record, update_record};
use super::schema::ObjectType;
use super::store::Selection;
use crate::body::{JsonBody, PathParams};
use crate::state::Shared;
use crate::time;

const MAX_INPUTS: usize = 100;

#[derive(Debug, Deserialize)]
pub struct UpsertBatch {
    pub inputs: Vec<UpsertInput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpsertInput {
    pub id: String,
    pub id_property: Option<String>,
    #[serde(default)]
    pub properties: Map<String, Value>,
}

/// All or nothing: the batch runs against a copy of the store that replaces the original
/// only when every input succeeded, as HubSpot rejects a batch with one invalid input.
pub async fn upsert(
    State(state): State<Shared>,
    PathParams(object_type, _): PathParams<String, HubspotError>,
    JsonBody(batch, _): JsonBody<UpsertBatch, HubspotError>,
) -> Result<Json<Value>, HubspotError> {
    let t = ObjectType::parse(&object_type)?;
    if batch.inputs.is_empty() || batch.inputs.len() > MAX_INPUTS {
        return Err(HubspotError::validation(format!(
            "Batch input must contain between 1 and {MAX_INPUTS} inputs."
        )));
    }
    let mut seen = BTreeSet::new();
    let duplicates: Vec<&str> = batch
        .inputs
        .iter()
        .filter(|i| !seen.insert(i.id.to_lowercase()))
        .map(|i| i.id.as_str())
        .collect();
    if !duplicates.is_empty() {
        return Err(HubspotError::validation(format!(
            "Duplicate IDs found in batch input: [{}]. IDs must be unique",
            duplicates.join(", ")
        )));
    }
    let started = time::now();
    state.change(|p| {
        let mut store = p.hubspot.clone();
        let mut results = Vec::new();
        for input in &batch.inputs {
            let id_property = input
                .id_property
                .as_deref()
                .ok_or_else(|| HubspotError::validation("idProperty is required for upsert inputs."))?;
            if !store.is_unique_property(t, id_property) {
                return Err(HubspotError::validation(format!(
                    "{id_property} is not a unique property of {} and cannot be used as idProperty.",
                    t.name()
                )));
            }
            let now = time::now();
            let existing = store
                .find_by_property(t, id_property, &input.id)
                .and_then(|o| o.id.parse::<u64>().ok());
            let (record, new) = match existing {
                Some(id) => (update_record(&mut store, t, id, &input.properties, now)?, false),
                None => {
                    let mut properties = input.properties.clone();
                    properties.insert(id_property.to_owned(), Value::String(input.id.clone()));
                    (create_record(&mut store, t, &properties, &[], now)?, true)
                }
            };
            let mut rendered = store.render(&record, Selection::AllSet, &[]);
            rendered["new"] = Value::Bool(new);
            results.push(rendered);
        }
        p.hubspot = store;
        Ok(Json(json!({
            "status": "COMPLETE",
            "results": results,
            "startedAt": time::millis(started),
            "completedAt": time::millis(time::now()),
        })))
    })
}
