//! The CRM records, their associations, and how the API prints them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::error::HubspotError;
use super::schema::{ObjectType, PropertyDefinition, builtin_properties};
use super::table::ObjectTable;
use crate::time;

/// Ids start high, like real portal ids, so they never look like list positions.
const FIRST_ID: u64 = 100_001;

/// A CRM record (contact, task or note) as the inspection API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrmObject {
    pub id: String,
    pub object_type: ObjectType,
    /// Every stored value (HubSpot keeps all values as strings), system ones included.
    pub properties: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived: bool,
    pub associations: Vec<CrmAssociation>,
}

impl CrmObject {
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// An association created together with (or onto) a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmAssociation {
    pub to_object_type: ObjectType,
    pub to_id: String,
    pub association_type_id: u32,
    pub category: String,
}

/// HUBSPOT_DEFINED association types between the kept object types.
const ASSOCIATION_TYPES: &[(ObjectType, ObjectType, u32, &str)] = &[
    (
        ObjectType::Tasks,
        ObjectType::Contacts,
        204,
        "task_to_contact",
    ),
    (
        ObjectType::Contacts,
        ObjectType::Tasks,
        203,
        "contact_to_task",
    ),
    (
        ObjectType::Notes,
        ObjectType::Contacts,
        202,
        "note_to_contact",
    ),
    (
        ObjectType::Contacts,
        ObjectType::Notes,
        201,
        "contact_to_note",
    ),
];

fn association_label(from: ObjectType, to: ObjectType) -> Option<(u32, &'static str)> {
    ASSOCIATION_TYPES
        .iter()
        .find(|(f, t, _, _)| *f == from && *t == to)
        .map(|(_, _, id, label)| (*id, *label))
}

