//! The checks `mail/send` applies before accepting a message. SendGrid reports every
//! problem it finds in one response, so these collect errors instead of stopping at the first.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::error::FieldError;
use super::model::{MailAddress, MailContent, MailPersonalization, SentEmail};
use crate::email;

const MAX_RECIPIENTS: usize = 1000;
const MAX_CATEGORIES: usize = 10;
const MAX_SEND_AT_AHEAD_SECS: i64 = 72 * 3600;
const MAX_CUSTOM_ARGS_BYTES: usize = 10_000;

const FROM_REQUIRED: &str = "The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter.  e.g. {\"email\" : \"example@example.com\"}  or {\"email\" : \"example@example.com\", \"name\" : \"Example Recipient\"}.";

struct Collector(Vec<FieldError>);

impl Collector {
    fn push(&mut self, message: impl Into<String>, field: impl Into<String>, anchor: &str) {
        self.0.push(FieldError::new(message, field, anchor));
    }
}

/// A field's value; `null` counts as absent (serializers often emit `null` for "none").
fn present<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|v| !v.is_null())
}

fn string(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_owned)
}

fn address(v: &Value) -> Option<MailAddress> {
    let email = v.get("email")?.as_str()?.to_owned();
    Some(MailAddress {
        email,
        name: string(v.get("name")),
    })
}

/// Validates a list of recipient objects; returns the valid ones.
fn recipients(errors: &mut Collector, list: Option<&Value>, field: &str) -> Vec<MailAddress> {
    let Some(list) = list else { return Vec::new() };
    let Some(items) = list.as_array() else {
        errors.push("Invalid type. Expected: array.", field, "personalizations");
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(j, item)| match address(item) {
            Some(a) if email::is_valid(&a.email) => Some(a),
            _ => {
                errors.push(
                    "Does not contain a valid address.",
                    format!("{field}.{j}.email"),
                    "personalizations",
                );
                None
            }
        })
        .collect()
}

