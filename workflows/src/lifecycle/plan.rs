//! The follow-up plan: which steps are due when, derived from the booking's current facts.
//!
//! The plan is never patched by hand. Whenever a fact it depends on changes (status, tour time,
//! questionnaire visit), it is recomputed from the policy, so a reschedule re-arms everything
//! against the new tour time and a cancellation leaves nothing behind by construction.
//!
//! Timing rules, chosen so a lead never gets a message that is wrong by the time it arrives:
//! - A step that is new to the plan and already past when planned (a booking made 30 minutes
//!   before its tour has no 24 h or 1 h reminder) is skipped and recorded, never sent late.
//! - A step due exactly now is sent at once, so the driver never needs a zero-length timer.
//! - When the timer fires late (a worker outage), a step about the tour is skipped if the tour
//!   has started, or if a later step of the same series is due too: only the latest reminder of
//!   a series goes out.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::action::{Action, CrmTaskKind, EmailKind};
use super::policy::{ChannelChoice, FollowUpPolicy, Span};
use super::sms::{Channel, base_key};
use super::state::{BookingState, BookingStatus};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpKind {
    /// After the booking was made.
    PendingReminder,
    /// After the booking was made.
    CallTask,
    /// Before the tour.
    TourReminder,
    /// Before the tour.
    QuestionnaireReminder,
    /// Before the tour.
    TourPreparation,
    /// After the tour was marked complete.
    ReviewRequest,
}

impl FollowUpKind {
    fn key_prefix(self) -> &'static str {
        match self {
            Self::PendingReminder => "pending-reminder",
            Self::CallTask => "call-task",
            Self::TourReminder => "tour-reminder",
            Self::QuestionnaireReminder => "questionnaire-reminder",
            Self::TourPreparation => "tour-preparation",
            Self::ReviewRequest => "review-request",
        }
    }

    fn is_before_tour(self) -> bool {
        matches!(
            self,
            Self::TourReminder | Self::QuestionnaireReminder | Self::TourPreparation
        )
    }

    /// Steps that only make sense while the tour is still ahead.
    pub(super) fn expires_at_tour_start(self) -> bool {
        self.is_before_tour() || self == Self::PendingReminder
    }

    /// The name the SMS policy knows a message step by (its key without the tour time), or
    /// `None` for a step that is not a message to the lead.
    pub(super) fn message_step_name(self, key: &str) -> Option<&str> {
        (self != Self::CallTask).then(|| key.split_once('@').map_or(key, |(name, _)| name))
    }
}

/// A step the booking will take at `due`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedStep {
    /// Unique per booking and logical send; it becomes the email's de-duplication key. Steps
    /// about the tour carry its start time, so the same reminder for a new time is a new send.
    pub key: String,
    pub kind: FollowUpKind,
    /// Before the tour for tour steps, after the booking or the tour's completion otherwise.
    pub offset: Span,
    pub due: DateTime<Utc>,
    /// Plans from before text messages hold only emails.
    #[serde(default)]
    pub channel: Channel,
}

impl PlannedStep {
    /// What the step is for, in the words the timer shows in the Temporal UI.
    pub fn summary(&self) -> String {
        match self.channel {
            Channel::Email => self.what(),
            Channel::Sms => format!("{} by text", self.what()),
        }
    }

    fn what(&self) -> String {
        let offset = self.offset;
        match self.kind {
            FollowUpKind::PendingReminder => {
                format!("confirmation reminder {offset} after booking")
            }
            FollowUpKind::CallTask => format!("CRM call task {offset} after booking"),
            FollowUpKind::TourReminder => format!("reminder {offset} before tour"),
            FollowUpKind::QuestionnaireReminder => {
                format!("questionnaire reminder {offset} before tour")
            }
            FollowUpKind::TourPreparation => format!("tour preparation {offset} before tour"),
            FollowUpKind::ReviewRequest => format!("review request {offset} after tour"),
        }
    }

    fn to_action(&self, policy: &FollowUpPolicy) -> Action {
        let email = |kind, template: &str| match self.channel {
            Channel::Email => Action::SendEmail {
                kind,
                template: template.to_owned(),
                step: self.key.clone(),
            },
            Channel::Sms => Action::SendSms {
                kind,
                step: base_key(&self.key).to_owned(),
            },
        };
        match self.kind {
            FollowUpKind::PendingReminder => email(
                EmailKind::PendingReminder,
                &policy.pending.reminder_template,
            ),
            FollowUpKind::CallTask => Action::CreateCrmTask {
                kind: CrmTaskKind::CallLead,
                subject: policy.pending.call_task_subject.clone(),
            },
            FollowUpKind::TourReminder => {
                email(EmailKind::TourReminder, &policy.confirmed.reminder_template)
            }
            FollowUpKind::QuestionnaireReminder => email(
                EmailKind::QuestionnaireReminder,
                &policy.questionnaire.reminder_template,
            ),
            FollowUpKind::TourPreparation => {
                email(EmailKind::TourPreparation, &policy.preparation.template)
            }
            FollowUpKind::ReviewRequest => {
                email(EmailKind::ReviewRequest, &policy.completion.review_template)
            }
        }
    }
}