#[derive(Debug, Clone, Deserialize)]
pub struct AssociationInput {
    pub to: AssociationTarget,
    pub types: Vec<AssociationTypeInput>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AssociationTarget {
    /// HubSpot accepts the id as string or number.
    pub id: Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationTypeInput {
    pub association_category: String,
    pub association_type_id: u32,
}

/// Which properties a response carries.
pub enum Selection<'a> {
    /// The type's defaults plus these (unset ones print as `null`).
    Requested(&'a [String]),
    /// The defaults plus every property that has a value (create/update responses).
    AllSet,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct HubspotState {
    pub next_id: u64,
    pub contacts: ObjectTable,
    pub tasks: ObjectTable,
    pub notes: ObjectTable,
    /// Properties created through `POST /crm/v3/properties/{objectType}`.
    pub custom_properties: BTreeMap<ObjectType, Vec<PropertyDefinition>>,
}

impl HubspotState {
    pub fn objects(&self, t: ObjectType) -> &ObjectTable {
        match t {
            ObjectType::Contacts => &self.contacts,
            ObjectType::Tasks => &self.tasks,
            ObjectType::Notes => &self.notes,
        }
    }

    pub fn objects_mut(&mut self, t: ObjectType) -> &mut ObjectTable {
        match t {
            ObjectType::Contacts => &mut self.contacts,
            ObjectType::Tasks => &mut self.tasks,
            ObjectType::Notes => &mut self.notes,
        }
    }

    pub fn schema(&self, t: ObjectType) -> Vec<PropertyDefinition> {
        let mut schema = builtin_properties(t);
        schema.extend(
            self.custom_properties
                .get(&t)
                .into_iter()
                .flatten()
                .cloned(),
        );
        schema
    }

    pub fn live(&self, t: ObjectType) -> impl Iterator<Item = &CrmObject> {
        self.objects(t).values().filter(|o| !o.archived)
    }

    /// The live records whose `property` equals `value` case-insensitively, in id order.
    pub fn live_with_value<'a>(
        &'a self,
        t: ObjectType,
        property: &str,
        value: &str,
    ) -> impl Iterator<Item = (u64, &'a CrmObject)> + 'a {
        self.objects(t)
            .with_value(property, value)
            .filter(|(_, o)| !o.archived)
    }

    /// A live record whose `property` equals `value` (emails compare case-insensitively).
    pub fn find_by_property(
        &self,
        t: ObjectType,
        property: &str,
        value: &str,
    ) -> Option<&CrmObject> {
        self.live_with_value(t, property, value)
            .map(|(_, o)| o)
            .find(|o| {
                o.properties.get(property).is_some_and(|v| {
                    if property == "email" {
                        v.eq_ignore_ascii_case(value)
                    } else {
                        v == value
                    }
                })
            })
    }

    /// Resolves a path id: the record id, or a unique property's value with `idProperty`.
    pub fn resolve_id(
        &self,
        t: ObjectType,
        raw: &str,
        id_property: Option<&str>,
    ) -> Result<u64, HubspotError> {
        match id_property.filter(|p| *p != "hs_object_id") {
            None => raw
                .parse::<u64>()
                .ok()
                .filter(|id| self.objects(t).contains_key(id))
                .ok_or_else(HubspotError::not_found),
            Some(property) => {
                if !self.is_unique_property(t, property) {
                    return Err(HubspotError::validation(format!(
                        "{property} is not a unique property of {} and cannot be used as idProperty.",
                        t.name()
                    )));
                }
                self.find_by_property(t, property, raw)
                    .and_then(|o| o.id.parse().ok())
                    .ok_or_else(HubspotError::not_found)
            }
        }
    }

    pub fn is_unique_property(&self, t: ObjectType, property: &str) -> bool {
        is_unique_in(&self.schema(t), t, property)
    }

    pub fn allocate_id(&mut self) -> u64 {
        self.next_id = self.next_id.max(FIRST_ID - 1) + 1;
        self.next_id
    }

    /// Checks association inputs of a new `from` record against the type table and the store.
    pub fn resolve_associations(
        &self,
        from: ObjectType,
        inputs: &[AssociationInput],
    ) -> Result<Vec<CrmAssociation>, HubspotError> {
        let mut out = Vec::new();
        for input in inputs {
            let to_id = match &input.to.id {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => {
                    return Err(HubspotError::validation(format!(
                        "Invalid association target id: {other}"
                    )));
                }
            };
            if input.types.is_empty() {
                return Err(HubspotError::validation(
                    "Each association needs at least one type.",
                ));
            }
            for ty in &input.types {
                if !matches!(
                    ty.association_category.as_str(),
                    "HUBSPOT_DEFINED" | "USER_DEFINED" | "INTEGRATOR_DEFINED"
                ) {
                    return Err(HubspotError::validation(format!(
                        "Invalid associationCategory: {}",
                        ty.association_category
                    )));
                }
                let to_type = ASSOCIATION_TYPES
                    .iter()
                    .find(|(f, _, id, _)| *f == from && *id == ty.association_type_id)
                    .filter(|_| ty.association_category == "HUBSPOT_DEFINED")
                    .map(|(_, to, _, _)| *to)
                    .ok_or_else(|| {
                        HubspotError::validation(format!(
                            "association type id {} ({}) is not valid for {} associations",
                            ty.association_type_id,
                            ty.association_category,
                            from.singular()
                        ))
                    })?;
                let exists = to_id
                    .parse::<u64>()
                    .ok()
                    .and_then(|id| self.objects(to_type).get(&id))
                    .is_some_and(|o| !o.archived);
                if !exists {
                    return Err(HubspotError::validation(format!(
                        "One or more associations are invalid: {} {to_id} does not exist.",
                        to_type.singular()
                    )));
                }
                out.push(CrmAssociation {
                    to_object_type: to_type,
                    to_id: to_id.clone(),
                    association_type_id: ty.association_type_id,
                    category: ty.association_category.clone(),
                });
            }
        }
        Ok(out)
    }

    /// Associations of `obj` towards `to`, in both directions (a task's association to a
    /// contact also shows on the contact, with the reverse type).
    fn associations_of(&self, obj: &CrmObject, to: ObjectType) -> Vec<Value> {
        let mut out: Vec<Value> = obj
            .associations
            .iter()
            .filter(|a| a.to_object_type == to)
            .map(|a| {
                let label = association_label(obj.object_type, to)
                    .map(|(_, l)| l)
                    .unwrap_or("unlabeled");
                json!({ "id": a.to_id, "type": label })
            })
            .collect();
        if let Some((_, label)) = association_label(obj.object_type, to) {
            for other in self.live(to) {
                if other
                    .associations
                    .iter()
                    .any(|a| a.to_object_type == obj.object_type && a.to_id == obj.id)
                {
                    out.push(json!({ "id": other.id, "type": label }));
                }
            }
        }
        out
    }

    /// The record as the API prints it.
    pub fn render(
        &self,
        obj: &CrmObject,
        selection: Selection<'_>,
        associations: &[ObjectType],
    ) -> Value {
        let mut properties = Map::new();
        for name in obj.object_type.default_properties() {
            properties.insert((*name).to_owned(), json_value(obj.properties.get(*name)));
        }
        match selection {
            Selection::Requested(names) => {
                for name in names {
                    properties.insert(name.clone(), json_value(obj.properties.get(name)));
                }
            }
            Selection::AllSet => {
                for (name, value) in &obj.properties {
                    properties.insert(name.clone(), Value::String(value.clone()));
                }
            }
        }
        let mut out = json!({
            "id": obj.id,
            "properties": properties,
            "createdAt": time::millis(obj.created_at),
            "updatedAt": time::millis(obj.updated_at),
            "archived": obj.archived,
        });
        if obj.archived {
            out["archivedAt"] = Value::String(time::millis(obj.updated_at));
        }
        if !associations.is_empty() {
            let mut assoc = Map::new();
            for t in associations {
                let results = self.associations_of(obj, *t);
                if !results.is_empty() {
                    assoc.insert(t.name().to_owned(), json!({ "results": results }));
                }
            }
            if !assoc.is_empty() {
                out["associations"] = Value::Object(assoc);
            }
        }
        out
    }
}

/// Whether `property` must be unique among `t`'s records, given `t`'s schema (contact emails
/// always are).
pub fn is_unique_in(schema: &[PropertyDefinition], t: ObjectType, property: &str) -> bool {
    (t == ObjectType::Contacts && property == "email")
        || schema.iter().any(|d| d.name == property && d.unique)
}

fn json_value(v: Option<&String>) -> Value {
    v.map_or(Value::Null, |s| Value::String(s.clone()))
}

/// `properties=a,b&properties=c` as a list.
pub fn requested_properties(query: &crate::body::QueryPairs, name: &str) -> Vec<String> {
    query
        .all(name)
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
