//! Events of a user's default calendar: create (with `transactionId` de-duplication),
//! list (extended-property filter, paging), get, patch and delete.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::call::GraphCall;
use super::error::{GraphError, ODATA_JSON};
use super::model::{EventChanges, StoredGraphEvent, new_change_key, new_event_id};
use super::{odata, query_value, user_key};
use crate::body::{JsonBody, QueryPairs};
use crate::percent::segment;
use crate::state::Shared;
use crate::time;

type Result<T> = std::result::Result<T, GraphError>;

/// Real Graph's default page size for event lists.
const DEFAULT_TOP: usize = 10;
const MAX_TOP: usize = 1000;

/// A JSON answer with Graph's OData content type.
pub fn odata_json(status: StatusCode, value: Value) -> Response {
    let mut response = (status, Json(value)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ODATA_JSON));
    response
}

/// `@odata.context` of a user's events.
pub fn events_context(root: &str, user: &str) -> String {
    format!(
        "{root}/$metadata#users('{}')/calendar/events",
        segment(user)
    )
}

/// The property id of a `$expand`, if any; other expansions are refused.
pub fn expand_param(query: &QueryPairs) -> Result<Option<String>> {
    query
        .get("$expand")
        .map(|raw| {
            odata::parse_property_expand(raw).ok_or_else(|| {
                GraphError::bad_request(
                    "ErrorInvalidUrlQuery",
                    format!("Parsing OData Select and Expand failed: unsupported $expand '{raw}'."),
                )
            })
        })
        .transpose()
}

fn check_span(event: &StoredGraphEvent) -> Result<()> {
    if event.end_at < event.start_at {
        return Err(GraphError::invalid_parameter(
            "The end time of the event must be later than its start time.",
        ));
    }
    Ok(())
}

pub async fn create(
    State(state): State<Shared>,
    GraphCall { path: user, root }: GraphCall<String>,
    JsonBody(body, _): JsonBody<Value, GraphError>,
) -> Result<Response> {
    let changes = EventChanges::parse(&body)?;
    if changes.start.is_none() || changes.end.is_none() {
        return Err(GraphError::invalid_request(
            "The event must have both a start and an end time.",
        ));
    }
    let event = state.change(|p| -> Result<Value> {
        let mailbox = p.microsoft.mailbox_mut(&user);
        if let Some(tx) = &changes.transaction_id
            && let Some(existing) = mailbox
                .events
                .values()
                .find(|e| !e.deleted && e.transaction_id.as_deref() == Some(tx.as_str()))
        {
            return Ok(existing.to_json(&user, None));
        }
        let now = time::now();
        let id = new_event_id();
        let mut event = StoredGraphEvent {
            id: id.clone(),
            created_at: now,
            updated_at: now,
            change_key: new_change_key(),
            transaction_id: changes.transaction_id.clone(),
            subject: String::new(),
            body_type: "text".into(),
            body_content: String::new(),
            start_at: now,
            end_at: now,
            location: String::new(),
            attendees: Vec::new(),
            show_as: "busy".into(),
            ical_uid: format!(
                "040000008200E00074C5B7101A82E00800000000{}",
                uuid::Uuid::new_v4()
                    .simple()
                    .to_string()
                    .to_ascii_uppercase()
            ),
            extended: Vec::new(),
            deleted: false,
            change_seq: 0,
            order: 0,
        };
        changes.apply(&mut event);
        check_span(&event)?;
        mailbox.change_seq += 1;
        mailbox.next_order += 1;
        event.change_seq = mailbox.change_seq;
        event.order = mailbox.next_order;
        let rendered = event.to_json(&user, None);
        mailbox.events.insert(id, event);
        Ok(rendered)
    })?;
    Ok(entity(StatusCode::CREATED, event, &root, &user))
}

/// One event as Graph answers it, with the `@odata.context` of an entity.
fn entity(status: StatusCode, mut event: Value, root: &str, user: &str) -> Response {
    if let Value::Object(map) = &mut event {
        map.insert(
            "@odata.context".into(),
            json!(format!("{}/$entity", events_context(root, user))),
        );
    }
    odata_json(status, event)
}

