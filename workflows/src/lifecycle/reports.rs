//! The driver's reports about actions, and the operator's answers to a blocked one.

use chrono::{DateTime, Utc};

use super::action::{Action, ActionFailure, ActionId, ActionOutcome};
use super::machine::Refused;
use super::queue::{Progress, QueuedAction};
use super::state::{BookingState, Failure};

impl BookingState {
    fn blocked_head(&mut self) -> Result<&mut QueuedAction, String> {
        self.queue
            .head_mut()
            .filter(|head| head.progress == Progress::Blocked)
            .ok_or_else(|| "no action is waiting for an operator".to_owned())
    }

    pub(super) fn operator_retry(&mut self, now: DateTime<Utc>) -> Refused {
        let head = self.blocked_head()?;
        head.progress = Progress::Waiting;
        let step = head.action.step_name();
        self.needs_attention = false;
        self.record(step, now, "an operator asked to run it again");
        Ok(())
    }

    pub(super) fn operator_skip(&mut self, now: DateTime<Utc>) -> Refused {
        self.blocked_head()?;
        if let Some(skipped) = self.queue.pop_head() {
            self.record(
                skipped.action.step_name(),
                now,
                "skipped by an operator; not done",
            );
        }
        self.needs_attention = false;
        Ok(())
    }

    fn running(&self, action_id: ActionId) -> Result<&QueuedAction, String> {
        self.queue
            .head()
            .filter(|head| head.id == action_id && head.progress == Progress::InFlight)
            .ok_or_else(|| format!("{action_id} is not running"))
    }

    pub(super) fn action_succeeded(
        &mut self,
        action_id: ActionId,
        outcome: &ActionOutcome,
        now: DateTime<Utc>,
    ) -> Refused {
        let head = self.running(action_id)?;
        if !outcome.answers(&head.action) {
            return Err(format!(
                "{} does not answer {action_id} ({})",
                outcome.describe(),
                head.action.step_name()
            ));
        }
        let step = head.action.step_name();
        let finished = self.queue.pop_head();
        let finished = finished.map(|item| item.action);
        if let (
            Some(Action::MoveSlot { tour, from }),
            ActionOutcome::SlotMoved {
                confirmed: false,
                detail,
            },
        ) = (&finished, outcome)
        {
            self.record(step, now, detail.clone());
            self.slot_move_refused(*tour, *from, detail, now);
            return Ok(());
        }
        match outcome {
            ActionOutcome::CalendarEventCreated { calendar_event_id } => {
                self.external_ids.calendar_event_id = Some(calendar_event_id.clone());
                self.external_ids.calendar_event_deleted = false;
            }
            ActionOutcome::CalendarEventDeleted => self.external_ids.calendar_event_deleted = true,
            ActionOutcome::CrmContactUpserted { crm_contact_id } => {
                self.external_ids.crm_contact_id = Some(crm_contact_id.clone());
            }
            ActionOutcome::SmsRefused { code, reason } => {
                self.record(step, now, outcome.describe());
                if let Some(Action::SendSms { kind, step: key }) = finished {
                    self.turn_sms_off(
                        &format!("Twilio refused the number ({code}): {reason}"),
                        now,
                    );
                    self.fall_back_to_email(kind, &key, now);
                }
                return Ok(());
            }
            ActionOutcome::CalendarEventMoved
            | ActionOutcome::CrmStageUpdated
            | ActionOutcome::CrmTaskCreated { .. }
            | ActionOutcome::EmailSent { .. }
            | ActionOutcome::EmailNotSent { .. }
            | ActionOutcome::SmsSent { .. }
            | ActionOutcome::SmsNotSent { .. }
            | ActionOutcome::SlotReleased
            | ActionOutcome::SlotMoved { .. } => {}
        }
        self.record(step, now, outcome.describe());
        Ok(())
    }

    pub(super) fn action_failed(
        &mut self,
        action_id: ActionId,
        failure: &ActionFailure,
        now: DateTime<Utc>,
    ) -> Refused {
        let running = self.running(action_id)?;
        let step = running.action.step_name();
        let failed = format!(
            "failed after {} attempts ({}): {}",
            failure.attempts, failure.error_type, failure.message
        );
        // It was already running when the booking moved on (an email in flight during a
        // cancel): an operator must not be offered to retry what may no longer happen.
        if self.is_moot()(&running.action) {
            self.queue.pop_head();
            self.record(
                step.clone(),
                now,
                format!("{failed}; dropped, no longer needed"),
            );
        } else {
            if let Some(head) = self.queue.head_mut() {
                head.progress = Progress::Blocked;
            }
            self.needs_attention = true;
            let detail = format!("{failed}; waiting for an operator to retry or skip it");
            self.record(step.clone(), now, detail);
        }
        self.last_failure = Some(Failure {
            action_id,
            step,
            error_type: failure.error_type.clone(),
            message: failure.message.clone(),
            at: now,
            attempts: failure.attempts,
        });
        Ok(())
    }

    /// A calendar change that reaches the head with no live event to change is dropped: the
    /// create before it was skipped by an operator, or it never ran because of a cancel.
    pub(super) fn settle_queue(&mut self, now: DateTime<Utc>) {
        while let Some(head) = self.queue.head()
            && head.progress == Progress::Waiting
            && head.action.is_calendar_change()
            && self.external_ids.live_calendar_event().is_none()
        {
            let step = head.action.step_name();
            self.queue.pop_head();
            self.record(step, now, "not needed: no calendar event exists");
        }
    }
}