impl BookingState {
    /// Rebuilds the plan from the current facts, then sends whatever is due right now.
    pub(super) fn replan(&mut self, now: DateTime<Utc>) {
        let mut plan = Vec::new();
        for step in self.choose_channels(self.ideal_schedule()) {
            if self.settled_steps.contains(&step.key) {
                continue;
            }
            // A step that was already planned and is merely waiting for its timer is kept even
            // if that timer is a little late; only steps new to the plan can be "too late".
            // In either channel: a text turned into its email (the lead opted out while the
            // text waited for its timer) is the same step, still owed to the lead.
            let already_planned = self
                .plan
                .iter()
                .any(|old| base_key(&old.key) == base_key(&step.key));
            if step.due < now && !already_planned {
                self.settled_steps.insert(step.key.clone());
                let detail = format!(
                    "not sent: it was due at {}, before it was planned",
                    step.due.to_rfc3339_opts(SecondsFormat::AutoSi, true)
                );
                self.record(step.key, now, detail);
                continue;
            }
            plan.push(step);
        }
        plan.sort_by(|a, b| (a.due, &a.key).cmp(&(b.due, &b.key)));
        self.plan = plan;
        self.fire_due(now);
    }

    /// Moves every step due by `now` to the action queue, in due order.
    pub(super) fn fire_due(&mut self, now: DateTime<Utc>) {
        let split = self.plan.partition_point(|step| step.due <= now);
        let due: Vec<PlannedStep> = self.plan.drain(..split).collect();
        for (index, step) in due.iter().enumerate() {
            self.settled_steps.insert(step.key.clone());
            // A text that stands in for the step's email settles the email too, so turning
            // texts off later does not bring back the email of a step already sent.
            let text_only = step.channel == Channel::Sms
                && step
                    .kind
                    .message_step_name(base_key(&step.key))
                    .is_some_and(|name| self.policy.sms.channel_for(name) == ChannelChoice::Sms);
            if text_only {
                self.settled_steps.insert(base_key(&step.key).to_owned());
            }
            let superseded_by = due[index + 1..].iter().find(|later| {
                later.kind == step.kind
                    && later.channel == step.channel
                    && step.kind != FollowUpKind::CallTask
            });
            if let Some(later) = superseded_by {
                let detail = format!("not sent: {} is due too and supersedes it", later.key);
                self.record(step.key.clone(), now, detail);
            } else if step.kind.expires_at_tour_start() && now >= self.tour.start() {
                self.record(
                    step.key.clone(),
                    now,
                    "not sent: the tour has already started",
                );
            } else {
                let action = step.to_action(&self.policy);
                self.queue.push(action);
            }
        }
    }

    /// Every step the policy asks for given the booking's facts, past or future.
    fn ideal_schedule(&self) -> Vec<PlannedStep> {
        let policy = &self.policy;
        let mut steps = Vec::new();
        // A waitlisted lead has no tour yet: no reminders, no call task, until a seat frees.
        if matches!(self.slot, super::state::Slot::Waitlisted { .. }) {
            return steps;
        }
        match self.status {
            BookingStatus::PendingConfirmation => {
                for offset in &policy.pending.reminders_after {
                    steps.extend(self.after_booking(FollowUpKind::PendingReminder, *offset));
                }
                steps.extend(
                    self.after_booking(FollowUpKind::CallTask, policy.pending.call_task_after),
                );
                let tour_start = self.tour.start();
                steps.retain(|step| !(step.kind.expires_at_tour_start() && step.due >= tour_start));
            }
            BookingStatus::Confirmed => {
                let (questionnaire_kind, questionnaire_offsets) = if self.questionnaire_visited {
                    (
                        FollowUpKind::TourPreparation,
                        &policy.preparation.reminders_before,
                    )
                } else {
                    (
                        FollowUpKind::QuestionnaireReminder,
                        &policy.questionnaire.reminders_before,
                    )
                };
                for offset in &policy.confirmed.reminders_before {
                    steps.extend(self.before_tour(FollowUpKind::TourReminder, *offset));
                }
                for offset in questionnaire_offsets {
                    steps.extend(self.before_tour(questionnaire_kind, *offset));
                }
            }
            BookingStatus::TourComplete => {
                let offset = policy.completion.review_after;
                let due = self
                    .tour_completed_at
                    .zip(offset.to_time_delta())
                    .and_then(|(completed_at, delay)| completed_at.checked_add_signed(delay));
                steps.extend(due.map(|due| PlannedStep {
                    // One review request per booking, whatever the delay.
                    key: FollowUpKind::ReviewRequest.key_prefix().into(),
                    kind: FollowUpKind::ReviewRequest,
                    offset,
                    due,
                    channel: Channel::Email,
                }));
            }
            BookingStatus::Cancelled => {}
        }
        steps
    }

    /// Pending steps count from when the booking was made, which a reschedule does not change;
    /// they happen once per booking, so their key needs no tour time.
    fn after_booking(&self, kind: FollowUpKind, offset: Span) -> Option<PlannedStep> {
        let due = self
            .created_at
            .checked_add_signed(offset.to_time_delta()?)?;
        Some(PlannedStep {
            key: format!("{}-{offset}", kind.key_prefix()),
            kind,
            offset,
            due,
            channel: Channel::Email,
        })
    }

    fn before_tour(&self, kind: FollowUpKind, offset: Span) -> Option<PlannedStep> {
        debug_assert!(kind.is_before_tour());
        let start = self.tour.start();
        let due = start.checked_sub_signed(offset.to_time_delta()?)?;
        Some(PlannedStep {
            key: format!(
                "{}-{offset}@{}",
                kind.key_prefix(),
                start.to_rfc3339_opts(SecondsFormat::AutoSi, true)
            ),
            kind,
            offset,
            due,
            channel: Channel::Email,
        })
    }
}
