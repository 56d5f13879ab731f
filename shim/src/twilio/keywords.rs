//! What a lead's text asks for: a whole-message keyword, read as Twilio reads its own (the
//! text trimmed and upper-cased, then compared whole: `stop` and ` Stop ` opt out, `stop it`
//! and `STOP.` do not).
//!
//! `CANCEL` is one of Twilio's opt-out words: Twilio itself stops texting a number that sends
//! it, whatever the shim answers, so it turns texts off here too and does **not** cancel the
//! tour. Cancelling a tour by text is `X`, which no carrier or Twilio rule claims.

/// Twilio's default opt-out words: texts to the number stop.
pub const OPT_OUT: [&str; 6] = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"];
/// Confirm the tour.
pub const CONFIRM: [&str; 4] = ["C", "Y", "YES", "CONFIRM"];
/// Cancel the tour (not `CANCEL`, an opt-out word).
pub const CANCEL: [&str; 1] = ["X"];

/// What a lead's text asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// One of [`OPT_OUT`]: no more texts on any of the number's bookings.
    OptOut,
    /// One of [`CONFIRM`]: confirm the newest booking's tour.
    Confirm,
    /// [`CANCEL`]: cancel the newest booking's tour.
    Cancel,
    /// Anything else: kept for an operator, since only a person can read it.
    Other,
}

impl Reply {
    pub fn of(body: &str) -> Self {
        let word = normalise(body);
        let is = |words: &[&str]| words.contains(&word.as_str());
        if is(&OPT_OUT) {
            Self::OptOut
        } else if is(&CONFIRM) {
            Self::Confirm
        } else if is(&CANCEL) {
            Self::Cancel
        } else {
            Self::Other
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OptOut => "opt_out",
            Self::Confirm => "confirm",
            Self::Cancel => "cancel",
            Self::Other => "other",
        }
    }
}

/// The text as keywords are compared: trimmed and upper-cased.
pub fn normalise(body: &str) -> String {
    body.trim().to_uppercase()
}
