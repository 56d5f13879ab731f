//! Basic object endpoints: create, read, update, archive and list, for every object type.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::{HubspotError, PropertyProblem};
use super::schema::{ObjectType, normalise_properties};
use super::store::{
    AssociationInput, CrmObject, HubspotState, Selection, is_unique_in, requested_properties,
};
use crate::body::{JsonBody, PathParams, QueryPairs};
use crate::state::Shared;
use crate::time;

type Result<T> = std::result::Result<T, HubspotError>;

#[derive(Debug, Deserialize)]
pub struct CreateInput {
    #[serde(default)]
    pub properties: Map<String, Value>,
    #[serde(default)]
    pub associations: Vec<AssociationInput>,
}

#[derive(Debug, Deserialize)]
pub struct UpdateInput {
    pub properties: Map<String, Value>,
}

/// 409 if another live record holds a value that must be unique.
fn check_unique(
    store: &HubspotState,
    t: ObjectType,
    properties: &BTreeMap<String, String>,
    except_id: Option<&str>,
) -> Result<()> {
    let schema = store.schema(t);
    for (name, value) in properties {
        if value.is_empty() || !is_unique_in(&schema, t, name) {
            continue;
        }
        if let Some(existing) = store
            .find_by_property(t, name, value)
            .filter(|o| Some(o.id.as_str()) != except_id)
        {
            return Err(HubspotError::conflict(if t == ObjectType::Contacts {
                format!("Contact already exists. Existing ID: {}", existing.id)
            } else {
                format!(
                    "A {} with {name} {value} already exists. Existing ID: {}",
                    t.singular(),
                    existing.id
                )
            }));
        }
    }
    Ok(())
}

/// Creates a record from raw input properties; shared by create and batch upsert.
pub fn create_record(
    store: &mut HubspotState,
    t: ObjectType,
    input: &Map<String, Value>,
    associations: &[AssociationInput],
    now: DateTime<Utc>,
) -> Result<CrmObject> {
    let mut properties = normalise_properties(&store.schema(t), input)?;
    properties.retain(|_, v| !v.is_empty());
    let missing: Vec<PropertyProblem> = t
        .required_properties()
        .iter()
        .filter(|name| !properties.contains_key(**name))
        .map(|name| PropertyProblem {
            name: (*name).to_owned(),
            error: "REQUIRED_FIELD",
            message: format!("{name} is required"),
        })
        .collect();
    if !missing.is_empty() {
        return Err(HubspotError::invalid_properties(&missing));
    }
    check_unique(store, t, &properties, None)?;
    let associations = store.resolve_associations(t, associations)?;
    let id = store.allocate_id();
    properties.insert("hs_object_id".into(), id.to_string());
    properties
        .entry(t.created_property().into())
        .or_insert_with(|| time::millis(now));
    properties.insert(t.modified_property().into(), time::millis(now));
    let record = CrmObject {
        id: id.to_string(),
        object_type: t,
        properties,
        created_at: now,
        updated_at: now,
        archived: false,
        associations,
    };
    store.objects_mut(t).insert(id, record.clone());
    Ok(record)
}

