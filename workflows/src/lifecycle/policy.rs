//! The follow-up cadence as data: which emails go out when, and when a human is asked to call.
//!
//! Operators tune cadence without a deploy, and tests run a 24-hour sequence in seconds, so
//! nothing here is a constant in code. Every field has a production default; a JSON policy may
//! override any subset of fields and the rest keep their defaults.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{NaiveTime, TimeDelta};
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
    /// A policy written before text messages (every recorded history's) reads as email only,
    /// so a replay plans exactly the steps it planned; new bookings get [`SmsPolicy::default`].
    #[serde(default = "SmsPolicy::email_only")]
    pub sms: SmsPolicy,
}

/// How a follow-up step reaches the lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelChoice {
    Email,
    /// A text message when the lead has a number and has not opted out; email otherwise.
    Sms,
    /// Both, each judged on its own (quiet hours delay only the text).
    Both,
}

/// Text messages: which follow-up steps use them, and when they must not arrive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsPolicy {
    /// Step name -> channel. A step's name is its key without the tour time:
    /// `tour-reminder-1h`, `pending-reminder-4h`, `questionnaire-reminder-72h`,
    /// `tour-preparation-12h`, `review-request`. Steps not named go by email; so do the
    /// one-off messages (ask to confirm, confirmation, notices), which carry links and
    /// directions a text cannot.
    pub channels: BTreeMap<String, ChannelChoice>,
    /// No text arrives between these local times in the lead's zone; a text due then waits
    /// for the end (or, if that is after the tour starts, goes by email on time instead).
    pub quiet_hours: Option<QuietHours>,
    /// The zone quiet hours are judged in when the lead's own is missing or unknown.
    pub fallback_timezone: String,
}

impl SmsPolicy {
    /// No text messages at all: the behaviour of every booking before SMS existed.
    pub fn email_only() -> Self {
        Self {
            channels: BTreeMap::new(),
            quiet_hours: None,
            fallback_timezone: "UTC".into(),
        }
    }

    /// The channel the policy asks for the step named `name`.
    pub fn channel_for(&self, name: &str) -> ChannelChoice {
        self.channels
            .get(name)
            .copied()
            .unwrap_or(ChannelChoice::Email)
    }
}

/// The production cadence: the one-hour tour reminder by text (leads read texts within
/// minutes, emails within hours), no texts between 21:00 and 08:00 local time.
impl Default for SmsPolicy {
    fn default() -> Self {
        Self {
            channels: BTreeMap::from([("tour-reminder-1h".to_owned(), ChannelChoice::Sms)]),
            quiet_hours: Some(QuietHours {
                start: LocalTime::hm(21, 0),
                end: LocalTime::hm(8, 0),
            }),
            fallback_timezone: "UTC".into(),
        }
    }
}

/// A local window, `start` inclusive, `end` exclusive; it wraps midnight when `start > end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    pub start: LocalTime,
    pub end: LocalTime,
}

/// A wall-clock time written `"21:00"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalTime(pub NaiveTime);

impl LocalTime {
    pub fn hm(hour: u32, minute: u32) -> Self {
        Self(NaiveTime::from_hms_opt(hour, minute, 0).expect("a valid wall-clock time"))
    }
}

impl Serialize for LocalTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.format("%H:%M").to_string())
    }
}

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        NaiveTime::parse_from_str(&raw, "%H:%M")
            .map(Self)
            .map_err(|_| serde::de::Error::custom(format!("{raw:?} is not a time like \"21:00\"")))
    }
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
        self.check_sms(&mut check);

        check.finish()
    }
}

impl FollowUpPolicy {
    /// Names of the follow-up steps this policy plans that a text could carry.
    pub fn message_step_names(&self) -> BTreeSet<String> {
        let named = |prefix: &str, spans: &[Span]| {
            spans
                .iter()
                .map(|span| format!("{prefix}-{span}"))
                .collect::<Vec<_>>()
        };
        let mut names = BTreeSet::new();
        names.extend(named("pending-reminder", &self.pending.reminders_after));
        names.extend(named("tour-reminder", &self.confirmed.reminders_before));
        names.extend(named(
            "questionnaire-reminder",
            &self.questionnaire.reminders_before,
        ));
        names.extend(named(
            "tour-preparation",
            &self.preparation.reminders_before,
        ));
        names.insert("review-request".to_owned());
        names
    }

    fn check_sms(&self, check: &mut Checker) {
        let names = self.message_step_names();
        for name in self.sms.channels.keys() {
            if !names.contains(name) {
                let known: Vec<&str> = names.iter().map(String::as_str).collect();
                check.fail(
                    format!("sms.channels.{name}"),
                    format!(
                        "is not a follow-up step of this policy (its steps: {})",
                        known.join(", ")
                    ),
                );
            }
        }
        if let Some(quiet) = self.sms.quiet_hours
            && quiet.start == quiet.end
        {
            check.fail(
                "sms.quiet_hours",
                "start and end are equal: say no quiet hours with null instead",
            );
        }
        if self.sms.fallback_timezone.parse::<chrono_tz::Tz>().is_err() {
            check.fail(
                "sms.fallback_timezone",
                format!(
                    "{:?} is not an IANA time zone (e.g. Europe/London)",
                    self.sms.fallback_timezone
                ),
            );
        }
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
    fn a_policy_from_before_text_messages_reads_as_email_only() {
        let old: FollowUpPolicy = serde_json::from_str(r#"{"pending": {}}"#).unwrap();
        assert_eq!(old.sms, SmsPolicy::email_only());
        assert_eq!(
            FollowUpPolicy::default()
                .sms
                .channel_for("tour-reminder-1h"),
            ChannelChoice::Sms
        );
        let written = serde_json::to_value(FollowUpPolicy::default()).unwrap();
        assert_eq!(written["sms"]["quiet_hours"]["start"], "21:00");
        let back: FollowUpPolicy = serde_json::from_value(written).unwrap();
        assert_eq!(back, FollowUpPolicy::default());
    }

    #[test]
    fn sms_rules_must_name_steps_of_the_policy() {
        let mut policy = FollowUpPolicy::default();
        policy
            .sms
            .channels
            .insert("tour-reminder-2h".into(), ChannelChoice::Both);
        policy.sms.fallback_timezone = "Mars/Olympus".into();
        policy.sms.quiet_hours = Some(QuietHours {
            start: LocalTime::hm(8, 0),
            end: LocalTime::hm(8, 0),
        });
        let fields: Vec<String> = policy
            .validate()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "sms.channels.tour-reminder-2h",
                "sms.quiet_hours",
                "sms.fallback_timezone"
            ]
        );
    }

    #[test]
    fn a_review_may_be_requested_at_once() {
        let mut policy = FollowUpPolicy::default();
        policy.completion.review_after = Span::secs(0);
        assert_eq!(policy.validate(), Ok(()));
    }
}
