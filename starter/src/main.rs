//! `bookings`: the operator CLI of the booking engine.

use std::{path::PathBuf, process::ExitCode};

use booking_proto::{
    domain::{BookingId, EventId},
    v1::BookingRequest,
};
use booking_starter::{
    booking_client::{self, BookingClientError, BookingSignal},
    demo,
    dev_server::{DevServer, DevServerConfig},
    supervisor::{self, UpConfig},
};
use booking_worker::{DEFAULT_TASK_QUEUE, WorkerError};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "bookings",
    version,
    about = "Operate the durable booking engine"
)]
struct Cli {
    /// Task queue the booking workers poll.
    #[arg(long, env = "BOOKINGS_TASK_QUEUE", default_value = DEFAULT_TASK_QUEUE, global = true)]
    task_queue: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole system locally: dev server, sandbox providers, worker and a demo booking.
    Up(DevServerArgs),
    /// Run only the Temporal dev server, with every search attribute registered.
    DevServer(DevServerArgs),
    /// Start a demo booking (a private viewing tomorrow).
    Demo,
    /// Start a booking from a JSON BookingRequest (canonical proto3 JSON) file, or - for stdin.
    Start {
        /// Path of the JSON request, or - for standard input.
        file: PathBuf,
    },
    /// Send a signal to a booking.
    Signal {
        #[command(subcommand)]
        signal: SignalCommand,
    },
    /// Show a booking's current state (its `status` query).
    Show {
        booking_id: String,
        /// Print the snapshot as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum SignalCommand {
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
struct SignalTarget {
    booking_id: String,
    /// Identity of this signal; a repeat with the same id is ignored. Default: a fresh id.
    #[arg(long)]
    event_id: Option<String>,
}

#[derive(Args, Clone)]
struct DevServerArgs {
    /// Holds the SQLite database and the logs.
    #[arg(long, env = "BOOKINGS_DATA_DIR", default_value = ".data")]
    data_dir: PathBuf,
    #[arg(long, env = "BOOKINGS_TEMPORAL_PORT", default_value_t = 7233)]
    port: u16,
    #[arg(long, env = "BOOKINGS_TEMPORAL_UI_PORT", default_value_t = 8233)]
    ui_port: u16,
    #[arg(long, env = "BOOKINGS_SANDBOX_PORT", default_value_t = 8089)]
    sandbox_port: u16,
    #[arg(long, env = "TEMPORAL_NAMESPACE", default_value = "default")]
    namespace: String,
    /// The Temporal CLI executable (scripts/bootstrap installs it).
    #[arg(long, env = "BOOKINGS_TEMPORAL_BIN")]
    temporal_bin: Option<PathBuf>,
}

impl DevServerArgs {
    fn config(&self) -> anyhow::Result<DevServerConfig> {
        let data_dir = std::path::absolute(&self.data_dir)?;
        Ok(DevServerConfig {
            temporal_bin: self
                .temporal_bin
                .clone()
                .unwrap_or_else(DevServerConfig::default_binary),
            data_dir,
            ip: "127.0.0.1".into(),
            port: self.port,
            ui_port: Some(self.ui_port),
            namespace: self.namespace.clone(),
        })
    }
}

/// Exit codes scripts can rely on.
mod exit {
    pub const FAILURE: u8 = 1;
    pub const INVALID_INPUT: u8 = 2;
    pub const NOT_FOUND: u8 = 3;
    pub const UNREACHABLE: u8 = 4;
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", booking_worker::error_chain(err.as_ref()));
            ExitCode::from(exit_code(&err))
        }
    }
}

