//! Text messages in the machine: which channel a follow-up step takes, quiet hours in the
//! lead's zone, the lead's opt-out, and Twilio's delivery reports.
//!
//! Every rule here is a pure function of the booking's state and the time passed in. Quiet
//! hours read the IANA database compiled into the worker (`chrono-tz`), never the host's, so
//! a replay on another machine plans the same instants.

use std::fmt;

use chrono::{DateTime, Days, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::action::{Action, EmailKind};
use super::machine::Refused;
use super::plan::PlannedStep;
use super::policy::{ChannelChoice, QuietHours};
use super::queue::Progress;
use super::state::BookingState;

/// Delivery reports a booking keeps for its snapshot; the newest win.
pub const DELIVERIES_KEPT: usize = 50;

/// The planned-step key of a step's text, beside the email's own key: both may be planned, and
/// each is settled on its own.
const SMS_KEY_PREFIX: &str = "sms:";

pub(super) fn sms_key(base: &str) -> String {
    format!("{SMS_KEY_PREFIX}{base}")
}

/// The step's key without its channel: what the email of the same step is keyed by.
pub(super) fn base_key(key: &str) -> &str {
    key.strip_prefix(SMS_KEY_PREFIX).unwrap_or(key)
}

/// The channel one planned step goes out on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    #[default]
    Email,
    Sms,
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Email => "email",
            Self::Sms => "sms",
        })
    }
}

/// Twilio's `MessageStatus` values for outbound messages, in the order a message moves
/// through them; the three final ones never give way to an earlier one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsDeliveryStatus {
    Accepted,
    Scheduled,
    Queued,
    Sending,
    Sent,
    DeliveryUnknown,
    Delivered,
    Read,
    Undelivered,
    Failed,
    Canceled,
}

impl SmsDeliveryStatus {
    pub fn parse(raw: &str) -> Result<Self, String> {
        Ok(match raw {
            "accepted" => Self::Accepted,
            "scheduled" => Self::Scheduled,
            "queued" => Self::Queued,
            "sending" => Self::Sending,
            "sent" => Self::Sent,
            "delivery_unknown" => Self::DeliveryUnknown,
            "delivered" => Self::Delivered,
            "read" => Self::Read,
            "undelivered" => Self::Undelivered,
            "failed" => Self::Failed,
            "canceled" => Self::Canceled,
            other => return Err(format!("{other:?} is not a Twilio message status")),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Scheduled => "scheduled",
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::DeliveryUnknown => "delivery_unknown",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Undelivered => "undelivered",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }

    fn is_final(self) -> bool {
        matches!(
            self,
            Self::Delivered | Self::Read | Self::Undelivered | Self::Failed | Self::Canceled
        )
    }

    /// Whether a report of `self` may replace a recorded `earlier`: never after a final
    /// status, and only forward before one (a late `sent` after `delivered` says nothing new).
    fn supersedes(self, earlier: Self) -> bool {
        !earlier.is_final() && self > earlier
    }
}

/// Twilio error codes that mean the number must not be texted again.
pub const OPTED_OUT: u32 = 21610;

/// One delivery report, as the `sms_status` signal carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmsReport {
    pub message_sid: String,
    /// The base key of the step the text was for.
    pub step: String,
    pub status: SmsDeliveryStatus,
    pub error_code: Option<u32>,
}

/// The latest status of one text the booking sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsDelivery {
    pub step: String,
    pub message_sid: String,
    pub status: SmsDeliveryStatus,
    pub error_code: Option<u32>,
    pub at: DateTime<Utc>,
}

/// Why text messages are off for good.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsOff {
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// What the booking knows about texting its lead. Bookings from before SMS read the default:
/// no number, so every step goes by email.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsState {
    /// E.164, parsed where the booking entered.
    pub number: Option<String>,
    pub off: Option<SmsOff>,
    pub deliveries: Vec<SmsDelivery>,
}

impl SmsState {
    pub fn new(number: Option<String>) -> Self {
        Self {
            number,
            ..Self::default()
        }
    }

    pub fn can_text(&self) -> bool {
        self.number.is_some() && self.off.is_none()
    }
}

