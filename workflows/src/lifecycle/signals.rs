//! How each signal moves a booking on. Every handler either refuses before touching anything
//! or makes its whole change; `apply` runs it on a copy, so a refusal leaves no trace.

use booking_proto::domain::TourSlot;
use chrono::{DateTime, Utc};

use super::action::{Action, CrmStage, EmailKind};
use super::machine::{Refused, describe_tour};
use super::queue::{Progress, QueuedAction};
use super::state::{BookingState, BookingStatus, Slot};

impl BookingState {
    fn refuse_when_closed(&self) -> Refused {
        match self.status {
            BookingStatus::Cancelled => Err("the booking was cancelled".into()),
            BookingStatus::TourComplete => Err("the tour is already complete".into()),
            BookingStatus::PendingConfirmation | BookingStatus::Confirmed => Ok(()),
        }
    }

    pub(super) fn confirm(&mut self, now: DateTime<Utc>) -> Refused {
        self.refuse_when_closed()?;
        if self.status == BookingStatus::Confirmed {
            return Err("the booking is already confirmed".into());
        }
        self.status = BookingStatus::Confirmed;
        self.record("confirm", now, "the lead confirmed the tour");
        self.drop_moot_actions("the lead confirmed", now);
        self.queue_email(EmailKind::Confirmation, "confirmation");
        if self.questionnaire_visited && self.policy.preparation.send_on_visit {
            self.queue_email(EmailKind::TourPreparation, "tour-preparation");
        }
        self.replan(now);
        Ok(())
    }

    pub(super) fn reschedule(
        &mut self,
        tour: TourSlot,
        source_ref: &str,
        now: DateTime<Utc>,
    ) -> Refused {
        self.refuse_when_closed()?;
        if tour.start() <= now {
            return Err(format!(
                "the new tour time {} is not in the future",
                describe_tour(tour)
            ));
        }
        if !source_ref.is_empty() {
            self.external_ids.source_ref = source_ref.to_owned();
        }
        if tour == self.tour {
            self.record(
                "reschedule",
                now,
                "the tour is already at this time; nothing to move",
            );
            return Ok(());
        }
        let detail = format!(
            "moved from {} to {}",
            describe_tour(self.tour),
            describe_tour(tour)
        );
        self.record("reschedule", now, detail);
        let previous = self.tour;
        self.tour = tour;
        self.reschedules += 1;

        // Emails already queued for the old time would state it; the lead gets one notice for
        // the latest time instead of a trail of them.
        let dropped = self.queue.drop_not_running(|action| {
            action.message_kind().is_some_and(|kind| {
                kind.is_about_tour_time() || kind == EmailKind::RescheduleNotice
            })
        });
        self.note_dropped(&dropped, "the tour moved", now);

        // The ledger follows the tour; a move not run yet is retargeted rather than repeated,
        // and keeps the window the ledger actually holds as the one to fall back to.
        if matches!(self.slot, Slot::Held | Slot::Waitlisted { .. }) {
            let dropped = self
                .queue
                .drop_not_running(|action| matches!(action, Action::MoveSlot { .. }));
            let from = dropped
                .iter()
                .find_map(|item| match item.action {
                    Action::MoveSlot { from, .. } => Some(from),
                    _ => None,
                })
                .unwrap_or(previous);
            self.note_dropped(&dropped, "the tour moved again", now);
            self.queue.push(Action::MoveSlot { tour, from });
        }

        // Never a second event: a create that has not run yet just uses the new time, a move
        // that has not run yet is retargeted, and otherwise the existing event is moved.
        let may_exist = self.calendar_event_may_exist();
        let not_yet_run = self.queue.find_not_running_mut(|action| {
            matches!(
                action,
                Action::CreateCalendarEvent { .. } | Action::MoveCalendarEvent { .. }
            )
        });
        match not_yet_run.map(|item| &mut item.action) {
            Some(
                Action::CreateCalendarEvent { tour: planned }
                | Action::MoveCalendarEvent { tour: planned },
            ) => *planned = tour,
            _ if may_exist => {
                self.queue.push(Action::MoveCalendarEvent { tour });
            }
            _ => {}
        }
        let step = format!("reschedule-notice#{}", self.reschedules);
        self.queue_email(EmailKind::RescheduleNotice, &step);
        self.replan(now);
        Ok(())
    }

    pub(super) fn cancel(
        &mut self,
        reason: &str,
        cancelled_by: &str,
        now: DateTime<Utc>,
    ) -> Refused {
        self.refuse_when_closed()?;
        self.status = BookingStatus::Cancelled;
        let by = if cancelled_by.is_empty() {
            "unknown"
        } else {
            cancelled_by
        };
        self.record("cancel", now, format!("cancelled by {by}: {reason}"));

        // Above all, every email but the one queued below goes. The contact upsert stays,
        // since the stage update needs the contact; a create that has not run goes too, as it
        // has created nothing that would need deleting.
        self.drop_moot_actions("the booking was cancelled", now);
        let dropped = self
            .queue
            .drop_not_running(|action| matches!(action, Action::CreateCalendarEvent { .. }));
        self.note_dropped(&dropped, "the booking was cancelled", now);

        // Queue order is the guarantee: the CRM and the lead hear of the cancellation only
        // after the event is gone. The delete is dropped on reaching the head if no event
        // exists by then (see `settle_queue`), which also covers a create still running now.
        // The seat goes back first, so the next lead in line is promoted without waiting for
        // the calendar and the CRM.
        let was_waitlisted = matches!(self.slot, Slot::Waitlisted { .. });
        if matches!(self.slot, Slot::Held | Slot::Waitlisted { .. }) {
            self.queue.push(Action::ReleaseSlot);
            self.slot = Slot::Released;
        }
        self.queue.push(Action::DeleteCalendarEvent);
        if !was_waitlisted {
            self.queue.push(Action::UpdateCrmStage {
                stage: CrmStage::Cancelled,
            });
        }
        self.queue_email(EmailKind::Cancellation, "cancellation");
        self.replan(now);
        Ok(())
    }

