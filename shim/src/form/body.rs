//! The booking form as sent: the schema the OpenAPI document shows. [`super::parse`] reads the
//! JSON key by key instead (to name every problem at once, not the first serde meets), so the
//! tests below hold the two together: what this type writes, the parser takes, and each key it
//! requires is one the parser asks for by name.

use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BookingForm {
    /// The form service's id of the submission: a resubmission lands on the same booking.
    #[schema(min_length = 1, pattern = "^[A-Za-z0-9_-]{1,95}$")]
    pub submission_id: String,
    /// Defaults to `form-<submission_id>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z0-9_-]{1,100}$")]
    pub booking_id: Option<String>,
    pub kind: FormKind,
    pub lead: FormLead,
    #[schema(pattern = "^[A-Za-z0-9._:@+-]{1,128}$")]
    pub property_id: String,
    #[schema(pattern = "^[A-Za-z0-9._:@+-]{1,128}$")]
    pub agent_id: String,
    /// Local time with its UTC offset; must be in the future (not expressible in the schema).
    pub start: DateTime<FixedOffset>,
    /// After start, at most 24 hours later.
    pub end: DateTime<FixedOffset>,
    /// IANA zone name, kept for the lead's emails.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64)]
    pub timezone: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FormKind {
    PrivateViewing,
    OpenHouse,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FormLead {
    #[schema(format = Email)]
    pub email: String,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*\\S[^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: String,
    /// Any form; one that does not parse turns texts off (a warning, not an error).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 40, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub phone: Option<String>,
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::Value;
    use utoipa::PartialSchema;

    use super::*;
    use crate::form::parse;

    fn sample() -> BookingForm {
        let paris = FixedOffset::east_opt(3600).unwrap();
        BookingForm {
            submission_id: "sub-1".into(),
            booking_id: Some("bk-1".into()),
            kind: FormKind::OpenHouse,
            lead: FormLead {
                email: "ada@example.com".into(),
                name: "Ada".into(),
                phone: Some("+44 20 7946 0000".into()),
            },
            property_id: "prop-7".into(),
            agent_id: "agent-3".into(),
            start: paris.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap(),
            end: paris.with_ymd_and_hms(2026, 12, 1, 15, 30, 0).unwrap(),
            timezone: Some("Europe/Paris".into()),
        }
    }

    fn problems(body: &Value) -> Result<(), Vec<String>> {
        let now = Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
        parse(&serde_json::to_vec(body).unwrap(), now, "r")
            .map(drop)
            .map_err(|errors| errors.into_iter().map(|e| e.field).collect())
    }

    /// The `required` list of a derived schema.
    fn required<T: PartialSchema>() -> Vec<String> {
        let schema = serde_json::to_value(T::schema()).unwrap();
        serde_json::from_value(schema["required"].clone()).unwrap()
    }

    #[test]
    fn what_the_schema_describes_the_parser_takes() {
        let full = serde_json::to_value(sample()).unwrap();
        assert_eq!(problems(&full), Ok(()));
        for kind in [FormKind::PrivateViewing, FormKind::OpenHouse] {
            let mut body = full.clone();
            body["kind"] = serde_json::to_value(kind).unwrap();
            assert_eq!(problems(&body), Ok(()), "{kind:?}");
        }
        // Every optional key may go.
        let mut bare = full.clone();
        for key in ["booking_id", "timezone"] {
            bare.as_object_mut().unwrap().remove(key);
        }
        bare["lead"].as_object_mut().unwrap().remove("phone");
        assert_eq!(problems(&bare), Ok(()));
    }

    #[test]
    fn each_key_the_schema_requires_the_parser_asks_for_by_name() {
        let full = serde_json::to_value(sample()).unwrap();
        let top = required::<BookingForm>();
        assert_eq!(top.len(), 7, "{top:?}");
        for key in top {
            let mut body = full.clone();
            body.as_object_mut().unwrap().remove(&key);
            assert_eq!(problems(&body), Err(vec![key]));
        }
        for key in required::<FormLead>() {
            let mut body = full.clone();
            body["lead"].as_object_mut().unwrap().remove(&key);
            assert_eq!(problems(&body), Err(vec![format!("lead.{key}")]));
        }
    }
}