/// When quiet hours that contain `at` end, in UTC; `None` when `at` is not in them.
pub fn quiet_until(at: DateTime<Utc>, zone: Tz, quiet: QuietHours) -> Option<DateTime<Utc>> {
    let local = at.with_timezone(&zone);
    let (time, date) = (local.time(), local.date_naive());
    let (start, end) = (quiet.start.0, quiet.end.0);
    let end_date = if start < end {
        (start <= time && time < end).then_some(date)?
    } else if time >= start {
        date.checked_add_days(Days::new(1))?
    } else if time < end {
        date
    } else {
        return None;
    };
    local_instant(zone, end_date, quiet.end.0)
}

/// The first instant at or after `date time` in `zone`: a wall-clock time skipped by a DST
/// change (02:30 on a spring-forward night) means the moment the clocks land on.
fn local_instant(zone: Tz, date: NaiveDate, time: chrono::NaiveTime) -> Option<DateTime<Utc>> {
    let naive = date.and_time(time);
    (0..=2)
        .filter_map(|hours| {
            let shifted = naive.checked_add_signed(TimeDelta::hours(hours))?;
            zone.from_local_datetime(&shifted).earliest()
        })
        .next()
        .map(|t| t.with_timezone(&Utc))
}

impl BookingState {
    pub fn sms(&self) -> &SmsState {
        &self.sms
    }

    /// The lead's zone, else the policy's fallback, else UTC.
    pub fn lead_zone(&self) -> Tz {
        self.lead
            .timezone
            .parse::<Tz>()
            .or_else(|_| self.policy.sms.fallback_timezone.parse::<Tz>())
            .unwrap_or(Tz::UTC)
    }

    /// Puts each message step on the channels the policy asks for and the lead allows. A text
    /// due in quiet hours waits for their end; if that would be after the tour has started,
    /// the step goes by email at its own time instead (when it was not going by email anyway).
    pub(super) fn choose_channels(&self, steps: Vec<PlannedStep>) -> Vec<PlannedStep> {
        let mut chosen = Vec::with_capacity(steps.len());
        for step in steps {
            let choice = match step.kind.message_step_name(&step.key) {
                Some(name) if self.sms.can_text() => self.policy.sms.channel_for(name),
                _ => ChannelChoice::Email,
            };
            if choice == ChannelChoice::Email {
                chosen.push(step);
                continue;
            }
            let mut text = PlannedStep {
                key: sms_key(&step.key),
                channel: Channel::Sms,
                ..step.clone()
            };
            if let Some(quiet) = self.policy.sms.quiet_hours
                && let Some(end) = quiet_until(text.due, self.lead_zone(), quiet)
            {
                text.due = end;
            }
            let too_late = step.kind.expires_at_tour_start() && text.due >= self.tour.start();
            if choice == ChannelChoice::Both || too_late {
                chosen.push(step);
            }
            if !too_late {
                chosen.push(text);
            }
        }
        chosen
    }

    /// A delivery report: kept when it moves the message on. Error 21610 in a report means the
    /// carrier has the lead opted out, which turns texts off as a STOP reply would.
    pub(super) fn sms_status(&mut self, report: &SmsReport, now: DateTime<Utc>) -> Refused {
        let known = self
            .sms
            .deliveries
            .iter_mut()
            .find(|d| d.message_sid == report.message_sid);
        let moved = match known {
            Some(delivery) if report.status.supersedes(delivery.status) => {
                delivery.status = report.status;
                delivery.error_code = report.error_code;
                delivery.at = now;
                true
            }
            Some(_) => false,
            None => {
                self.sms.deliveries.push(SmsDelivery {
                    step: report.step.clone(),
                    message_sid: report.message_sid.clone(),
                    status: report.status,
                    error_code: report.error_code,
                    at: now,
                });
                if self.sms.deliveries.len() > DELIVERIES_KEPT {
                    self.sms.deliveries.remove(0);
                }
                true
            }
        };
        if moved && report.status.is_final() {
            let code = report
                .error_code
                .map(|c| format!(" (error {c})"))
                .unwrap_or_default();
            let detail = format!(
                "text {} {}{code}",
                report.message_sid,
                report.status.as_str()
            );
            self.record(format!("sms:{}", report.step), now, detail);
        }
        if report.error_code == Some(OPTED_OUT) {
            self.turn_sms_off("the carrier reports the lead opted out (21610)", now);
        }
        Ok(())
    }

    /// The lead replied STOP.
    pub(super) fn sms_opt_out(&mut self, reason: &str, now: DateTime<Utc>) -> Refused {
        self.turn_sms_off(reason, now);
        Ok(())
    }

