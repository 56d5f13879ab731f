//! The lead's mobile number as an E.164 value, parsed with libphonenumber's metadata (the
//! `phonenumber` crate) rather than a pattern: it knows each country's lengths and prefixes, so
//! `+44 20 7946 0000` and `+442079460000` are the same number and `+44 1` is none.

/// A valid phone number in E.164 form (`+` and up to 15 digits), the only form Twilio's `To`
/// accepts without guessing a country.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

crate::checked_text!(PhoneNumber);

impl PhoneNumber {
    /// Parses an international number. Leads type spaces, dashes, dots and brackets; they are
    /// fine. A number without its country code is refused: there is no country to assume.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let candidate = raw.trim();
        if candidate.is_empty() {
            return Err("must not be empty".into());
        }
        if !candidate.starts_with('+') {
            return Err(format!(
                "{candidate:?} has no country code: write it in international form, e.g. +1 415 555 0123"
            ));
        }
        let parsed = phonenumber::parse(None, candidate)
            .map_err(|e| format!("{candidate:?} is not a phone number ({e})"))?;
        if !phonenumber::is_valid(&parsed) {
            return Err(format!(
                "{candidate:?} is not a valid number for its country code"
            ));
        }
        Ok(Self(
            parsed.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_forms_of_one_number_are_one_value() {
        let forms = ["+44 20 7946 0000", "+442079460000", " +44 (20) 7946-0000 "];
        for form in forms {
            assert_eq!(PhoneNumber::parse(form).unwrap().as_str(), "+442079460000");
        }
        assert_eq!(
            PhoneNumber::parse("+1 415.555.0132").unwrap().as_str(),
            "+14155550132"
        );
    }

    #[test]
    fn a_number_that_is_not_one_says_why() {
        for (raw, why) in [
            ("", "must not be empty"),
            ("020 7946 0000", "no country code"),
            ("+44 1", "too short"),
            ("+1 415 123 4567", "not a valid number"),
            ("+1 call me", "not a phone number"),
        ] {
            let err = PhoneNumber::parse(raw).unwrap_err();
            assert!(err.contains(why), "{raw:?}: {err}");
        }
    }
}