/// Applies raw input properties to an existing live record; empty values clear.
pub fn update_record(
    store: &mut HubspotState,
    t: ObjectType,
    id: u64,
    input: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<CrmObject> {
    let changes = normalise_properties(&store.schema(t), input)?;
    if store.objects(t).get(&id).is_none_or(|o| o.archived) {
        return Err(HubspotError::not_found());
    }
    check_unique(store, t, &changes, Some(&id.to_string()))?;
    store
        .objects_mut(t)
        .modify(id, |record| {
            for (name, value) in changes {
                if value.is_empty() {
                    record.properties.remove(&name);
                } else {
                    record.properties.insert(name, value);
                }
            }
            record
                .properties
                .insert(t.modified_property().into(), time::millis(now));
            record.updated_at = now;
            record.clone()
        })
        .ok_or_else(HubspotError::not_found)
}

fn association_types(query: &QueryPairs) -> Result<Vec<ObjectType>> {
    requested_properties(query, "associations")
        .iter()
        .map(|name| ObjectType::parse(name))
        .collect()
}

pub async fn create(
    State(state): State<Shared>,
    PathParams(object_type, _): PathParams<String, HubspotError>,
    JsonBody(input, _): JsonBody<CreateInput, HubspotError>,
) -> Result<(StatusCode, Json<Value>)> {
    let t = ObjectType::parse(&object_type)?;
    let body = state.change(|p| {
        let store = &mut p.hubspot;
        let record = create_record(
            store,
            t,
            &input.properties,
            &input.associations,
            time::now(),
        )?;
        Ok::<_, HubspotError>(store.render(&record, Selection::AllSet, &[]))
    })?;
    Ok((StatusCode::CREATED, Json(body)))
}

pub async fn get(
    State(state): State<Shared>,
    PathParams((object_type, id), _): PathParams<(String, String), HubspotError>,
    query: QueryPairs,
) -> Result<Json<Value>> {
    let t = ObjectType::parse(&object_type)?;
    let wanted = requested_properties(&query, "properties");
    let associations = association_types(&query)?;
    let archived = query.flag("archived").unwrap_or(false);
    state.read(|p| {
        let store = &p.hubspot;
        let id = store.resolve_id(t, &id, query.get("idProperty"))?;
        let record = store
            .objects(t)
            .get(&id)
            .filter(|o| o.archived == archived)
            .ok_or_else(HubspotError::not_found)?;
        Ok(Json(store.render(
            record,
            Selection::Requested(&wanted),
            &associations,
        )))
    })
}

pub async fn update(
    State(state): State<Shared>,
    PathParams((object_type, id), _): PathParams<(String, String), HubspotError>,
    query: QueryPairs,
    JsonBody(input, _): JsonBody<UpdateInput, HubspotError>,
) -> Result<Json<Value>> {
    let t = ObjectType::parse(&object_type)?;
    state.change(|p| {
        let store = &mut p.hubspot;
        let id = store.resolve_id(t, &id, query.get("idProperty"))?;
        let record = update_record(store, t, id, &input.properties, time::now())?;
        Ok(Json(store.render(&record, Selection::AllSet, &[])))
    })
}

/// Archives (HubSpot's delete); 204 also for a record archived before.
pub async fn archive(
    State(state): State<Shared>,
    PathParams((object_type, id), _): PathParams<(String, String), HubspotError>,
) -> Result<StatusCode> {
    let t = ObjectType::parse(&object_type)?;
    state.change(|p| {
        let store = &mut p.hubspot;
        let id = store.resolve_id(t, &id, None)?;
        store.objects_mut(t).modify(id, |record| {
            if !record.archived {
                record.archived = true;
                record.updated_at = time::now();
            }
        });
        Ok(StatusCode::NO_CONTENT)
    })
}

/// Pages by record id: `after` is the last id of the previous page.
pub async fn list(
    State(state): State<Shared>,
    PathParams(object_type, _): PathParams<String, HubspotError>,
    query: QueryPairs,
) -> Result<Json<Value>> {
    let t = ObjectType::parse(&object_type)?;
    let limit = match query.get("limit").map(str::parse::<usize>) {
        None => 10,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => return Err(HubspotError::validation("limit must be between 1 and 100")),
    };
    let after: u64 = match query.get("after").map(str::parse::<u64>) {
        None => 0,
        Some(Ok(a)) => a,
        Some(Err(_)) => return Err(HubspotError::validation("after must be a record id cursor")),
    };
    let wanted = requested_properties(&query, "properties");
    let associations = association_types(&query)?;
    let archived = query.flag("archived").unwrap_or(false);
    state.read(|p| {
        let store = &p.hubspot;
        let mut page: Vec<&CrmObject> = store
            .objects(t)
            .range(after + 1..)
            .map(|(_, o)| o)
            .filter(|o| o.archived == archived)
            .take(limit + 1)
            .collect();
        let more = page.len() > limit;
        page.truncate(limit);
        let results: Vec<Value> = page
            .iter()
            .map(|o| store.render(o, Selection::Requested(&wanted), &associations))
            .collect();
        let mut body = json!({ "results": results });
        if more && let Some(last) = page.last() {
            body["paging"] = json!({ "next": { "after": last.id } });
        }
        Ok(Json(body))
    })
}