    /// No more texts for this booking: waiting texts become emails of the same step, and the
    /// plan moves its remaining texts to email.
    pub(super) fn turn_sms_off(&mut self, reason: &str, now: DateTime<Utc>) {
        if self.sms.off.is_some() {
            return;
        }
        self.sms.off = Some(SmsOff {
            reason: reason.to_owned(),
            at: now,
        });
        self.record("sms", now, format!("text messages off for good: {reason}"));
        let waiting = self
            .queue
            .drop_not_running(|action| matches!(action, Action::SendSms { .. }));
        for item in waiting {
            if let Action::SendSms { kind, step } = item.action {
                if item.progress == Progress::Blocked {
                    self.needs_attention = false;
                }
                self.fall_back_to_email(kind, &step, now);
            }
        }
        if !self.status.is_closed() || !self.plan.is_empty() {
            self.replan(now);
        }
    }

    /// Sends step `step`'s email instead of its text, unless that email is already queued,
    /// planned (the policy asked for both) or done.
    pub(super) fn fall_back_to_email(&mut self, kind: EmailKind, step: &str, now: DateTime<Utc>) {
        let email_step = format!("email:{step}");
        let queued = self
            .queue
            .iter()
            .any(|item| matches!(&item.action, Action::SendEmail { step: s, .. } if s == step));
        let planned = self.plan.iter().any(|planned| planned.key == step);
        let done = self
            .steps_done
            .iter()
            .any(|record| record.name == email_step);
        if queued || planned || done {
            return;
        }
        self.settled_steps.insert(step.to_owned());
        self.record(format!("sms:{step}"), now, "sent by email instead");
        self.queue_email(kind, step);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::policy::LocalTime;

    fn quiet() -> QuietHours {
        QuietHours {
            start: LocalTime::hm(21, 0),
            end: LocalTime::hm(8, 0),
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn quiet_hours_wrap_midnight_in_the_leads_zone() {
        let ny: Tz = "America/New_York".parse().unwrap();
        // 22:30 in New York (EST, UTC-5) waits until 08:00 the next morning.
        assert_eq!(
            quiet_until(utc("2026-12-02T03:30:00Z"), ny, quiet()),
            Some(utc("2026-12-02T13:00:00Z"))
        );
        // 06:00 waits until 08:00 the same morning.
        assert_eq!(
            quiet_until(utc("2026-12-02T11:00:00Z"), ny, quiet()),
            Some(utc("2026-12-02T13:00:00Z"))
        );
        // 08:00 sharp and 20:59 are not quiet.
        assert_eq!(quiet_until(utc("2026-12-02T13:00:00Z"), ny, quiet()), None);
        assert_eq!(quiet_until(utc("2026-12-03T01:59:00Z"), ny, quiet()), None);
    }

    #[test]
    fn quiet_hours_within_one_day_and_across_a_dst_change() {
        let london: Tz = "Europe/London".parse().unwrap();
        let lunch = QuietHours {
            start: LocalTime::hm(12, 0),
            end: LocalTime::hm(13, 0),
        };
        assert_eq!(
            quiet_until(utc("2026-07-01T11:30:00Z"), london, lunch),
            Some(utc("2026-07-01T12:00:00Z"))
        );
        assert_eq!(
            quiet_until(utc("2026-07-01T10:30:00Z"), london, lunch),
            None
        );
        // The night the clocks go forward (29 March 2026): 08:00 BST is 07:00 UTC.
        assert_eq!(
            quiet_until(utc("2026-03-28T23:00:00Z"), london, quiet()),
            Some(utc("2026-03-29T07:00:00Z"))
        );
        // 01:30 does not exist that night (01:00 jumps to 02:00): the quiet hours end at the
        // same distance past the jump, 02:30 BST.
        let short = QuietHours {
            start: LocalTime::hm(23, 0),
            end: LocalTime::hm(1, 30),
        };
        assert_eq!(
            quiet_until(utc("2026-03-29T00:45:00Z"), london, short),
            Some(utc("2026-03-29T01:30:00Z"))
        );
    }

    #[test]
    fn reports_only_move_a_message_forward() {
        use SmsDeliveryStatus::*;
        assert!(Sent.supersedes(Queued));
        assert!(Delivered.supersedes(Sent));
        assert!(!Sent.supersedes(Delivered));
        assert!(!Failed.supersedes(Delivered));
        assert!(!Queued.supersedes(Queued));
        assert_eq!(SmsDeliveryStatus::parse("delivered"), Ok(Delivered));
        assert!(SmsDeliveryStatus::parse("teleported").is_err());
    }
}
