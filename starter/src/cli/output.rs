//! How results and errors are printed: text for people, `--json` for scripts.

use booking_proto::v1::BookingSnapshot;
use serde::Serialize;

/// The output mode of this invocation.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
}

impl Output {
    /// Prints `value` as JSON, or `text` for people.
    pub fn print<T: Serialize>(&self, value: &T, text: impl FnOnce() -> String) {
        if self.json {
            match serde_json::to_string_pretty(value) {
                Ok(json) => println!("{json}"),
                Err(e) => eprintln!("error: cannot render the result as JSON: {e}"),
            }
        } else {
            println!("{}", text());
        }
    }

    /// One line on stderr; with `--json` also `{"error": {...}}` on stdout, so a script
    /// reading stdout always gets JSON.
    pub fn error(&self, code: u8, message: &str) {
        eprintln!("error: {message}");
        if self.json {
            println!(
                "{}",
                serde_json::json!({ "error": { "exit_code": code, "message": message } })
            );
        }
    }
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".into())
}

/// A phone number with all but its last four digits hidden: enough for an operator to tell
/// two leads apart, not enough to text one.
fn masked(number: &str) -> String {
    let digits = number.chars().filter(char::is_ascii_digit).count();
    let keep = digits.saturating_sub(4);
    let mut seen = 0;
    number
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                seen += 1;
                if seen <= keep { '•' } else { c }
            } else {
                c
            }
        })
        .collect()
}

pub fn snapshot_text(s: &BookingSnapshot, ui_url: Option<&str>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let status = booking_workflows::booking::status_keyword(s.status());
    let _ = writeln!(out, "booking      {}", s.booking_id);
    let _ = writeln!(
        out,
        "status       {status}{}",
        if s.needs_attention {
            "  (NEEDS ATTENTION)"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "lead         {}", s.lead_email);
    if let Some(tour) = &s.tour
        && let (Some(start), Some(end)) = (&tour.start, &tour.end)
    {
        let fmt = |t| time(booking_proto::time::from_timestamp(t));
        let _ = writeln!(out, "tour         {} .. {}", fmt(start), fmt(end));
    }
    let _ = writeln!(out, "property     {}   agent {}", s.property_id, s.agent_id);
    if !s.sms_number.is_empty() {
        let state = if s.sms_off_reason.is_empty() {
            "on".to_owned()
        } else {
            format!("off: {}", s.sms_off_reason)
        };
        let _ = writeln!(out, "texts        {} ({state})", masked(&s.sms_number));
    }
    for step in &s.steps_done {
        let _ = writeln!(out, "done         {} {}", step.name, step.detail);
    }
    for step in &s.steps_pending {
        let due = step
            .due_at
            .as_ref()
            .map(|t| format!(" at {}", time(booking_proto::time::from_timestamp(t))))
            .unwrap_or_default();
        let channel = if step.channel.is_empty() {
            String::new()
        } else {
            format!(" [{}]", step.channel)
        };
        let _ = writeln!(out, "pending      {}{channel}{due}", step.name);
    }
    for d in &s.sms_deliveries {
        let code = if d.error_code == 0 {
            String::new()
        } else {
            format!(" (error {})", d.error_code)
        };
        let _ = writeln!(
            out,
            "text         {} {} {}{code}",
            d.step, d.message_sid, d.status
        );
    }
    for refused in &s.refused_events {
        let _ = writeln!(
            out,
            "refused      {} ({}): {}",
            refused.event, refused.event_id, refused.reason
        );
    }
    if let Some(f) = &s.last_failure {
        let _ = writeln!(
            out,
            "last failure {} {}: {}",
            f.step, f.error_type, f.message
        );
    }
    if let Some(url) = ui_url {
        let _ = writeln!(out, "Temporal UI  {url}");
    }
    out.trim_end().to_owned()
}

pub fn rows_text(rows: &[booking_starter::operator::BookingRow]) -> String {
    if rows.is_empty() {
        return "no bookings (visibility may lag a booking started a moment ago)".into();
    }
    rows.iter()
        .map(|r| {
            format!(
                "{:<40} {:<22} {:<30} {} ({})",
                r.booking_id,
                r.status,
                r.email,
                time(r.tour_start),
                r.execution
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn worklist_text(items: &[booking_starter::operator::WorkItem]) -> String {
    if items.is_empty() {
        return "nothing needs attention".into();
    }
    items
        .iter()
        .map(|i| {
            format!(
                "{}  since {}  step {}  {}",
                i.id,
                time(i.since),
                i.step,
                i.error
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
