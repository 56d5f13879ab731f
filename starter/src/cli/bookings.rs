//! `demo`, `start`, `signal`, `show`, `find`, `list`: one booking at a time, or a listing.

use std::path::Path;

use booking_proto::{domain::EventId, v1::BookingRequest};
use booking_starter::{
    booking_client::{self, BookingSignal},
    demo, operator,
};
use clap::{Args, Subcommand};

use super::{InvalidArgument, Output, output};

#[derive(Subcommand)]
pub enum SignalCommand {
    /// The lead confirmed.
    Confirm(SignalTarget),
    /// Cancel the booking.
    Cancel {
        #[command(flatten)]
        target: SignalTarget,
        #[arg(long, default_value = "cancelled by an operator")]
        reason: String,
    },
    /// Move the tour to a new time (RFC 3339, e.g. 2026-12-01T15:00:00Z).
    Reschedule {
        #[command(flatten)]
        target: SignalTarget,
        #[arg(long)]
        start: String,
        #[arg(long)]
        end: String,
    },
    /// The lead opened the questionnaire.
    QuestionnaireVisited(SignalTarget),
    /// The agent marked the tour as done.
    TourComplete(SignalTarget),
    /// Run the booking's failed step again.
    Retry(SignalTarget),
    /// Give up on the booking's failed step and go on.
    Skip {
        #[command(flatten)]
        target: SignalTarget,
        #[arg(long, default_value = "skipped by an operator")]
        reason: String,
    },
}

#[derive(Args)]
pub struct SignalTarget {
    booking_id: String,
    /// Identity of this signal; a repeat with the same id is ignored. Default: a fresh id.
    #[arg(long)]
    event_id: Option<String>,
}

fn tour_slot(start: &str, end: &str) -> anyhow::Result<booking_proto::domain::TourSlot> {
    let parse = |name: &str, raw: &str| {
        chrono::DateTime::parse_from_rfc3339(raw)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|e| InvalidArgument(format!("--{name} {raw:?} is not an RFC 3339 time: {e}")))
    };
    booking_proto::domain::TourSlot::new(parse("start", start)?, parse("end", end)?)
        .map_err(|m| InvalidArgument(format!("tour: {m}")).into())
}

fn event_id(raw: Option<String>) -> anyhow::Result<EventId> {
    let raw = raw.unwrap_or_else(|| format!("cli-{}", uuid::Uuid::new_v4()));
    EventId::parse(&raw).map_err(|m| InvalidArgument(format!("event id {raw:?}: {m}")).into())
}

fn started(id: &booking_proto::domain::BookingId, what: &str, out: Output) {
    out.print(
        &serde_json::json!({ "booking_id": id.to_string(), "workflow_id": id.workflow_id() }),
        || format!("started {what} {id} (workflow {})", id.workflow_id()),
    );
}

pub async fn demo(task_queue: &str, out: Output) -> anyhow::Result<()> {
    let client = booking_worker::connect().await?;
    let request = demo::demo_request(chrono::Utc::now());
    let id = booking_client::start_booking(&client, task_queue, request).await?;
    started(&id, "demo booking", out);
    Ok(())
}

pub async fn start(file: &Path, task_queue: &str, out: Output) -> anyhow::Result<()> {
    let raw = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(file)
            .map_err(|e| InvalidArgument(format!("cannot read {}: {e}", file.display())))?
    };
    let request: BookingRequest = serde_json::from_str(&raw)
        .map_err(|e| InvalidArgument(format!("not a BookingRequest: {e}")))?;
    let client = booking_worker::connect().await?;
    let id = booking_client::start_booking(&client, task_queue, request).await?;
    started(&id, "booking", out);
    Ok(())
}

pub async fn signal(signal: SignalCommand, out: Output) -> anyhow::Result<()> {
    let (target, signal) = match signal {
        SignalCommand::Confirm(target) => (target, BookingSignal::Confirm),
        SignalCommand::Cancel { target, reason } => (
            target,
            BookingSignal::Cancel {
                reason,
                cancelled_by: "operator".into(),
            },
        ),
        SignalCommand::Reschedule { target, start, end } => {
            let tour = tour_slot(&start, &end)?;
            (
                target,
                BookingSignal::Reschedule {
                    tour,
                    source_ref: String::new(),
                },
            )
        }
        SignalCommand::QuestionnaireVisited(target) => {
            (target, BookingSignal::QuestionnaireVisited)
        }
        SignalCommand::TourComplete(target) => (target, BookingSignal::TourComplete),
        SignalCommand::Retry(target) => (target, BookingSignal::Retry),
        SignalCommand::Skip { target, reason } => (target, BookingSignal::Skip { reason }),
    };
    let id = operator::parse_booking_id(&target.booking_id)?;
    let event = event_id(target.event_id)?;
    let client = booking_worker::connect().await?;
    booking_client::signal(&client, &id, &event, signal).await?;
    out.print(
        &serde_json::json!({ "booking_id": id.to_string(), "event_id": event.to_string() }),
        || format!("signal delivered to {id} (event {event})"),
    );
    Ok(())
}

pub async fn show(id_or_email: &str, out: Output) -> anyhow::Result<()> {
    if !id_or_email.contains('@') {
        // A malformed id is refused before connecting.
        operator::parse_booking_id(id_or_email)?;
    }
    let client = booking_worker::connect().await?;
    let view = operator::show(&client, id_or_email, &operator::UiLink::from_env()).await?;
    out.print(&view, || {
        output::snapshot_text(&view.snapshot, Some(&view.ui_url))
    });
    Ok(())
}

pub async fn find(email: &str, out: Output) -> anyhow::Result<()> {
    let client = booking_worker::connect().await?;
    let rows = operator::find_by_email(&client, email).await?;
    out.print(&rows, || output::rows_text(&rows));
    Ok(())
}

pub async fn list(status: Option<&str>, out: Output) -> anyhow::Result<()> {
    let client = booking_worker::connect().await?;
    let rows = operator::list_bookings(&client, status).await?;
    out.print(&rows, || output::rows_text(&rows));
    Ok(())
}