/// Custom args must be string to string; SendGrid refuses other JSON types.
fn custom_args(errors: &mut Collector, v: Option<&Value>, field: &str) -> BTreeMap<String, String> {
    let Some(v) = v else { return BTreeMap::new() };
    let Some(map) = v.as_object() else {
        errors.push("Invalid type. Expected: object.", field, "custom_args");
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for (key, value) in map {
        match value.as_str() {
            Some(s) => {
                out.insert(key.clone(), s.to_owned());
            }
            None => errors.push(
                format!(
                    "Invalid type. Expected: string, given: {}.",
                    json_type(value)
                ),
                format!("{field}.{key}"),
                "custom_args",
            ),
        }
    }
    let size: usize = out.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > MAX_CUSTOM_ARGS_BYTES {
        errors.push(
            "The custom_args field must not exceed 10,000 bytes.",
            field,
            "custom_args",
        );
    }
    out
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn send_at(
    errors: &mut Collector,
    v: Option<&Value>,
    field: &str,
    now: DateTime<Utc>,
) -> Option<i64> {
    let v = v?;
    match v.as_i64() {
        Some(t) if t > now.timestamp() + MAX_SEND_AT_AHEAD_SECS => {
            errors.push(
                "The send_at parameter cannot be scheduled more than 72 hours in advance.",
                field,
                "send_at",
            );
            None
        }
        Some(t) => Some(t),
        None => {
            errors.push(
                "The send_at parameter must be a valid UNIX timestamp.",
                field,
                "send_at",
            );
            None
        }
    }
}

fn personalization(
    errors: &mut Collector,
    i: usize,
    p: &Map<String, Value>,
    now: DateTime<Utc>,
) -> MailPersonalization {
    let base = format!("personalizations.{i}");
    let to_given = present(p, "to")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if !to_given {
        errors.push(
            "The to array is required for all personalization objects, and must have at least one email object with a valid email address.",
            format!("{base}.to"),
            "personalizations.to",
        );
    }
    let to = recipients(
        errors,
        present(p, "to").filter(|_| to_given),
        &format!("{base}.to"),
    );
    let cc = recipients(errors, present(p, "cc"), &format!("{base}.cc"));
    let bcc = recipients(errors, present(p, "bcc"), &format!("{base}.bcc"));

    let mut seen = BTreeSet::new();
    for (list, name) in [(&to, "to"), (&cc, "cc"), (&bcc, "bcc")] {
        if let Some(dup) = list.iter().find(|a| !seen.insert(a.email.to_lowercase())) {
            errors.push(
                format!(
                    "Each email address in the personalization block should be unique between to, cc, and bcc. We found the first duplicate instance of [{}] in the {base}.{name} field.",
                    dup.email
                ),
                format!("{base}.{name}"),
                "personalizations",
            );
            break;
        }
    }

    let dynamic_template_data = present(p, "dynamic_template_data").cloned();
    if dynamic_template_data
        .as_ref()
        .is_some_and(|d| !d.is_object())
    {
        errors.push(
            "Invalid type. Expected: object.",
            format!("{base}.dynamic_template_data"),
            "dynamic_template_data",
        );
    }
    MailPersonalization {
        to,
        cc,
        bcc,
        subject: string(present(p, "subject")),
        dynamic_template_data,
        custom_args: custom_args(
            errors,
            present(p, "custom_args"),
            &format!("{base}.custom_args"),
        ),
        send_at: send_at(
            errors,
            present(p, "send_at"),
            &format!("{base}.send_at"),
            now,
        ),
    }
}

fn contents(errors: &mut Collector, v: Option<&Value>) -> Vec<MailContent> {
    let Some(items) = v.and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let content_type = string(item.get("type")).unwrap_or_default();
        let value = string(item.get("value")).unwrap_or_default();
        if content_type.is_empty() {
            errors.push(
                "The content type must be a string at least one character in length.",
                format!("content.{i}.type"),
                "content.type",
            );
        }
        if value.is_empty() {
            errors.push(
                "The content value must be a string at least one character in length.",
                format!("content.{i}.value"),
                "content.value",
            );
        }
        out.push(MailContent {
            content_type,
            value,
        });
    }
    if let Some(pos) = out.iter().position(|c| c.content_type == "text/plain")
        && pos != 0
    {
        errors.push(
            "If present, text/plain content must be first, followed by text/html, followed by any other content.",
            "content",
            "content",
        );
    }
    out
}

/// Accepts a request body or lists everything wrong with it.
pub fn validate(
    body: &Value,
    message_id: String,
    now: DateTime<Utc>,
) -> Result<SentEmail, Vec<FieldError>> {
    let mut errors = Collector(Vec::new());
    let Some(body) = body.as_object() else {
        return Err(vec![FieldError::new("Bad Request", "", "")]);
    };

    let personalizations: Vec<MailPersonalization> = match present(body, "personalizations")
        .and_then(Value::as_array)
    {
        Some(list) if !list.is_empty() => list
            .iter()
            .enumerate()
            .map(|(i, p)| match p.as_object() {
                Some(p) => personalization(&mut errors, i, p, now),
                None => {
                    errors.push(
                        "Invalid type. Expected: object.",
                        format!("personalizations.{i}"),
                        "personalizations",
                    );
                    personalization(&mut errors, i, &Map::new(), now)
                }
            })
            .collect(),
        _ => {
            errors.push(
                "The personalizations field is required and must have at least one personalization.",
                "personalizations",
                "personalizations",
            );
            Vec::new()
        }
    };
    let recipient_count: usize = personalizations
        .iter()
        .map(|p| p.to.len() + p.cc.len() + p.bcc.len())
        .sum();
    if recipient_count > MAX_RECIPIENTS {
        errors.push(
            "The total number of recipients must be no more than 1000.",
            "personalizations",
            "personalizations",
        );
    }

    let from = match present(body, "from") {
        None => {
            errors.push(FROM_REQUIRED, "from.email", "from");
            None
        }
        Some(f) => match address(f) {
            Some(a) if email::is_valid(&a.email) => Some(a),
            _ => {
                errors.push(
                    "The from email does not contain a valid address.",
                    "from.email",
                    "from",
                );
                None
            }
        },
    };
    let reply_to = present(body, "reply_to").and_then(address);
    if reply_to
        .as_ref()
        .is_some_and(|a| !email::is_valid(&a.email))
    {
        errors.push(
            "The reply_to email does not contain a valid address.",
            "reply_to.email",
            "reply_to",
        );
    }

    let template_id = string(present(body, "template_id"));
    if present(body, "template_id").is_some() && template_id.as_deref().is_none_or(str::is_empty) {
        errors.push(
            "The template_id must be a non-empty string.",
            "template_id",
            "template_id",
        );
    }
    let content = contents(&mut errors, present(body, "content"));
    let subject = string(present(body, "subject"));
    if template_id.is_none() {
        if content.is_empty() {
            errors.push(
                "Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block. We typically suggest both text/plain and text/html blocks are included, but only one block is required.",
                "content",
                "content",
            );
        }
        let every_personalization_has_subject = !personalizations.is_empty()
            && personalizations
                .iter()
                .all(|p| p.subject.as_deref().is_some_and(|s| !s.is_empty()));
        if subject.as_deref().is_none_or(str::is_empty) && !every_personalization_has_subject {
            errors.push(
                "The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.",
                "subject",
                "subject",
            );
        }
    }

    let categories: Vec<String> = match present(body, "categories") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            let list: Vec<String> = items
                .iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect();
            if list.len() != items.len() {
                errors.push("Categories must be strings.", "categories", "categories");
            }
            if list.len() > MAX_CATEGORIES {
                errors.push(
                    "Too many categories. Categories should be limited to 10.",
                    "categories",
                    "categories",
                );
            }
            if list.iter().any(|c| c.len() > 255) {
                errors.push(
                    "A category cannot have more than 255 characters.",
                    "categories",
                    "categories",
                );
            }
            if list.iter().collect::<BTreeSet<_>>().len() != list.len() {
                errors.push("The categories must be unique.", "categories", "categories");
            }
            list
        }
        Some(_) => {
            errors.push("Invalid type. Expected: array.", "categories", "categories");
            Vec::new()
        }
    };
    let top_custom_args = custom_args(&mut errors, present(body, "custom_args"), "custom_args");
    let top_send_at = send_at(&mut errors, present(body, "send_at"), "send_at", now);

    match (errors.0.is_empty(), from) {
        (true, Some(from)) => Ok(SentEmail {
            message_id,
            received_at: now,
            from,
            reply_to,
            subject,
            template_id,
            content,
            categories,
            custom_args: top_custom_args,
            send_at: top_send_at,
            personalizations,
        }),
        _ => Err(errors.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(body: Value) -> Vec<String> {
        validate(&body, "id".into(), Utc::now())
            .unwrap_err()
            .into_iter()
            .filter_map(|e| e.field)
            .collect()
    }

    #[test]
    fn template_message_is_accepted() {
        let body = json!({
            "personalizations": [{"to": [{"email": "lead@example.com", "name": null}], "dynamic_template_data": {"a": 1}, "custom_args": {"booking_id": "b1"}, "send_at": null}],
            "from": {"email": "tours@example.com", "name": "Tours"},
            "template_id": "d-123",
            "categories": ["confirmation"]
        });
        let mail = validate(&body, "m1".into(), Utc::now()).unwrap();
        assert_eq!(mail.to_emails(), vec!["lead@example.com"]);
        assert_eq!(mail.custom_arg("booking_id"), Some("b1"));
    }

    #[test]
    fn all_problems_are_reported_together() {
        let f = fields(
            json!({"personalizations": [{"to": [{"email": "nope"}], "custom_args": {"n": 1}}]}),
        );
        assert!(
            f.contains(&"personalizations.0.to.0.email".to_owned()),
            "{f:?}"
        );
        assert!(
            f.contains(&"personalizations.0.custom_args.n".to_owned()),
            "{f:?}"
        );
        assert!(f.contains(&"from.email".to_owned()), "{f:?}");
        assert!(f.contains(&"content".to_owned()), "{f:?}");
        assert!(f.contains(&"subject".to_owned()), "{f:?}");
    }

    #[test]
    fn missing_personalizations_and_duplicates() {
        assert_eq!(
            fields(json!({"from": {"email": "a@b.co"}, "template_id": "d-1"})),
            vec!["personalizations"]
        );
        let f = fields(json!({
            "personalizations": [{"to": [{"email": "a@b.co"}], "cc": [{"email": "A@b.co"}]}],
            "from": {"email": "x@b.co"}, "template_id": "d-1"
        }));
        assert_eq!(f, vec!["personalizations.0.cc"]);
    }
}
