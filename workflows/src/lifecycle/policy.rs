//! The follow-up cadence as data: which emails go out when, and when a human is asked to call.
//!
//! Operators tune cadence without a deploy, and tests run a 24-hour sequence in seconds, so
//! nothing here is a constant in code. Every field has a production default; a JSON policy may
//! override any subset of fields and the rest keep their defaults.

use std::collections::BTreeSet;
use std::fmt;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

/// A non-negative span of whole seconds, written `{"secs": 86400}` so a policy stays readable in
/// the Temporal UI. Negative spans cannot be expressed at all, which is one check fewer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Span {
    pub secs: u64,
}

impl Span {
    /// Longer spans are almost certainly a typo (milliseconds given as seconds); refusing them
    /// also keeps every date computation far from chrono's range limits.
    pub const MAX: Span = Span::days(366);

    pub const fn secs(secs: u64) -> Self {
        Self { secs }
    }

    pub const fn minutes(minutes: u64) -> Self {
        Self::secs(minutes * 60)
    }

    pub const fn hours(hours: u64) -> Self {
        Self::secs(hours * 3600)
    }

    pub const fn days(days: u64) -> Self {
        Self::hours(days * 24)
    }

    pub fn is_zero(self) -> bool {
        self.secs == 0
    }

    /// `None` only for spans beyond what chrono represents, which a validated policy never has.
    pub fn to_time_delta(self) -> Option<TimeDelta> {
        i64::try_from(self.secs)
            .ok()
            .and_then(TimeDelta::try_seconds)
    }
}

/// The compact form used in step keys and summaries: `24h`, `90m`, `45s`.
impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.secs {
            0 => f.write_str("0s"),
            s if s % 3600 == 0 => write!(f, "{}h", s / 3600),
            s if s % 60 == 0 => write!(f, "{}m", s / 60),
            s => write!(f, "{s}s"),
        }
    }
}

/// The whole cadence of a booking, fixed when its workflow starts and carried in its state.
/// `Default` is the production cadence.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FollowUpPolicy {
    pub pending: PendingPolicy,
    pub confirmed: ConfirmedPolicy,
    pub questionnaire: QuestionnairePolicy,
    pub preparation: PreparationPolicy,
    pub reschedule: ReschedulePolicy,
    pub cancellation: CancellationPolicy,
    pub completion: CompletionPolicy,
    pub ledger: LedgerEmailPolicy,
}

/// Emails of the slot ledger path: waitlisted, seat granted, slot unavailable (refused).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LedgerEmailPolicy {
    pub waitlisted_template: String,
    pub seat_granted_template: String,
    pub unavailable_template: String,
}

impl Default for LedgerEmailPolicy {
    fn default() -> Self {
        Self {
            waitlisted_template: "open-house-waitlisted".into(),
            seat_granted_template: "open-house-seat-granted".into(),
            unavailable_template: "slot-unavailable-alternatives".into(),
        }
    }
}

/// While the lead has not confirmed: the ask goes out at once, then reminders, then a human.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PendingPolicy {
    pub ask_template: String,
    pub reminder_template: String,
    /// Measured from when the booking was made. A reminder that would land after the tour has
    /// started is not planned: asking to confirm a tour that is under way helps nobody.
    pub reminders_after: Vec<Span>,
    /// Measured from when the booking was made; a sales rep gets a CRM task to call the lead.
    pub call_task_after: Span,
    pub call_task_subject: String,
}

impl Default for PendingPolicy {
    fn default() -> Self {
        Self {
            ask_template: "ask-to-confirm".into(),
            reminder_template: "confirm-reminder".into(),
            reminders_after: vec![Span::hours(4)],
            call_task_after: Span::hours(24),
            call_task_subject: "Call the lead: tour booking not confirmed after 24 hours".into(),
        }
    }
}

/// Once confirmed: the confirmation (directions, parking, questionnaire link) and reminders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfirmedPolicy {
    pub confirmation_template: String,
    pub reminder_template: String,
    /// Measured back from the tour start.
    pub reminders_before: Vec<Span>,
}

impl Default for ConfirmedPolicy {
    fn default() -> Self {
        Self {
            confirmation_template: "tour-confirmation".into(),
            reminder_template: "tour-reminder".into(),
            reminders_before: vec![Span::hours(24), Span::hours(1)],
        }
    }
}

/// "Please fill the questionnaire" reminders: only while confirmed and not yet visited.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuestionnairePolicy {
    pub reminder_template: String,
    /// Measured back from the tour start.
    pub reminders_before: Vec<Span>,
}

impl Default for QuestionnairePolicy {
    fn default() -> Self {
        Self {
            reminder_template: "questionnaire-reminder".into(),
            reminders_before: vec![Span::hours(72), Span::hours(48)],
        }
    }
}

/// Replaces the questionnaire reminders once the lead has opened the questionnaire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PreparationPolicy {
    pub template: String,
    /// Send one at once when the visit is seen (or at confirmation, if the lead visited while
    /// the booking was still pending).
    pub send_on_visit: bool,
    /// Measured back from the tour start.
    pub reminders_before: Vec<Span>,
}