pub async fn list(
    State(state): State<Shared>,
    GraphCall { path: user, root }: GraphCall<String>,
    query: QueryPairs,
) -> Result<Response> {
    let filter = query
        .get("$filter")
        .map(|raw| {
            odata::parse_property_filter(raw).ok_or_else(|| {
                GraphError::bad_request(
                    "ErrorInvalidUrlQueryFilter",
                    "The query filter contains one or more invalid nodes.",
                )
            })
        })
        .transpose()?;
    let expand = expand_param(&query)?;
    let top = match query.get("$top") {
        None => DEFAULT_TOP,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(MAX_TOP),
            _ => {
                return Err(GraphError::bad_request(
                    "BadRequest",
                    format!("Invalid $top value '{raw}'."),
                ));
            }
        },
    };
    let skip = match query.get("$skip") {
        None => 0,
        Some(raw) => raw.parse::<usize>().map_err(|_| {
            GraphError::bad_request("BadRequest", format!("Invalid $skip value '{raw}'."))
        })?,
    };
    let (page, more) = state.read(|p| {
        let mut matching: Vec<&StoredGraphEvent> = p
            .microsoft
            .mailboxes
            .get(&user_key(&user))
            .map(|m| {
                m.events
                    .values()
                    .filter(|e| !e.deleted)
                    .filter(|e| {
                        filter.as_ref().is_none_or(|(id, value)| {
                            e.extended
                                .iter()
                                .any(|x| odata::same_property_id(&x.id, id) && &x.value == value)
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        matching.sort_by_key(|e| e.order);
        let total = matching.len();
        let page: Vec<Value> = matching
            .into_iter()
            .skip(skip)
            .take(top)
            .map(|e| e.to_json(&user, expand.as_deref()))
            .collect();
        let more = skip + page.len() < total;
        (page, more)
    });
    let mut body = json!({
        "@odata.context": events_context(&root, &user),
        "value": page,
    });
    if more {
        let mut next = format!("{root}/users/{}/calendar/events?", segment(&user));
        for name in ["$filter", "$expand"] {
            if let Some(v) = query.get(name) {
                next.push_str(&format!("{name}={}&", query_value(v)));
            }
        }
        next.push_str(&format!("$top={top}&$skip={}", skip + page_len(&body)));
        body["@odata.nextLink"] = json!(next);
    }
    Ok(odata_json(StatusCode::OK, body))
}

fn page_len(body: &Value) -> usize {
    body["value"].as_array().map_or(0, Vec::len)
}

pub async fn get(
    State(state): State<Shared>,
    GraphCall {
        path: (user, id),
        root,
    }: GraphCall<(String, String)>,
    query: QueryPairs,
) -> Result<Response> {
    let expand = expand_param(&query)?;
    let event = state
        .read(|p| {
            p.microsoft
                .mailboxes
                .get(&user_key(&user))
                .and_then(|m| m.events.get(&id))
                .filter(|e| !e.deleted)
                .map(|e| e.to_json(&user, expand.as_deref()))
        })
        .ok_or_else(GraphError::not_found)?;
    Ok(entity(StatusCode::OK, event, &root, &user))
}

/// Only the given properties change; extended properties are upserted by id.
pub async fn patch(
    State(state): State<Shared>,
    GraphCall {
        path: (user, id),
        root,
    }: GraphCall<(String, String)>,
    JsonBody(body, _): JsonBody<Value, GraphError>,
) -> Result<Response> {
    let mut changes = EventChanges::parse(&body)?;
    // Not writable after creation.
    changes.transaction_id = None;
    let event = state.change(|p| -> Result<Value> {
        let patch = |event: &mut StoredGraphEvent| {
            changes.apply(event);
            check_span(event)
        };
        let mailbox = p.microsoft.mailbox_mut(&user);
        let event = mailbox
            .change_event(&id, patch)
            .ok_or_else(GraphError::not_found)??;
        Ok(event.to_json(&user, None))
    })?;
    Ok(entity(StatusCode::OK, event, &root, &user))
}

/// 204; the event stays as a tombstone for delta. Again (or unknown): 404.
pub async fn delete(
    State(state): State<Shared>,
    GraphCall {
        path: (user, id), ..
    }: GraphCall<(String, String)>,
) -> Result<StatusCode> {
    state.change(|p| -> Result<StatusCode> {
        let delete = |event: &mut StoredGraphEvent| -> Result<()> {
            event.deleted = true;
            Ok(())
        };
        let mailbox = p.microsoft.mailbox_mut(&user);
        mailbox
            .change_event(&id, delete)
            .ok_or_else(GraphError::not_found)??;
        Ok(StatusCode::NO_CONTENT)
    })
}