    pub(super) fn visit_questionnaire(&mut self, now: DateTime<Utc>) -> Refused {
        self.refuse_when_closed()?;
        if self.questionnaire_visited {
            return Ok(());
        }
        self.questionnaire_visited = true;
        self.record(
            "questionnaire_visited",
            now,
            "the lead opened the questionnaire",
        );
        // While pending, the preparation sequence waits for the confirmation.
        if self.status == BookingStatus::Confirmed {
            self.drop_moot_actions("the questionnaire was visited", now);
            if self.policy.preparation.send_on_visit {
                self.queue_email(EmailKind::TourPreparation, "tour-preparation");
            }
        }
        self.replan(now);
        Ok(())
    }

    pub(super) fn complete_tour(&mut self, now: DateTime<Utc>) -> Refused {
        self.refuse_when_closed()?;
        if self.status != BookingStatus::Confirmed {
            return Err("the booking was never confirmed".into());
        }
        self.status = BookingStatus::TourComplete;
        self.tour_completed_at = Some(now);
        self.record("tour_complete", now, "the agent marked the tour complete");
        self.drop_moot_actions("the tour is complete", now);
        self.queue.push(Action::UpdateCrmStage {
            stage: CrmStage::TourComplete,
        });
        self.replan(now);
        Ok(())
    }

    pub(super) fn calendar_event_may_exist(&self) -> bool {
        self.external_ids.live_calendar_event().is_some()
            || self
                .queue
                .any_in_flight(|action| matches!(action, Action::CreateCalendarEvent { .. }))
    }

    pub(super) fn queue_email(&mut self, kind: EmailKind, step: &str) {
        let policy = &self.policy;
        let template = match kind {
            EmailKind::AskToConfirm => &policy.pending.ask_template,
            EmailKind::PendingReminder => &policy.pending.reminder_template,
            EmailKind::Confirmation => &policy.confirmed.confirmation_template,
            EmailKind::TourReminder => &policy.confirmed.reminder_template,
            EmailKind::QuestionnaireReminder => &policy.questionnaire.reminder_template,
            EmailKind::TourPreparation => &policy.preparation.template,
            EmailKind::RescheduleNotice => &policy.reschedule.notice_template,
            EmailKind::Cancellation => &policy.cancellation.template,
            EmailKind::ReviewRequest => &policy.completion.review_template,
            EmailKind::Waitlisted => &policy.ledger.waitlisted_template,
            EmailKind::SeatGranted => &policy.ledger.seat_granted_template,
            EmailKind::SlotUnavailable => &policy.ledger.unavailable_template,
        }
        .clone();
        self.queue.push(Action::SendEmail {
            kind,
            template,
            step: step.to_owned(),
        });
    }

    /// Which actions the booking's current facts have made pointless. Transitions drop them
    /// before they run; one already running when the facts changed is dropped if it fails.
    pub(super) fn is_moot(&self) -> impl Fn(&Action) -> bool + use<> {
        let status = self.status;
        let visited = self.questionnaire_visited;
        move |action| match (status, action) {
            (BookingStatus::PendingConfirmation, _) => false,
            (_, Action::SendEmail { kind, .. } | Action::SendSms { kind, .. }) => match status {
                BookingStatus::Cancelled => {
                    !matches!(kind, EmailKind::Cancellation | EmailKind::SlotUnavailable)
                }
                BookingStatus::TourComplete => *kind != EmailKind::ReviewRequest,
                _ => {
                    kind.is_pending_only() || (visited && *kind == EmailKind::QuestionnaireReminder)
                }
            },
            // The only task is the call to a lead who has not confirmed.
            (_, Action::CreateCrmTask { .. }) => true,
            (
                BookingStatus::Cancelled,
                Action::MoveCalendarEvent { .. } | Action::MoveSlot { .. },
            ) => true,
            _ => false,
        }
    }

    fn drop_moot_actions(&mut self, why: &str, now: DateTime<Utc>) {
        let dropped = self.queue.drop_not_running(self.is_moot());
        self.note_dropped(&dropped, why, now);
    }

    /// Dropping a blocked action resolves what the operator was needed for.
    pub(super) fn note_dropped(&mut self, dropped: &[QueuedAction], why: &str, now: DateTime<Utc>) {
        for item in dropped {
            if item.progress == Progress::Blocked {
                self.needs_attention = false;
            }
            self.record(
                item.action.step_name(),
                now,
                format!("dropped before it ran: {why}"),
            );
        }
    }
}
