//! `POST /crm/v3/objects/{objectType}/search`: filter groups (OR of ANDs), sorts, paging.

use std::cmp::Ordering;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::HubspotError;
use super::schema::{ObjectType, PropertyDefinition, PropertyKind, parse_datetime};
use super::store::{CrmObject, Selection};
use crate::body::{JsonBody, PathParams};
use crate::state::Shared;

const MAX_LIMIT: usize = 200;
const MAX_GROUPS: usize = 5;
const MAX_FILTERS_PER_GROUP: usize = 6;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SearchRequest {
    pub filter_groups: Vec<FilterGroup>,
    pub sorts: Vec<Value>,
    pub query: Option<String>,
    pub properties: Vec<String>,
    pub limit: Option<usize>,
    pub after: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FilterGroup {
    pub filters: Vec<Filter>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    pub property_name: String,
    pub operator: String,
    #[serde(default)]
    pub value: Option<Value>,
    #[serde(default)]
    pub high_value: Option<Value>,
    #[serde(default)]
    pub values: Vec<Value>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Numbers and datetimes compare by value, everything else as case-insensitive text.
fn compare(kind: PropertyKind, stored: &str, wanted: &str) -> Option<Ordering> {
    match kind {
        PropertyKind::Number => stored
            .parse::<f64>()
            .ok()?
            .partial_cmp(&wanted.parse::<f64>().ok()?),
        PropertyKind::Datetime | PropertyKind::Date => {
            Some(parse_datetime(stored)?.cmp(&parse_datetime(wanted)?))
        }
        _ => Some(stored.to_lowercase().cmp(&wanted.to_lowercase())),
    }
}

fn matches(
    filter: &Filter,
    def: &PropertyDefinition,
    obj: &CrmObject,
) -> Result<bool, HubspotError> {
    let stored = obj.property(&filter.property_name);
    let wanted = filter.value.as_ref().map(text);
    let need_value = || {
        wanted.clone().ok_or_else(|| {
            HubspotError::validation(format!("Operator {} requires a value.", filter.operator))
        })
    };
    let cmp = |w: &str| stored.and_then(|s| compare(def.kind, s, w));
    Ok(match filter.operator.as_str() {
        "EQ" => cmp(&need_value()?) == Some(Ordering::Equal),
        "NEQ" => cmp(&need_value()?) != Some(Ordering::Equal),
        "LT" => cmp(&need_value()?) == Some(Ordering::Less),
        "LTE" => matches!(cmp(&need_value()?), Some(Ordering::Less | Ordering::Equal)),
        "GT" => cmp(&need_value()?) == Some(Ordering::Greater),
        "GTE" => matches!(
            cmp(&need_value()?),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        "BETWEEN" => {
            let high = filter.high_value.as_ref().map(text).ok_or_else(|| {
                HubspotError::validation("Operator BETWEEN requires a highValue.")
            })?;
            matches!(
                cmp(&need_value()?),
                Some(Ordering::Greater | Ordering::Equal)
            ) && matches!(cmp(&high), Some(Ordering::Less | Ordering::Equal))
        }
        "IN" => filter
            .values
            .iter()
            .any(|v| cmp(&text(v)) == Some(Ordering::Equal)),
        "NOT_IN" => !filter
            .values
            .iter()
            .any(|v| cmp(&text(v)) == Some(Ordering::Equal)),
        "HAS_PROPERTY" => stored.is_some(),
        "NOT_HAS_PROPERTY" => stored.is_none(),
        "CONTAINS_TOKEN" => {
            let token = need_value()?.to_lowercase().replace('*', "");
            stored.is_some_and(|s| s.to_lowercase().contains(&token))
        }
        "NOT_CONTAINS_TOKEN" => {
            let token = need_value()?.to_lowercase().replace('*', "");
            !stored.is_some_and(|s| s.to_lowercase().contains(&token))
        }
        other => {
            return Err(HubspotError::validation(format!(
                "Unsupported filter operator: {other}"
            )));
        }
    })
}

/// `sorts` entries are either `"prop"` / `"-prop"` or `{propertyName, direction}`.
fn sort_keys(sorts: &[Value]) -> Result<Vec<(String, bool)>, HubspotError> {
    sorts
        .iter()
        .map(|s| match s {
            Value::String(name) => Ok(match name.strip_prefix('-') {
                Some(n) => (n.to_owned(), false),
                None => (name.clone(), true),
            }),
            Value::Object(o) => {
                let name = o
                    .get("propertyName")
                    .and_then(Value::as_str)
                    .ok_or_else(|| HubspotError::validation("sorts need a propertyName"))?;
                let ascending = o.get("direction").and_then(Value::as_str) != Some("DESCENDING");
                Ok((name.to_owned(), ascending))
            }
            _ => Err(HubspotError::validation("Invalid sort")),
        })
        .collect()
}

pub async fn search(
    State(state): State<Shared>,
    PathParams(object_type, _): PathParams<String, HubspotError>,
    JsonBody(request, _): JsonBody<SearchRequest, HubspotError>,
) -> Result<Json<Value>, HubspotError> {
    let t = ObjectType::parse(&object_type)?;
    let limit = request.limit.unwrap_or(10);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(HubspotError::validation(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    if request.filter_groups.len() > MAX_GROUPS
        || request
            .filter_groups
            .iter()
            .any(|g| g.filters.len() > MAX_FILTERS_PER_GROUP)
    {
        return Err(HubspotError::validation(format!(
            "Too many filters: at most {MAX_GROUPS} filterGroups of {MAX_FILTERS_PER_GROUP} filters each."
        )));
    }
    let offset: usize = match &request.after {
        None => 0,
        Some(v) => text(v)
            .parse()
            .map_err(|_| HubspotError::validation("after must be a paging cursor"))?,
    };
    let sorts = sort_keys(&request.sorts)?;
    state.read(|p| {
        let store = &p.hubspot;
        let schema = store.schema(t);
        let def = |name: &str| {
            schema.iter().find(|d| d.name == name).ok_or_else(|| {
                HubspotError::validation(format!(
                    "Property \"{name}\" does not exist on {}",
                    t.name()
                ))
            })
        };
        for group in &request.filter_groups {
            for filter in &group.filters {
                def(&filter.property_name)?;
            }
        }
        let query = request.query.as_ref().map(|q| q.to_lowercase());
        let mut hits = Vec::new();
        for obj in store.live(t) {
            let mut any_group = request.filter_groups.is_empty();
            for group in &request.filter_groups {
                let mut all = true;
                for filter in &group.filters {
                    all &= matches(filter, def(&filter.property_name)?, obj)?;
                }
                any_group |= all;
            }
            let query_ok = query.as_ref().is_none_or(|q| {
                obj.properties
                    .values()
                    .any(|v| v.to_lowercase().contains(q))
            });
            if any_group && query_ok {
                hits.push(obj);
            }
        }
        for (name, ascending) in sorts.iter().rev() {
            let kind = def(name)?.kind;
            hits.sort_by(|a, b| {
                let ord = match (a.property(name), b.property(name)) {
                    (Some(x), Some(y)) => compare(kind, x, y).unwrap_or(Ordering::Equal),
                    (x, y) => x.is_some().cmp(&y.is_some()).reverse(),
                };
                if *ascending { ord } else { ord.reverse() }
            });
        }
        let total = hits.len();
        let results: Vec<Value> = hits
            .iter()
            .skip(offset)
            .take(limit)
            .map(|o| store.render(o, Selection::Requested(&request.properties), &[]))
            .collect();
        let next = offset + results.len();
        let mut body = json!({ "total": total, "results": results });
        if next < total {
            body["paging"] = json!({ "next": { "after": next.to_string() } });
        }
        Ok(Json(body))
    })
}