impl Default for PreparationPolicy {
    fn default() -> Self {
        Self {
            template: "tour-preparation".into(),
            send_on_visit: true,
            reminders_before: vec![Span::hours(12)],
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReschedulePolicy {
    pub notice_template: String,
}

impl Default for ReschedulePolicy {
    fn default() -> Self {
        Self {
            notice_template: "tour-rescheduled".into(),
        }
    }
}

/// The one feedback/rebook email a cancelled lead receives; nothing follows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CancellationPolicy {
    pub template: String,
}

impl Default for CancellationPolicy {
    fn default() -> Self {
        Self {
            template: "tour-cancelled".into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompletionPolicy {
    pub review_template: String,
    /// Measured from when the tour was marked complete; zero sends the request at once.
    pub review_after: Span,
}

impl Default for CompletionPolicy {
    fn default() -> Self {
        Self {
            review_template: "review-request".into(),
            review_after: Span::hours(2),
        }
    }
}

/// One thing wrong with a policy, naming the field so an operator can find it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    /// Dotted path, e.g. `pending.reminders_after[0]`.
    pub field: String,
    pub problem: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// Every problem of a policy at once, so it is fixed in one edit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyErrors(pub Vec<PolicyError>);

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid follow-up policy: ")?;
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyErrors {}

impl FollowUpPolicy {
    pub fn validate(&self) -> Result<(), PolicyErrors> {
        let mut check = Checker::default();

        let pending = &self.pending;
        check.template("pending.ask_template", &pending.ask_template);
        check.template("pending.reminder_template", &pending.reminder_template);
        // Zero would coincide with the ask itself, which already goes out at once.
        check.series("pending.reminders_after", &pending.reminders_after, false);
        check.span("pending.call_task_after", pending.call_task_after, false);
        for (index, reminder) in pending.reminders_after.iter().enumerate() {
            if *reminder >= pending.call_task_after {
                check.fail(
                    format!("pending.reminders_after[{index}]"),
                    format!(
                        "{reminder} is not before call_task_after ({}): remind the lead before a rep is asked to call",
                        pending.call_task_after
                    ),
                );
            }
        }
        if pending.call_task_subject.trim().is_empty() {
            check.fail("pending.call_task_subject", "must not be empty");
        }

        check.template(
            "confirmed.confirmation_template",
            &self.confirmed.confirmation_template,
        );
        check.template(
            "confirmed.reminder_template",
            &self.confirmed.reminder_template,
        );
        // A reminder at the very start of the tour is too late to help anyone get there.
        check.series(
            "confirmed.reminders_before",
            &self.confirmed.reminders_before,
            false,
        );

        check.template(
            "questionnaire.reminder_template",
            &self.questionnaire.reminder_template,
        );
        check.series(
            "questionnaire.reminders_before",
            &self.questionnaire.reminders_before,
            false,
        );

        check.template("preparation.template", &self.preparation.template);
        check.series(
            "preparation.reminders_before",
            &self.preparation.reminders_before,
            false,
        );

        check.template(
            "reschedule.notice_template",
            &self.reschedule.notice_template,
        );
        check.template("cancellation.template", &self.cancellation.template);
        check.template(
            "completion.review_template",
            &self.completion.review_template,
        );
        check.span(
            "completion.review_after",
            self.completion.review_after,
            true,
        );

        check.finish()
    }
}

#[derive(Default)]
struct Checker(Vec<PolicyError>);

impl Checker {
    fn fail(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.0.push(PolicyError {
            field: field.into(),
            problem: problem.into(),
        });
    }

    fn template(&mut self, field: &str, template: &str) {
        if template.trim().is_empty() {
            self.fail(field, "must name an email template");
        }
    }

    fn span(&mut self, field: &str, span: Span, zero_allowed: bool) {
        if span.is_zero() && !zero_allowed {
            self.fail(field, "must be longer than zero seconds");
        }
        if span > Span::MAX {
            self.fail(
                field,
                format!("{span} is longer than the maximum of {}", Span::MAX),
            );
        }
    }

    /// Offsets of one series also name its steps (`tour-reminder-24h@...`), and a step key must
    /// be unique per booking for the email de-duplication to work, hence no repeats.
    fn series(&mut self, field: &str, spans: &[Span], zero_allowed: bool) {
        let mut seen = BTreeSet::new();
        for (index, span) in spans.iter().enumerate() {
            let item = format!("{field}[{index}]");
            self.span(&item, *span, zero_allowed);
            if !seen.insert(*span) {
                self.fail(item, format!("{span} appears more than once"));
            }
        }
    }

    fn finish(self) -> Result<(), PolicyErrors> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(PolicyErrors(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_production_cadence_is_valid() {
        assert_eq!(FollowUpPolicy::default().validate(), Ok(()));
    }

    #[test]
    fn spans_print_compactly() {
        assert_eq!(Span::hours(24).to_string(), "24h");
        assert_eq!(Span::minutes(90).to_string(), "90m");
        assert_eq!(Span::secs(45).to_string(), "45s");
        assert_eq!(Span::secs(0).to_string(), "0s");
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let mut policy = FollowUpPolicy::default();
        policy.pending.reminders_after = vec![Span::hours(30)];
        policy.confirmed.reminders_before = vec![Span::hours(1), Span::secs(0), Span::hours(1)];
        policy.cancellation.template = " ".into();
        policy.completion.review_after = Span::days(400);

        let errors = policy.validate().unwrap_err().0;
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "pending.reminders_after[0]",
                "confirmed.reminders_before[1]",
                "confirmed.reminders_before[2]",
                "cancellation.template",
                "completion.review_after",
            ]
        );
        let message = PolicyErrors(errors).to_string();
        assert!(
            message.contains("must be longer than zero seconds"),
            "{message}"
        );
        assert!(message.contains("appears more than once"), "{message}");
    }

    #[test]
    fn a_review_may_be_requested_at_once() {
        let mut policy = FollowUpPolicy::default();
        policy.completion.review_after = Span::secs(0);
        assert_eq!(policy.validate(), Ok(()));
    }
}
