//! Which provider holds a calendar, and which calendar: `google:<calendarId>` or
//! `microsoft:<userId>`.
//!
//! Bookings carry a calendar as one string (`calendar_id` in every calendar activity input),
//! so the workflow never learns the provider. On that wire a Google calendar is written bare
//! (`primary`, `team@group.calendar.google.com`), exactly as histories recorded before
//! Microsoft support wrote it, and a Microsoft one with its prefix. Configuration is stricter:
//! there every entry names its provider.

use std::fmt;

/// A calendar of one provider.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CalendarRef {
    /// A Google Calendar v3 calendar id (`primary` is the account's own).
    Google(String),
    /// The default calendar of a Microsoft 365 mailbox, by user id or user principal name.
    Microsoft(String),
}

/// Why a calendar reference was refused. Fatal wherever it appears: configuration refuses to
/// start, and an activity given one fails without retrying (the same string fails again).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarRefError {
    #[error("{0:?} names no provider: write `google:<calendarId>` or `microsoft:<userId>`")]
    NoProvider(String),
    #[error("{0:?} names an unknown calendar provider: expected `google` or `microsoft`")]
    UnknownProvider(String),
    #[error("{0:?} has an empty calendar or user id")]
    Empty(String),
    #[error("{0:?} contains whitespace or control characters")]
    BadCharacters(String),
}

const GOOGLE: &str = "google";
const MICROSOFT: &str = "microsoft";

impl CalendarRef {
    /// A configuration entry: the provider prefix is required.
    pub fn parse_config(text: &str) -> Result<Self, CalendarRefError> {
        let text = text.trim();
        let Some((provider, id)) = text.split_once(':') else {
            return Err(CalendarRefError::NoProvider(text.to_owned()));
        };
        let make = match provider {
            GOOGLE => CalendarRef::Google,
            MICROSOFT => CalendarRef::Microsoft,
            _ => return Err(CalendarRefError::UnknownProvider(text.to_owned())),
        };
        Self::checked(text, make(id.to_owned()))
    }

    /// An activity input's `calendar_id`: `microsoft:` and `google:` prefixes are read, and
    /// anything else is a Google calendar id (what every history before the prefix wrote).
    pub fn from_wire(text: &str) -> Result<Self, CalendarRefError> {
        let parsed = match text.split_once(':') {
            Some((MICROSOFT, user)) => CalendarRef::Microsoft(user.to_owned()),
            Some((GOOGLE, id)) => CalendarRef::Google(id.to_owned()),
            _ => CalendarRef::Google(text.to_owned()),
        };
        Self::checked(text, parsed)
    }

    fn checked(text: &str, parsed: Self) -> Result<Self, CalendarRefError> {
        let id = parsed.id();
        if id.is_empty() {
            return Err(CalendarRefError::Empty(text.to_owned()));
        }
        if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(CalendarRefError::BadCharacters(text.to_owned()));
        }
        Ok(parsed)
    }

    /// The provider's own id: the Google calendar id or the Microsoft user.
    pub fn id(&self) -> &str {
        match self {
            CalendarRef::Google(id) | CalendarRef::Microsoft(id) => id,
        }
    }

    /// The string calendar activities carry (see the module doc).
    pub fn to_wire(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for CalendarRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CalendarRef::Google(id) => f.write_str(id),
            CalendarRef::Microsoft(user) => write!(f, "{MICROSOFT}:{user}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_entries_name_their_provider() {
        assert_eq!(
            CalendarRef::parse_config("google:primary"),
            Ok(CalendarRef::Google("primary".into()))
        );
        assert_eq!(
            CalendarRef::parse_config(" microsoft:ann@contoso.test "),
            Ok(CalendarRef::Microsoft("ann@contoso.test".into()))
        );
        assert!(matches!(
            CalendarRef::parse_config("primary"),
            Err(CalendarRefError::NoProvider(_))
        ));
        assert!(matches!(
            CalendarRef::parse_config("outlook:ann"),
            Err(CalendarRefError::UnknownProvider(_))
        ));
        assert!(matches!(
            CalendarRef::parse_config("microsoft:"),
            Err(CalendarRefError::Empty(_))
        ));
        assert!(matches!(
            CalendarRef::parse_config("google:a b"),
            Err(CalendarRefError::BadCharacters(_))
        ));
    }

    #[test]
    fn the_wire_form_keeps_google_ids_bare_so_recorded_histories_read_the_same() {
        for text in ["primary", "team@group.calendar.google.com"] {
            let parsed = CalendarRef::from_wire(text).unwrap();
            assert_eq!(parsed, CalendarRef::Google(text.into()));
            assert_eq!(parsed.to_wire(), text);
        }
        let ms = CalendarRef::from_wire("microsoft:ann@contoso.test").unwrap();
        assert_eq!(ms, CalendarRef::Microsoft("ann@contoso.test".into()));
        assert_eq!(ms.to_wire(), "microsoft:ann@contoso.test");
        assert_eq!(
            CalendarRef::from_wire("google:primary").unwrap().to_wire(),
            "primary"
        );
        assert!(CalendarRef::from_wire("microsoft:").is_err());
        assert!(CalendarRef::from_wire("").is_err());
    }
}
