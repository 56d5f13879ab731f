//! Property schema endpoints: `GET`/`POST /crm/v3/properties/{objectType}`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::error::HubspotError;
use super::schema::{NewProperty, ObjectType};
use crate::body::{JsonBody, PathParams};
use crate::state::Shared;

pub async fn list(
    State(state): State<Shared>,
    PathParams(object_type, _): PathParams<String, HubspotError>,
) -> Result<Json<Value>, HubspotError> {
    let t = ObjectType::parse(&object_type)?;
    let results: Vec<Value> =
        state.read(|p| p.hubspot.schema(t).iter().map(|d| d.render()).collect());
    Ok(Json(json!({ "results": results })))
}

pub async fn get(
    State(state): State<Shared>,
    PathParams((object_type, name), _): PathParams<(String, String), HubspotError>,
) -> Result<Json<Value>, HubspotError> {
    let t = ObjectType::parse(&object_type)?;
    state
        .read(|p| p.hubspot.schema(t).into_iter().find(|d| d.name == name))
        .map(|d| Json(d.render()))
        .ok_or_else(HubspotError::not_found)
}

pub async fn create(
    State(state): State<Shared>,
    PathParams(object_type, _): PathParams<String, HubspotError>,
    JsonBody(input, _): JsonBody<NewProperty, HubspotError>,
) -> Result<(StatusCode, Json<Value>), HubspotError> {
    let t = ObjectType::parse(&object_type)?;
    let definition = input.into_definition()?;
    state.change(|p| {
        if p.hubspot
            .schema(t)
            .iter()
            .any(|d| d.name == definition.name)
        {
            return Err(HubspotError::conflict(format!(
                "A property named '{}' already exists.",
                definition.name
            )));
        }
        let rendered = definition.render();
        p.hubspot
            .custom_properties
            .entry(t)
            .or_default()
            .push(definition);
        Ok((StatusCode::CREATED, Json(rendered)))
    })
}
