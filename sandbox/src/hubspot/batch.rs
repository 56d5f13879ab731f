//! `POST /crm/v3/objects/{objectType}/batch/upsert`: create or update by a unique property.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::HubspotError;
use super::objects::{create_record, update_record};
use super::schema::ObjectType;
use super::store::{CrmObject, HubspotState, Selection};
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

/// All or nothing, as HubSpot rejects a batch with one invalid input: every record the batch
/// touches is remembered as it was, and put back if a later input fails. (Copying the whole
/// store instead made each upsert O(contacts), and the sandbox the bottleneck of a 10,000-booking
/// benchmark.)
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
        let store = &mut p.hubspot;
        let next_id = store.next_id;
        let mut touched = Vec::new();
        match upsert_all(store, t, &batch.inputs, &mut touched) {
            Ok(results) => Ok(Json(json!({
                "status": "COMPLETE",
                "results": results,
                "startedAt": time::millis(started),
                "completedAt": time::millis(time::now()),
            }))),
            Err(error) => {
                for (id, before) in touched.into_iter().rev() {
                    match before {
                        Some(record) => store.objects_mut(t).insert(id, record),
                        None => store.objects_mut(t).remove(&id),
                    };
                }
                store.next_id = next_id;
                Err(error)
            }
        }
    })
}

/// Applies the inputs in order, recording in `touched` each record's id and its state before the
/// batch (`None`: the batch created it).
fn upsert_all(
    store: &mut HubspotState,
    t: ObjectType,
    inputs: &[UpsertInput],
    touched: &mut Vec<(u64, Option<CrmObject>)>,
) -> Result<Vec<Value>, HubspotError> {
    let mut results = Vec::new();
    for input in inputs {
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
            Some(id) => {
                touched.push((id, store.objects(t).get(&id).cloned()));
                (update_record(store, t, id, &input.properties, now)?, false)
            }
            None => {
                let mut properties = input.properties.clone();
                properties.insert(id_property.to_owned(), Value::String(input.id.clone()));
                let record = create_record(store, t, &properties, &[], now)?;
                if let Ok(id) = record.id.parse::<u64>() {
                    touched.push((id, None));
                }
                (record, true)
            }
        };
        let mut rendered = store.render(&record, Selection::AllSet, &[]);
        rendered["new"] = Value::Bool(new);
        results.push(rendered);
    }
    Ok(results)
}
