//! The `bookings` command line: argument definitions, dispatch, and the one mapping from
//! errors to exit codes. Each group of commands lives in its own module.

mod bookings;
mod feeds;
mod output;
mod schedule;
mod system;
mod worklist;

use std::{path::PathBuf, process::ExitCode};

use booking_starter::{booking_client::BookingClientError, operator::OperatorError};
use booking_worker::{ConnectError, DEFAULT_TASK_QUEUE, WorkerError};
use clap::{Parser, Subcommand};

pub use output::Output;

#[derive(Parser)]
#[command(
    name = "bookings",
    version,
    about = "Operate the durable booking engine",
    after_help = "Exit codes: 0 ok, 1 failure, 2 invalid input, 3 not found, 4 Temporal unreachable.\n\
                  Temporal is found through TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (default localhost:7233)."
)]
pub struct Cli {
    /// Task queue the booking workers poll.
    #[arg(long, env = "BOOKINGS_TASK_QUEUE", default_value = DEFAULT_TASK_QUEUE, global = true)]
    task_queue: String,
    /// Print results (and errors) as JSON on standard output.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole system locally: dev server, sandbox providers, worker and a demo booking.
    Up(system::DevServerArgs),
    /// Run only the Temporal dev server, with every search attribute registered.
    DevServer(system::DevServerArgs),
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
        signal: bookings::SignalCommand,
    },
    /// Show a booking's current state and its Temporal UI link, by booking id or lead email.
    Show {
        /// A booking id, its workflow id (`booking-…`), or the lead's email.
        id_or_email: String,
    },
    /// Find a lead's bookings by email (the CustomerEmail search attribute).
    Find {
        #[arg(long)]
        email: String,
    },
    /// List bookings, optionally by status (PENDING_CONFIRMATION, CONFIRMED, CANCELLED,
    /// TOUR_COMPLETE).
    List {
        #[arg(long)]
        status: Option<String>,
    },
    /// The worklist: open dead letters and bookings needing attention.
    DeadLetters,
    /// Retry a worklist item: a booking's failed step runs again; a dead letter is resolved.
    Retry {
        /// A booking id, or a dead letter's id (`dead-letter-…`).
        id: String,
    },
    /// Skip a worklist item: a booking's failed step is given up; a dead letter is discarded.
    Skip {
        /// A booking id, or a dead letter's id (`dead-letter-…`).
        id: String,
    },
    /// iCalendar feeds polled as a booking source.
    Feeds {
        #[command(subcommand)]
        command: feeds::FeedsCommand,
    },
    /// The hourly reconciliation schedule.
    Schedule {
        #[command(subcommand)]
        command: schedule::ScheduleCommand,
    },
}

/// Exit codes scripts can rely on.
pub mod exit {
    pub const FAILURE: u8 = 1;
    pub const INVALID_INPUT: u8 = 2;
    pub const NOT_FOUND: u8 = 3;
    pub const UNREACHABLE: u8 = 4;
}

/// A bad argument found before calling Temporal. Fatal: fix the argument.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidArgument(pub String);

pub async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let out = Output { json: cli.json };
    match run(cli, out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let code = exit_code(&err);
            out.error(code, &booking_worker::error_chain(err.as_ref()));
            ExitCode::from(code)
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
    if let Some(e) = err.downcast_ref::<OperatorError>() {
        return match e {
            OperatorError::Invalid(_) => exit::INVALID_INPUT,
            OperatorError::NotFound(_) => exit::NOT_FOUND,
            OperatorError::Temporal(_) => exit::UNREACHABLE,
        };
    }
    if let Some(ConnectError::Unreachable { .. }) = err.downcast_ref::<ConnectError>() {
        return exit::UNREACHABLE;
    }
    if let Some(WorkerError::Connect(ConnectError::Unreachable { .. })) =
        err.downcast_ref::<WorkerError>()
    {
        return exit::UNREACHABLE;
    }
    if err.downcast_ref::<InvalidArgument>().is_some() {
        return exit::INVALID_INPUT;
    }
    exit::FAILURE
}

async fn run(cli: Cli, out: Output) -> anyhow::Result<()> {
    let task_queue = cli.task_queue;
    match cli.command {
        Command::Up(args) => system::up(args, task_queue).await,
        Command::DevServer(args) => system::dev_server(args).await,
        Command::Demo => bookings::demo(&task_queue, out).await,
        Command::Start { file } => bookings::start(&file, &task_queue, out).await,
        Command::Signal { signal } => bookings::signal(signal, out).await,
        Command::Show { id_or_email } => bookings::show(&id_or_email, out).await,
        Command::Find { email } => bookings::find(&email, out).await,
        Command::List { status } => bookings::list(status.as_deref(), out).await,
        Command::DeadLetters => worklist::dead_letters(out).await,
        Command::Retry { id } => worklist::retry(&id, out).await,
        Command::Skip { id } => worklist::skip(&id, out).await,
        Command::Schedule { command } => schedule::run(command, &task_queue, out).await,
        Command::Feeds { command } => feeds::run(command, &task_queue, out).await,
    }
}

/// Who is acting, for the records operators leave (`USER`, else `operator`).
fn operator_name() -> String {
    std::env::var("USER").unwrap_or_else(|_| "operator".into())
}