fn exit_code(err: &anyhow::Error) -> u8 {
    if let Some(e) = err.downcast_ref::<BookingClientError>() {
        return match e {
            BookingClientError::Invalid(_) | BookingClientError::AlreadyExists(_) => {
                exit::INVALID_INPUT
            }
            BookingClientError::NotFound(_) => exit::NOT_FOUND,
            BookingClientError::Temporal(_) => exit::UNREACHABLE,
        };
    }
    if let Some(WorkerError::Unreachable { .. }) = err.downcast_ref::<WorkerError>() {
        return exit::UNREACHABLE;
    }
    if err.downcast_ref::<InvalidArgument>().is_some() {
        return exit::INVALID_INPUT;
    }
    exit::FAILURE
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct InvalidArgument(String);

fn booking_id(raw: &str) -> anyhow::Result<BookingId> {
    // Accept the workflow id too: it is what the Temporal UI shows.
    BookingId::from_workflow_id(raw)
        .map(Ok)
        .unwrap_or_else(|| BookingId::parse(raw))
        .map_err(|m| InvalidArgument(format!("booking id {raw:?}: {m}")).into())
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

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Up(args) => {
            supervisor::up(UpConfig {
                dev_server: args.config()?,
                sandbox_port: args.sandbox_port,
                task_queue: cli.task_queue,
            })
            .await
        }
        Command::DevServer(args) => {
            let mut server = DevServer::start(args.config()?).await?;
            println!(
                "Temporal dev server on {} (Web UI {}); Ctrl-C stops it",
                server.config().grpc_address(),
                server.config().ui_url().unwrap_or_default()
            );
            tokio::select! {
                _ = booking_worker::wait_for_stop_signal() => { server.stop().await; Ok(()) }
                status = server.wait() => anyhow::bail!("the dev server exited: {status:?}"),
            }
        }
        Command::Demo => {
            let client = booking_worker::connect().await?;
            let request = demo::demo_request(chrono::Utc::now());
            let id = booking_client::start_booking(&client, &cli.task_queue, request).await?;
            println!("started demo booking {id} (workflow {})", id.workflow_id());
            Ok(())
        }
        Command::Start { file } => {
            let raw = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&file)
                    .map_err(|e| InvalidArgument(format!("cannot read {}: {e}", file.display())))?
            };
            let request: BookingRequest = serde_json::from_str(&raw)
                .map_err(|e| InvalidArgument(format!("not a BookingRequest: {e}")))?;
            let client = booking_worker::connect().await?;
            let id = booking_client::start_booking(&client, &cli.task_queue, request).await?;
            println!("started booking {id} (workflow {})", id.workflow_id());
            Ok(())
        }
        Command::Signal { signal } => {
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
            let id = booking_id(&target.booking_id)?;
            let event = event_id(target.event_id)?;
            let client = booking_worker::connect().await?;
            booking_client::signal(&client, &id, &event, signal).await?;
            println!("signal delivered to {id} (event {event})");
            Ok(())
        }
        Command::Show {
            booking_id: raw,
            json,
        } => {
            let id = booking_id(&raw)?;
            let client = booking_worker::connect().await?;
            let snapshot = booking_client::status(&client, &id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&snapshot)?);
            } else {
                print_snapshot(&snapshot);
            }
            Ok(())
        }
    }
}

fn print_snapshot(s: &booking_proto::v1::BookingSnapshot) {
    let status = booking_workflows::booking::status_keyword(s.status());
    println!("booking      {}", s.booking_id);
    println!(
        "status       {status}{}",
        if s.needs_attention {
            "  (NEEDS ATTENTION)"
        } else {
            ""
        }
    );
    println!("lead         {}", s.lead_email);
    if let Some(tour) = &s.tour
        && let (Some(start), Some(end)) = (&tour.start, &tour.end)
    {
        let fmt = |t| {
            booking_proto::time::from_timestamp(t)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default()
        };
        println!("tour         {} .. {}", fmt(start), fmt(end));
    }
    println!("property     {}   agent {}", s.property_id, s.agent_id);
    for step in &s.steps_done {
        println!("done         {} {}", step.name, step.detail);
    }
    for step in &s.steps_pending {
        println!("pending      {}", step.name);
    }
    for refused in &s.refused_events {
        println!(
            "refused      {} ({}): {}",
            refused.event, refused.event_id, refused.reason
        );
    }
    if let Some(f) = &s.last_failure {
        println!("last failure {} {}: {}", f.step, f.error_type, f.message);
    }
}
