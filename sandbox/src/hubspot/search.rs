//! `POST /crm/v3/objects/{objectType}/search`: filter groups (OR of ANDs), sorts, paging.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::HubspotError;
use super::schema::{ObjectType, PropertyDefinition, PropertyKind, parse_datetime};
use super::store::{CrmObject, HubspotState, Selection};
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

/// A filter's test, parsed once per request: a filter lacking a value its operator needs is
/// rejected whether or not any record reaches it.
enum Condition {
    Equals(String),
    /// Also holds for a record without the property, as in HubSpot.
    NotEquals(String),
    /// LT, LTE, GT, GTE: the stored value compares to the given one as one of `allowed`.
    Ordered {
        allowed: &'static [Ordering],
        value: String,
    },
    Between(String, String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Has,
    NotHas,
    ContainsToken(String),
    NotContainsToken(String),
}

struct ParsedFilter<'a> {
    property: &'a str,
    kind: PropertyKind,
    condition: Condition,
}

impl<'a> ParsedFilter<'a> {
    fn parse(filter: &'a Filter, def: &PropertyDefinition) -> Result<Self, HubspotError> {
        use Ordering::{Equal, Greater, Less};
        let value = || {
            filter.value.as_ref().map(text).ok_or_else(|| {
                HubspotError::validation(format!("Operator {} requires a value.", filter.operator))
            })
        };
        let token = || Ok::<_, HubspotError>(value()?.to_lowercase().replace('*', ""));
        let values = || filter.values.iter().map(text).collect();
        let ordered = |allowed, value| Condition::Ordered { allowed, value };
        let condition = match filter.operator.as_str() {
            "EQ" => Condition::Equals(value()?),
            "NEQ" => Condition::NotEquals(value()?),
            "LT" => ordered(&[Less], value()?),
            "LTE" => ordered(&[Less, Equal], value()?),
            "GT" => ordered(&[Greater], value()?),
            "GTE" => ordered(&[Greater, Equal], value()?),
            "BETWEEN" => {
                let high = filter.high_value.as_ref().map(text).ok_or_else(|| {
                    HubspotError::validation("Operator BETWEEN requires a highValue.")
                })?;
                Condition::Between(value()?, high)
            }
            "IN" => Condition::In(values()),
            "NOT_IN" => Condition::NotIn(values()),
            "HAS_PROPERTY" => Condition::Has,
            "NOT_HAS_PROPERTY" => Condition::NotHas,
            "CONTAINS_TOKEN" => Condition::ContainsToken(token()?),
            "NOT_CONTAINS_TOKEN" => Condition::NotContainsToken(token()?),
            other => {
                return Err(HubspotError::validation(format!(
                    "Unsupported filter operator: {other}"
                )));
            }
        };
        Ok(Self {
            property: &filter.property_name,
            kind: def.kind,
            condition,
        })
    }

    /// The value this filter needs the property to equal, when that can be looked up in the
    /// index: an `EQ` on a property compared as case-insensitive text.
    fn indexed_value(&self) -> Option<&str> {
        match (&self.condition, self.kind) {
            (_, PropertyKind::Number | PropertyKind::Datetime | PropertyKind::Date) => None,
            (Condition::Equals(value), _) => Some(value),
            _ => None,
        }
    }

    fn matches(&self, obj: &CrmObject) -> bool {
        let stored = obj.property(self.property);
        let cmp = |w: &str| stored.and_then(|s| compare(self.kind, s, w));
        let equal = |w: &String| cmp(w) == Some(Ordering::Equal);
        let has_token = |t: &str| stored.is_some_and(|s| s.to_lowercase().contains(t));
        match &self.condition {
            Condition::Equals(value) => equal(value),
            Condition::NotEquals(value) => !equal(value),
            Condition::Ordered { allowed, value } => {
                cmp(value).is_some_and(|o| allowed.contains(&o))
            }
            Condition::Between(low, high) => {
                matches!(cmp(low), Some(Ordering::Greater | Ordering::Equal))
                    && matches!(cmp(high), Some(Ordering::Less | Ordering::Equal))
            }
            Condition::In(values) => values.iter().any(equal),
            Condition::NotIn(values) => !values.iter().any(equal),
            Condition::Has => stored.is_some(),
            Condition::NotHas => stored.is_none(),
            Condition::ContainsToken(token) => has_token(token),
            Condition::NotContainsToken(token) => !has_token(token),
        }
    }
}

/// When every filter group has an `EQ` the index can answer, the live records any of them can
/// match, in id order (as a scan would find them); `None` means scan everything.
fn indexed_candidates<'a>(
    store: &'a HubspotState,
    t: ObjectType,
    groups: &[Vec<ParsedFilter<'_>>],
) -> Option<BTreeMap<u64, &'a CrmObject>> {
    if groups.is_empty() {
        return None;
    }
    let mut candidates = BTreeMap::new();
    for group in groups {
        let (property, value) = group
            .iter()
            .find_map(|f| Some((f.property, f.indexed_value()?)))?;
        candidates.extend(store.live_with_value(t, property, value));
    }
    Some(candidates)
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
        let groups = request
            .filter_groups
            .iter()
            .map(|group| {
                group
                    .filters
                    .iter()
                    .map(|f| ParsedFilter::parse(f, def(&f.property_name)?))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let query = request.query.as_ref().map(|q| q.to_lowercase());
        let wanted = |obj: &CrmObject| {
            let any_group =
                groups.is_empty() || groups.iter().any(|g| g.iter().all(|f| f.matches(obj)));
            any_group
                && query.as_ref().is_none_or(|q| {
                    obj.properties
                        .values()
                        .any(|v| v.to_lowercase().contains(q))
                })
        };
        let mut hits: Vec<&CrmObject> = match indexed_candidates(store, t, &groups) {
            Some(candidates) => candidates.into_values().filter(|o| wanted(o)).collect(),
            None => store.live(t).filter(|o| wanted(o)).collect(),
        };
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
