//! The records of one object type, with an index from every property value to its records.
//!
//! Looking a contact up by email, or a note by its de-duplication key, used to scan every
//! record: O(records) per booking step, which made the sandbox a visible share of a
//! 10,000-booking benchmark. The index makes those lookups O(matches). It is kept beside the
//! records and never serialised: snapshots hold only the records, and loading one rebuilds it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::store::CrmObject;

/// Records by id, plus property name → lower-cased value → ids (archived records included:
/// lookups filter on `archived` as the scans did).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectTable {
    records: BTreeMap<u64, CrmObject>,
    index: HashMap<String, HashMap<String, BTreeSet<u64>>>,
}

/// The index key of a value. HubSpot compares text case-insensitively; callers needing an
/// exact or ASCII-only comparison filter the candidates again, which is sound because equal
/// values under either comparison have equal lower-cased forms.
fn key(value: &str) -> String {
    value.to_lowercase()
}

impl ObjectTable {
    pub fn get(&self, id: &u64) -> Option<&CrmObject> {
        self.records.get(id)
    }

    pub fn contains_key(&self, id: &u64) -> bool {
        self.records.contains_key(id)
    }

    pub fn values(&self) -> impl Iterator<Item = &CrmObject> {
        self.records.values()
    }

    pub fn range(
        &self,
        range: std::ops::RangeFrom<u64>,
    ) -> impl Iterator<Item = (&u64, &CrmObject)> {
        self.records.range(range)
    }

    /// Records (archived ones too) whose `property` equals `value` case-insensitively, in id
    /// order. Empty values are never stored, so an empty `value` matches nothing.
    pub fn with_value<'a>(
        &'a self,
        property: &str,
        value: &str,
    ) -> impl Iterator<Item = (u64, &'a CrmObject)> + 'a {
        self.index
            .get(property)
            .and_then(|values| values.get(&key(value)))
            .into_iter()
            .flatten()
            .filter_map(|id| Some((*id, self.records.get(id)?)))
    }

    /// Stores `record` under `id`, replacing (and returning) what was there.
    pub fn insert(&mut self, id: u64, record: CrmObject) -> Option<CrmObject> {
        let old = self.remove(&id);
        self.add_to_index(id, &record);
        self.records.insert(id, record);
        old
    }

    pub fn remove(&mut self, id: &u64) -> Option<CrmObject> {
        let old = self.records.remove(id)?;
        self.remove_from_index(*id, &old);
        Some(old)
    }

    /// Changes a record in place and re-indexes it; `None` if there is no such record.
    pub fn modify<R>(&mut self, id: u64, change: impl FnOnce(&mut CrmObject) -> R) -> Option<R> {
        let mut record = self.records.remove(&id)?;
        self.remove_from_index(id, &record);
        let out = change(&mut record);
        self.add_to_index(id, &record);
        self.records.insert(id, record);
        Some(out)
    }

    fn add_to_index(&mut self, id: u64, record: &CrmObject) {
        for (name, value) in record.properties.iter().filter(|(_, v)| !v.is_empty()) {
            self.index
                .entry(name.clone())
                .or_default()
                .entry(key(value))
                .or_default()
                .insert(id);
        }
    }

    fn remove_from_index(&mut self, id: u64, record: &CrmObject) {
        for (name, value) in record.properties.iter().filter(|(_, v)| !v.is_empty()) {
            let Some(values) = self.index.get_mut(name) else {
                continue;
            };
            let k = key(value);
            if let Some(ids) = values.get_mut(&k) {
                ids.remove(&id);
                if ids.is_empty() {
                    values.remove(&k);
                }
            }
        }
    }
}

impl From<BTreeMap<u64, CrmObject>> for ObjectTable {
    fn from(records: BTreeMap<u64, CrmObject>) -> Self {
        let mut table = Self::default();
        for (id, record) in records {
            table.insert(id, record);
        }
        table
    }
}

impl Serialize for ObjectTable {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.records.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ObjectTable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BTreeMap::<u64, CrmObject>::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::hubspot::schema::ObjectType;

    fn contact(id: u64, email: &str) -> CrmObject {
        CrmObject {
            id: id.to_string(),
            object_type: ObjectType::Contacts,
            properties: BTreeMap::from([("email".to_owned(), email.to_owned())]),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            archived: false,
            associations: Vec::new(),
        }
    }

    fn ids(table: &ObjectTable, property: &str, value: &str) -> Vec<String> {
        table
            .with_value(property, value)
            .map(|(_, o)| o.id.clone())
            .collect()
    }

    #[test]
    fn lookups_ignore_case_and_follow_every_change() {
        let mut table = ObjectTable::default();
        table.insert(2, contact(2, "Ada@Example.com"));
        table.insert(1, contact(1, "ada@example.com"));
        assert_eq!(ids(&table, "email", "ADA@example.COM"), ["1", "2"]);

        table.modify(2, |c| {
            c.properties
                .insert("email".into(), "grace@example.com".into());
        });
        assert_eq!(ids(&table, "email", "ada@example.com"), ["1"]);
        assert_eq!(ids(&table, "email", "grace@example.com"), ["2"]);

        table.insert(1, contact(1, "alan@example.com"));
        assert!(ids(&table, "email", "ada@example.com").is_empty());

        table.remove(&2);
        assert!(ids(&table, "email", "grace@example.com").is_empty());
        assert!(ids(&table, "email", "").is_empty());
        assert!(ids(&table, "phone", "alan@example.com").is_empty());
    }

    #[test]
    fn a_loaded_snapshot_is_indexed_and_saves_as_the_plain_records() {
        let mut table = ObjectTable::default();
        table.insert(7, contact(7, "ada@example.com"));
        let saved = serde_json::to_value(&table).unwrap();
        assert_eq!(saved, serde_json::to_value(&table.records).unwrap());

        let loaded: ObjectTable = serde_json::from_value(saved).unwrap();
        assert_eq!(loaded, table);
        assert_eq!(ids(&loaded, "email", "Ada@example.com"), ["7"]);
    }
}
